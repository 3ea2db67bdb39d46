// The HTTP/1.1 server: N I/O threads, each running its own io_context; connections are accepted
// on the first and spread over all of them in turn, and each parsed request is handed to the
// router. Beast and Asio stay inside http_server.cc.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "events/error.h"
#include "server/http_metrics.h"
#include "server/router.h"

namespace portail::server {

struct HttpOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;         // 0: an ephemeral port (see Start())
  int threads = 0;              // 0: one per core
  size_t body_limit = 2 << 20;  // a photo's 2 MiB; JSON bodies have their own 64 KiB limit
  size_t header_limit = 16 << 10;
  // Time allowed to receive a whole request (headers and body), and to wait for the next
  // request on a kept-alive connection.
  std::chrono::milliseconds read_timeout{10000};
};

class HttpServer {
 public:
  // `router` and `metrics` are not owned and must outlive the server.
  HttpServer(HttpOptions options, const Router* router, HttpMetrics* metrics);
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  // Stops the server if it still runs.
  ~HttpServer();

  // Binds, listens and starts the I/O threads. Returns the bound port.
  Result<uint16_t> Start();

  // Stops accepting connections; requests in flight go on.
  void StopAccepting();

  // Waits up to `grace` for requests in flight to be answered, then closes every connection
  // and joins the I/O threads.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  // Requests being handled now (parsed, not yet answered).
  size_t InFlight() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace portail::server
