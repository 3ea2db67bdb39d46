// A small blocking HTTP/1.1 client over a loopback TCP socket, for integration tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portail::testing {

struct HttpResult {
  int status = 0;                              // 0: no response (connection closed or timed out)
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// One kept-alive connection to 127.0.0.1:port. Not thread-safe.
class HttpClient {
 public:
  explicit HttpClient(uint16_t port,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends a request and reads its response; reconnects if the server closed the connection.
  // A JSON content type is set when `body` is not empty and no Content-Type header is given.
  HttpResult Request(std::string_view method, std::string_view target, std::string_view body = "",
                     const std::vector<std::pair<std::string, std::string>>& headers = {});
  HttpResult Get(std::string_view target) { return Request("GET", target); }

  // Sends raw bytes on the connection (connecting first if needed).
  bool SendRaw(std::string_view bytes);
  // Reads one response; status 0 when the connection closed or timed out first.
  HttpResult ReadResponse();
  // True when the server closed the connection (read returns end of file) within the timeout.
  bool ClosedByServer();

 private:
  bool Connect();
  void Close();
  // Reads more bytes into buffer_; false on close, error or timeout.
  bool Fill();

  uint16_t port_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace portail::testing
