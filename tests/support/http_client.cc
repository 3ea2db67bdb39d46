// The test HTTP client: blocking sockets with receive time-outs.
#include "tests/support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

namespace portail::testing {

HttpClient::HttpClient(uint16_t port, std::chrono::milliseconds timeout)
    : port_(port), timeout_(timeout) {}

HttpClient::~HttpClient() { Close(); }

void HttpClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

bool HttpClient::Connect() {
  Close();
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return false;
  timeval tv{};
  tv.tv_sec = timeout_.count() / 1000;
  tv.tv_usec = (timeout_.count() % 1000) * 1000;
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Close();
    return false;
  }
  return true;
}

bool HttpClient::SendRaw(std::string_view bytes) {
  if (fd_ < 0 && !Connect()) return false;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool HttpClient::Fill() {
  char chunk[16384];
  ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
  if (n <= 0) return false;
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

bool HttpClient::ClosedByServer() {
  if (fd_ < 0) return true;
  char c;
  ssize_t n = ::recv(fd_, &c, 1, 0);
  if (n == 0) {
    Close();
    return true;
  }
  return false;
}

HttpResult HttpClient::ReadResponse() {
  HttpResult result;
  if (fd_ < 0) return result;
  size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill()) {
      Close();
      return result;
    }
  }
  std::string head = buffer_.substr(0, header_end);
  buffer_.erase(0, header_end + 4);
  size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  if (status_line.size() >= 12) result.status = std::atoi(status_line.c_str() + 9);
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    std::string line = head.substr(pos, end - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t value_start = line.find_first_not_of(' ', colon + 1);
      result.headers[name] = value_start == std::string::npos ? "" : line.substr(value_start);
    }
    pos = end + 2;
  }
  size_t length = 0;
  if (auto found = result.headers.find("content-length"); found != result.headers.end()) {
    length = std::stoul(found->second);
  }
  while (buffer_.size() < length) {
    if (!Fill()) {
      Close();
      result.status = 0;
      return result;
    }
  }
  result.body = buffer_.substr(0, length);
  buffer_.erase(0, length);
  if (auto found = result.headers.find("connection");
      found != result.headers.end() && found->second == "close") {
    Close();
  }
  return result;
}

HttpResult HttpClient::Request(std::string_view method, std::string_view target,
                               std::string_view body,
                               const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string request;
  request.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  request.append("Host: 127.0.0.1\r\n");
  bool has_type = false;
  for (const auto& [name, value] : headers) {
    request.append(name).append(": ").append(value).append("\r\n");
    if (strcasecmp(name.c_str(), "content-type") == 0) has_type = true;
  }
  if (!body.empty() && !has_type) request.append("Content-Type: application/json\r\n");
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    request.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  request.append("\r\n").append(body);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (fd_ < 0 && !Connect()) return {};
    if (SendRaw(request)) {
      HttpResult result = ReadResponse();
      if (result.status != 0) return result;
    }
    Close();  // the server may have closed an idle connection: retry once on a new one
  }
  return {};
}

}  // namespace portail::testing
