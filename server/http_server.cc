// The Beast HTTP/1.1 server: one io_context per I/O thread (a connection lives on one thread, so
// its handlers need no strand and no lock), one coroutine per connection, errors as values
// (redirect_error), a deadline on every read and write, body and header limits.
#include "server/http_server.h"

#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <mutex>
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

// Every connection's I/O runs on the executor of its own thread's io_context: no type erasure
// (any_io_executor) and no strand on the per-request path.
using Executor = net::io_context::executor_type;
using Socket = net::basic_stream_socket<tcp, Executor>;
using Stream = beast::basic_stream<tcp, Executor>;
template <class T = void>
using Awaitable = net::awaitable<T, Executor>;
constexpr net::use_awaitable_t<Executor> kAwait;

Request ToRequest(http::request<http::string_body>& in, const std::string& remote) {
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
  out.body = std::move(in.body());
  out.remote_address = remote;
  return out;
}

// Where a handler's answer meets the connection waiting for it. A handler that answers at once
// (every query) leaves its response here and the coroutine takes it without suspending; one that
// answers later (from the command bus's threads) resumes the coroutine on its own executor.
class ReplySlot {
 public:
  // Called by the handler's Reply, exactly once per request, from any thread.
  void Put(Response response) {
    std::unique_lock<std::mutex> lock(mu_);
    if (waiter_) {
      auto waiter = std::move(waiter_);
      waiter_ = nullptr;
      lock.unlock();
      waiter(std::move(response));
      return;
    }
    response_ = std::move(response);
  }

  // The response if it is already there.
  std::optional<Response> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    std::optional<Response> out = std::move(response_);
    response_.reset();
    return out;
  }

  // Calls `waiter` with the response: now if it is there, else when Put() comes.
  void Wait(std::function<void(Response)> waiter) {
    std::unique_lock<std::mutex> lock(mu_);
    if (response_) {
      Response response = std::move(*response_);
      response_.reset();
      lock.unlock();
      waiter(std::move(response));
      return;
    }
    waiter_ = std::move(waiter);
  }

 private:
  std::mutex mu_;
  std::optional<Response> response_;      // guarded by mu_
  std::function<void(Response)> waiter_;  // guarded by mu_
};

// Resumes the coroutine, on its own executor, with the response `slot` receives.
template <class Token>
auto AsyncWaitReply(std::shared_ptr<ReplySlot> slot, Token&& token) {
  return net::async_initiate<Token, void(Response)>(
      [slot](auto completion) {
        using Completion = decltype(completion);
        auto shared = std::make_shared<Completion>(std::move(completion));
        auto executor = net::get_associated_executor(*shared);
        auto work = std::make_shared<net::executor_work_guard<decltype(executor)>>(executor);
        slot->Wait([shared, executor, work](Response response) mutable {
          net::post(executor, [shared, work, response = std::move(response)]() mutable {
            (*shared)(std::move(response));
          });
        });
      },
      token);
}

