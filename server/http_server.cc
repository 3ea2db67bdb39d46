// The Beast HTTP/1.1 server: one coroutine per connection, errors as values (redirect_error),
// a deadline on every read and write, body and header limits.
#include "server/http_server.h"

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "events/log.h"
#include "server/json.h"

namespace portail::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

Request ToRequest(const http::request<http::string_body>& in, const std::string& remote) {
  Request out;
  out.method = std::string(in.method_string());
  out.target = std::string(in.target());
  std::string_view target = out.target;
  size_t q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) {
    auto query = ParseQuery(target.substr(q + 1));
    if (query) {
      out.query = std::move(*query);
    } else {
      out.query_malformed = true;
    }
  }
  for (const auto& field : in) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  out.body = in.body();
  out.remote_address = remote;
  return out;
}

// Hands `request` to `handler` and resumes the coroutine, on its own executor, with the response
// the handler gives (from any thread, now or later).
template <class Token>
auto AsyncHandle(const Handler& handler, Request& request, Token&& token) {
  return net::async_initiate<Token, void(Response)>(
      [&handler, &request](auto completion) {
        using Completion = decltype(completion);
        auto shared = std::make_shared<Completion>(std::move(completion));
        auto executor = net::get_associated_executor(*shared);
        auto work = std::make_shared<net::executor_work_guard<decltype(executor)>>(executor);
        handler(request, [shared, executor, work](Response response) mutable {
          net::post(executor, [shared, work, response = std::move(response)]() mutable {
            (*shared)(std::move(response));
          });
        });
      },
      token);
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(HttpOptions options, const Router* router, HttpMetrics* metrics)
      : options_(std::move(options)), router_(router), metrics_(metrics), acceptor_(ioc_) {}

  Result<uint16_t> Start() {
    beast::error_code ec;
    auto address = net::ip::make_address(options_.host, ec);
    if (ec) return Fail(ErrorCode::kInvalid, "bad listen address " + options_.host);
    tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Fail(ErrorCode::kUnavailable, "cannot listen on " + options_.host + ":" +
                                               std::to_string(options_.port) + ": " + ec.message());
    }
    uint16_t port = acceptor_.local_endpoint().port();
    net::co_spawn(ioc_, Accept(), net::detached);
    int threads =
        options_.threads > 0 ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
    log::info("listening on {}:{} with {} threads", options_.host, port, threads);
    return port;
  }

  void StopAccepting() {
    net::post(ioc_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
  }

  void Stop(std::chrono::milliseconds grace) {
    if (threads_.empty()) return;
    stopping_ = true;
    StopAccepting();
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (in_flight_.load() > 0) log::warn("stopping with {} requests unanswered", in_flight_.load());
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  size_t InFlight() const { return in_flight_.load(); }

 private:
  net::awaitable<void> Accept() {
    for (;;) {
      beast::error_code ec;
      tcp::socket socket = co_await acceptor_.async_accept(
          net::make_strand(ioc_), net::redirect_error(net::use_awaitable, ec));
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) co_return;
        log::warn("accept failed: {}", ec.message());
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto executor = socket.get_executor();
      net::co_spawn(executor, Session(beast::tcp_stream(std::move(socket))), net::detached);
    }
  }

  net::awaitable<void> Session(beast::tcp_stream stream) {
    beast::error_code ec;
    std::string remote;
    auto endpoint = stream.socket().remote_endpoint(ec);
    if (!ec) remote = endpoint.address().to_string();
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<uint32_t>(options_.header_limit));
      parser.body_limit(options_.body_limit);
      stream.expires_after(options_.read_timeout);
      co_await http::async_read(stream, buffer, parser,
                                net::redirect_error(net::use_awaitable, ec));
      if (ec == http::error::end_of_stream) break;
      if (ec) {
        std::optional<Error> error;
        if (ec == http::error::body_limit) {
          error.emplace(
              ErrorCode::kPayloadTooLarge,
              "the request body is larger than " + std::to_string(options_.body_limit) + " bytes");
        } else if (ec == http::error::header_limit) {
          error.emplace(ErrorCode::kHeaderTooLarge, "the request headers are too large");
        } else if (ec == beast::error::timeout) {
          // Beast has closed the socket: a slow or idle client is simply disconnected.
          if (parser.got_some()) log::info("closed a connection whose request came too slowly");
        } else if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
                   ec != http::error::partial_message) {
          error.emplace(ErrorCode::kInvalid, "malformed HTTP request: " + ec.message());
        }
        if (error) {
          Response response = ErrorResponse(*error);
          metrics_->Observe(metrics_->unmatched_index(), response.status, 0);
          log::info("- - {} 0us (rejected before routing)", response.status);
          co_await Write(stream, std::move(response), 11, false);
        }
        break;
      }

      auto start = std::chrono::steady_clock::now();
      const auto& message = parser.get();
      bool keep_alive = message.keep_alive() && !stopping_.load();
      unsigned version = message.version();
      Request request = ToRequest(message, remote);
      Router::Match match = router_->Find(request);
      Response response;
      in_flight_.fetch_add(1);
      if (request.query_malformed) {
        response = ErrorResponse(ErrorCode::kInvalid, "the query string is malformed");
      } else if (match.handler == nullptr) {
        if (match.status == 405) {
          response = ErrorResponse(ErrorCode::kMethodNotAllowed,
                                   "this address does not accept " + request.method);
          response.headers.emplace_back("Allow", match.allow);
        } else {
          response = ErrorResponse(ErrorCode::kNotFound, "no such address");
          match.route_index = metrics_->unmatched_index();
        }
      } else {
        try {
          response = co_await AsyncHandle(*match.handler, request, net::use_awaitable);
        } catch (const std::exception& e) {
          log::error("handler for {} {} threw: {}", request.method, request.route, e.what());
          response = ErrorResponse(ErrorCode::kInternal, "an internal error occurred");
        }
      }
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      metrics_->Observe(match.route_index, response.status, seconds);
      log::info("{} {} {} {}us", request.method, request.route.empty() ? "-" : request.route,
                response.status, static_cast<int64_t>(seconds * 1e6));
      keep_alive = keep_alive && !stopping_.load();
      bool written = co_await Write(stream, std::move(response), version, keep_alive);
      in_flight_.fetch_sub(1);
      if (!written || !keep_alive) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  net::awaitable<bool> Write(beast::tcp_stream& stream, Response response, unsigned version,
                             bool keep_alive) {
    http::response<http::string_body> out{static_cast<http::status>(response.status), version};
    if (!response.content_type.empty()) out.set(http::field::content_type, response.content_type);
    out.set(http::field::cache_control, "no-store");
    out.set("X-Content-Type-Options", "nosniff");
    for (auto& [name, value] : response.headers) out.insert(name, value);
    out.body() = std::move(response.body);
    out.keep_alive(keep_alive);
    out.prepare_payload();
    beast::error_code ec;
    stream.expires_after(options_.read_timeout);
    co_await http::async_write(stream, out, net::redirect_error(net::use_awaitable, ec));
    co_return !ec;
  }

  HttpOptions options_;
  const Router* router_;
  HttpMetrics* metrics_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> in_flight_{0};
  std::atomic<bool> stopping_{false};
};

HttpServer::HttpServer(HttpOptions options, const Router* router, HttpMetrics* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), router, metrics)) {}

HttpServer::~HttpServer() { impl_->Stop(std::chrono::milliseconds(0)); }

Result<uint16_t> HttpServer::Start() { return impl_->Start(); }
void HttpServer::StopAccepting() { impl_->StopAccepting(); }
void HttpServer::Stop(std::chrono::milliseconds grace) { impl_->Stop(grace); }
size_t HttpServer::InFlight() const { return impl_->InFlight(); }

}  // namespace portail::server
