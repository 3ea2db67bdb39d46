// The HTTP server over real loopback sockets: routes, the error model, limits, time-outs and a
// graceful shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "events/event_store.h"
#include "server/app.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

namespace portail::server {
namespace {

using testing::HttpClient;
using testing::TempDir;
using Json = nlohmann::json;

// Appends one operator note; used to have commands in flight at shutdown.
class AppendNote : public commands::Command {
 public:
  explicit AppendNote(std::string stream) : stream_(std::move(stream)) {}
  std::vector<std::string> Streams() const override { return {}; }
  Result<commands::Decision> Decide(const commands::States&, commands::Micros) const override {
    schema::PayloadUnion payload;
    auto note = std::make_unique<schema::OperatorNoteT>();
    note->text = "note";
    payload.Set(std::move(*note));
    commands::Decision decision;
    decision.appends.push_back({stream_, events::ExpectedVersion::Any(), {payload}});
    return decision;
  }

 private:
  std::string stream_;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AppOptions options;
    options.data_dir = dir_.Sub("data");
    options.http.host = "127.0.0.1";
    options.http.port = 0;
    options.http.threads = 2;
    options.http.body_limit = 1024;
    options.http.header_limit = 2048;
    options.http.read_timeout = std::chrono::milliseconds(300);
    auto app = App::Open(options);
    ASSERT_TRUE(app.has_value()) << app.error().message;
    app_ = std::move(*app);
    auto port = app_->Start();
    ASSERT_TRUE(port.has_value()) << port.error().message;
    port_ = *port;
  }

  static Json Body(const testing::HttpResult& r) { return Json::parse(r.body, nullptr, false); }

  // Checks the error model: a JSON body {"error": {"code": code, "message": non-empty}}.
  static void ExpectError(const testing::HttpResult& r, int status, std::string_view code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    Json body = Body(r);
    ASSERT_TRUE(body.is_object()) << r.body;
    EXPECT_EQ(body["error"]["code"], code) << r.body;
    EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
  }

  TempDir dir_;
  std::unique_ptr<App> app_;
  uint16_t port_ = 0;
};

TEST_F(ServerTest, HealthzAnswersOkWithTheHeadPosition) {
  HttpClient client(port_);
  auto r = client.Get("/healthz");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Body(r)["status"], "ok");
  EXPECT_EQ(Body(r)["head_position"], 0);
  EXPECT_EQ(r.headers.at("cache-control"), "no-store");
}

TEST_F(ServerTest, MetricsAreInPrometheusTextFormat) {
  HttpClient client(port_);
  ASSERT_EQ(client.Get("/healthz").status, 200);
  auto outcome = app_->services().bus->Execute(std::make_unique<AppendNote>("note-1"));
  ASSERT_TRUE(outcome.has_value());
  auto r = client.Get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.headers.at("content-type").starts_with("text/plain"));
  EXPECT_NE(r.body.find("portail_http_requests_total{route=\"/healthz\",status=\"200\"} 1"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("portail_http_request_seconds_count{route=\"/healthz\"} 1"),
            std::string::npos);
  EXPECT_NE(r.body.find("portail_commands_total{result=\"ok\"} 1"), std::string::npos);
  EXPECT_NE(r.body.find("portail_events_appended_total 1"), std::string::npos);
  EXPECT_NE(r.body.find("portail_batch_write_seconds_count 1"), std::string::npos);
  EXPECT_NE(r.body.find("portail_batch_commands_bucket{le=\"1\"} 1"), std::string::npos);
  EXPECT_NE(r.body.find("portail_command_queue_depth 0"), std::string::npos);
  EXPECT_NE(r.body.find("portail_log_head_position 1"), std::string::npos);
}

TEST_F(ServerTest, OpenApiDocumentIsServed) {
  HttpClient client(port_);
  auto r = client.Get("/api/openapi.yaml");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("content-type"), "application/yaml");
  EXPECT_TRUE(r.body.starts_with("openapi: 3")) << r.body.substr(0, 40);
}

TEST_F(ServerTest, UnknownPathIsNotFoundWithJsonError) {
  HttpClient client(port_);
  ExpectError(client.Get("/no/such/thing"), 404, "not_found");
}

TEST_F(ServerTest, WrongMethodIsMethodNotAllowedNamingTheAllowedOnes) {
  HttpClient client(port_);
  auto r = client.Request("DELETE", "/healthz");
  ExpectError(r, 405, "method_not_allowed");
  EXPECT_EQ(r.headers.at("allow"), "GET");
}

TEST_F(ServerTest, OversizedBodyIsPayloadTooLarge) {
  HttpClient client(port_);
  ExpectError(client.Request("POST", "/healthz", std::string(4096, 'x')), 413, "payload_too_large");
}