// Appends the status line and headers of `response` (Content-Length included) to `out`, then
// its body. Header lines holding CR or LF are dropped (never let a value split the header).
void Serialize(const Response& response, unsigned version, bool keep_alive, std::string* out) {
  auto clean = [](std::string_view text) { return text.find_first_of("\r\n") == text.npos; };
  auto header = [out](std::string_view name, std::string_view value) {
    out->append(name).append(": ").append(value).append("\r\n");
  };
  out->append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  out->append(std::to_string(response.status)).push_back(' ');
  auto reason = http::obsolete_reason(static_cast<http::status>(response.status));
  out->append(reason.data(), reason.size());
  out->append("\r\n");
  if (!response.content_type.empty() && clean(response.content_type)) {
    header("Content-Type", response.content_type);
  }
  header("Cache-Control", "no-store");
  header("X-Content-Type-Options", "nosniff");
  for (const auto& [name, value] : response.headers) {
    if (clean(name) && clean(value)) header(name, value);
  }
  if (version == 10 && keep_alive) header("Connection", "keep-alive");
  if (version != 10 && !keep_alive) header("Connection", "close");
  // As Beast's prepare_payload: no body and no length for 1xx, 204 and 304.
  bool bodiless = response.status < 200 || response.status == 204 || response.status == 304;
  if (!bodiless) header("Content-Length", std::to_string(response.body.size()));
  out->append("\r\n");
  if (!bodiless) out->append(response.body);
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(HttpOptions options, const Router* router, HttpMetrics* metrics)
      : options_(std::move(options)), router_(router), metrics_(metrics) {
    int threads =
        options_.threads > 0 ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
    for (int i = 0; i < threads; ++i) contexts_.push_back(std::make_unique<net::io_context>(1));
    acceptor_.emplace(contexts_.front()->get_executor());
  }

  Result<uint16_t> Start() {
    beast::error_code ec;
    auto address = net::ip::make_address(options_.host, ec);
    if (ec) return Fail(ErrorCode::kInvalid, "bad listen address " + options_.host);
    tcp::endpoint endpoint(address, options_.port);
    acceptor_->open(endpoint.protocol(), ec);
    if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(endpoint, ec);
    if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Fail(ErrorCode::kUnavailable, "cannot listen on " + options_.host + ":" +
                                               std::to_string(options_.port) + ": " + ec.message());
    }
    uint16_t port = acceptor_->local_endpoint().port();
    net::co_spawn(contexts_.front()->get_executor(), Accept(), net::detached);
    for (auto& context : contexts_) {
      guards_.push_back(std::make_unique<Guard>(context->get_executor()));
      threads_.emplace_back([io = context.get()] { io->run(); });
    }
    log::info("listening on {}:{} with {} threads", options_.host, port, threads_.size());
    return port;
  }

  void StopAccepting() {
    net::post(contexts_.front()->get_executor(), [this] {
      beast::error_code ec;
      acceptor_->close(ec);
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
    guards_.clear();
    for (auto& context : contexts_) context->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  size_t InFlight() const { return in_flight_.load(); }

 private:
  using Guard = net::executor_work_guard<Executor>;

  // Accepts on the first thread and hands each connection to the next thread in turn.
  Awaitable<> Accept() {
    size_t next = 0;
    for (;;) {
      beast::error_code ec;
      net::io_context& target = *contexts_[next];
      next = (next + 1) % contexts_.size();
      Socket socket(target.get_executor());
      co_await acceptor_->async_accept(socket, net::redirect_error(kAwait, ec));
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor_->is_open()) co_return;
        log::warn("accept failed: {}", ec.message());
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      net::co_spawn(target.get_executor(), Session(Stream(std::move(socket))), net::detached);
    }
  }

  Awaitable<> Session(Stream stream) {
    beast::error_code ec;
    std::string remote;
    auto endpoint = stream.socket().remote_endpoint(ec);
    if (!ec) remote = endpoint.address().to_string();
    beast::flat_buffer buffer;
    auto slot = std::make_shared<ReplySlot>();
    std::string out;      // the serialised response; its capacity is reused
    bool linger = false;  // the client may still be sending a request we refused
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<uint32_t>(options_.header_limit));
      parser.body_limit(options_.body_limit);
      stream.expires_after(options_.read_timeout);
      co_await http::async_read(stream, buffer, parser, net::redirect_error(kAwait, ec));
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
          co_await Write(stream, response, 11, false, out);
          linger = true;
        }
        break;
      }

      auto start = std::chrono::steady_clock::now();
      auto& message = parser.get();
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
          (*match.handler)(request, [slot](Response r) { slot->Put(std::move(r)); });
          if (auto ready = slot->Take()) {
            response = std::move(*ready);
          } else {
            response = co_await AsyncWaitReply(slot, kAwait);
          }
        } catch (const std::exception& e) {
          log::error("handler for {} {} threw: {}", request.method, request.route, e.what());
          slot = std::make_shared<ReplySlot>();  // a late answer to this request goes nowhere
          response = ErrorResponse(ErrorCode::kInternal, "an internal error occurred");
        }
      }
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      metrics_->Observe(match.route_index, response.status, seconds);
      log::info("{} {} {} {}us", request.method, request.route.empty() ? "-" : request.route,
                response.status, static_cast<int64_t>(seconds * 1e6));
      keep_alive = keep_alive && !stopping_.load();
      bool written = co_await Write(stream, response, version, keep_alive, out);
      in_flight_.fetch_sub(1);
      if (!written || !keep_alive) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (linger) {
      // Lingering close: drain what the client is still sending (a refused upload) for a
      // moment, so that closing does not reset the connection before it reads the answer.
      stream.expires_after(std::chrono::seconds(2));
      std::array<char, 16384> sink;
      size_t drained = 0;
      while (drained < (8u << 20)) {
        size_t n =
            co_await stream.async_read_some(net::buffer(sink), net::redirect_error(kAwait, ec));
        if (ec) break;
        drained += n;
      }
    }
  }

  // Writes `response` in one piece (serialised into `out`); false when the write failed.
  Awaitable<bool> Write(Stream& stream, const Response& response, unsigned version, bool keep_alive,
                        std::string& out) {
    out.clear();
    Serialize(response, version, keep_alive, &out);
    beast::error_code ec;
    stream.expires_after(options_.read_timeout);
    co_await net::async_write(stream, net::buffer(out), net::redirect_error(kAwait, ec));
    co_return !ec;
  }

  HttpOptions options_;
  const Router* router_;
  HttpMetrics* metrics_;
  std::vector<std::unique_ptr<net::io_context>> contexts_;  // one per I/O thread
  std::vector<std::unique_ptr<Guard>> guards_;              // keep each run() going until Stop
  std::optional<net::basic_socket_acceptor<tcp, Executor>> acceptor_;  // on contexts_[0]
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