TEST_F(ServerTest, OversizedHeadersAreRejected) {
  HttpClient client(port_);
  ExpectError(client.Request("GET", "/healthz", "", {{"X-Big", std::string(4096, 'a')}}), 431,
              "header_too_large");
}

TEST_F(ServerTest, MalformedRequestIsBadRequest) {
  HttpClient client(port_);
  ASSERT_TRUE(client.SendRaw("THIS IS NOT HTTP\r\n\r\n"));
  ExpectError(client.ReadResponse(), 400, "invalid");
}

TEST_F(ServerTest, MalformedQueryStringIsBadRequest) {
  HttpClient client(port_);
  ExpectError(client.Get("/healthz?x=%zz"), 400, "invalid");
}

TEST_F(ServerTest, SlowClientIsDisconnectedAndOthersAreStillServed) {
  HttpClient slow(port_);
  ASSERT_TRUE(slow.SendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\n"));  // never finished
  EXPECT_TRUE(slow.ClosedByServer());  // after the 300 ms read time-out
  HttpClient other(port_);
  EXPECT_EQ(other.Get("/healthz").status, 200);
}

TEST_F(ServerTest, IdleKeptAliveConnectionIsClosedAfterTheReadTimeout) {
  HttpClient client(port_);
  ASSERT_EQ(client.Get("/healthz").status, 200);
  EXPECT_TRUE(client.ClosedByServer());  // no response: closed silently after 300 ms idle
}

TEST_F(ServerTest, KeptAliveConnectionServesSeveralRequests) {
  HttpClient client(port_);
  ASSERT_TRUE(client.SendRaw(
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(client.ReadResponse().status, 200);
  EXPECT_EQ(client.ReadResponse().status, 404);
}

TEST_F(ServerTest, ConnectionCloseIsAnsweredWithConnectionCloseAndTheConnectionEnds) {
  HttpClient client(port_);
  ASSERT_TRUE(client.SendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto response = client.ReadResponse();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers["connection"], "close");
  EXPECT_EQ(response.headers["content-length"], std::to_string(response.body.size()));
  EXPECT_TRUE(client.ClosedByServer());
}

TEST_F(ServerTest, Http10RequestIsAnsweredInHttp10AndTheConnectionEnds) {
  HttpClient client(port_);
  ASSERT_TRUE(client.SendRaw("GET /healthz HTTP/1.0\r\n\r\n"));
  auto response = client.ReadResponse();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(Body(response)["status"], "ok");
  EXPECT_TRUE(client.ClosedByServer());
}

TEST_F(ServerTest, ConnectionsSpreadOverEveryIoThreadAreAllServed) {
  // Connections are handed to the I/O threads in turn: several at once land on each of them.
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < 6; ++i) clients.push_back(std::make_unique<HttpClient>(port_));
  for (int round = 0; round < 3; ++round) {
    for (auto& client : clients) {
      auto response = client->Get("/healthz");
      EXPECT_EQ(response.status, 200);
      EXPECT_EQ(response.headers["cache-control"], "no-store");
      EXPECT_EQ(response.headers["x-content-type-options"], "nosniff");
    }
  }
}

TEST_F(ServerTest, ShutdownFinishesQueuedCommandsThenClosesTheStoreCleanly) {
  HttpClient idle(port_);
  ASSERT_EQ(idle.Get("/healthz").status, 200);  // a kept-alive connection stays open
  constexpr int kCommands = 300;
  std::atomic<int> ok{0};
  std::atomic<int> done{0};
  for (int i = 0; i < kCommands; ++i) {
    app_->services().bus->Submit(std::make_unique<AppendNote>("note-" + std::to_string(i % 7)),
                                 [&](Result<commands::CommandOutcome> outcome) {
                                   if (outcome) ok.fetch_add(1);
                                   done.fetch_add(1);
                                 });
  }
  app_->Shutdown(std::chrono::seconds(5));
  EXPECT_EQ(done.load(), kCommands);
  EXPECT_EQ(ok.load(), kCommands);
  // Refused after shutdown, with a clear answer rather than a hang.
  auto late = app_->services().bus->Execute(std::make_unique<AppendNote>("note-late"));
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code, ErrorCode::kUnavailable);
  app_.reset();

  events::StoreOptions options;
  options.path = dir_.Sub("data") + "/log";
  auto store = events::EventStore::Open(options);
  ASSERT_TRUE(store.has_value()) << store.error().message;
  EXPECT_EQ((*store)->HeadPosition(), static_cast<uint64_t>(kCommands));
  auto report = (*store)->Verify();
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->ok()) << report->problem;
}

}  // namespace
}  // namespace portail::server
