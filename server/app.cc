// Wires the store, the bus, the views and the routes.
#include "server/app.h"

#include <filesystem>

#include "events/log.h"
#include "projections/event_counts.h"
#include "server/json.h"
#include "server/openapi.h"

namespace portail::server {

Result<std::unique_ptr<App>> App::Open(AppOptions options, const commands::Clock* clock) {
  std::unique_ptr<App> app(new App());
  app->options_ = std::move(options);
  std::error_code ec;
  std::filesystem::create_directories(app->options_.data_dir, ec);
  if (ec) {
    return Fail(ErrorCode::kIoError,
                "cannot create the data directory " + app->options_.data_dir + ": " + ec.message());
  }
  if (clock == nullptr) {
    app->owned_clock_ = std::make_unique<commands::SystemClock>();
    clock = app->owned_clock_.get();
  }
  app->projections_.push_back(std::make_unique<projections::EventCounts>());

  events::StoreOptions store_options;
  store_options.path = app->options_.data_dir + "/log";
  for (auto& p : app->projections_) store_options.projections.push_back(p.get());
  auto store = events::EventStore::Open(std::move(store_options));
  if (!store) return std::unexpected(store.error());
  app->store_ = std::move(*store);
  app->bus_ = std::make_unique<commands::CommandBus>(app->store_.get(), &app->registry_, clock,
                                                     app->options_.bus);
  app->services_ = Services{app->store_.get(), app->bus_.get(), clock};
  app->AddRoutes();
  app->metrics_ = std::make_unique<HttpMetrics>(app->router_.patterns());
  app->server_ =
      std::make_unique<HttpServer>(app->options_.http, &app->router_, app->metrics_.get());
  return app;
}

App::~App() { Shutdown(std::chrono::seconds(2)); }

Result<uint16_t> App::Start() { return server_->Start(); }

void App::Shutdown(std::chrono::milliseconds grace) {
  if (shut_down_) return;
  shut_down_ = true;
  log::info("shutting down: no new connections, finishing queued commands");
  server_->StopAccepting();
  bus_->Stop();
  server_->Stop(grace);
  store_->Close();
  log::info("stopped cleanly at log position {}", store_->HeadPosition());
}

void App::AddRoutes() {
  router_.Add("GET", "/healthz", [this](Request&, Reply reply) {
    reply(JsonResponse(200, {{"status", "ok"}, {"head_position", store_->HeadPosition()}}));
  });
  router_.Add("GET", "/metrics", [this](Request&, Reply reply) {
    Response response;
    response.content_type = "text/plain; version=0.0.4";
    metrics_->Render(&response.body);
    bus_->metrics().Render(&response.body, bus_->QueueDepth());
    commands::RenderHeader(&response.body, "portail_log_head_position", "gauge",
                           "Position of the last event in the log.");
    response.body += "portail_log_head_position " + std::to_string(store_->HeadPosition()) + "\n";
    commands::RenderHeader(&response.body, "portail_uptime_seconds", "gauge",
                           "Seconds since the server started.");
    response.body += "portail_uptime_seconds " +
                     std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::steady_clock::now() - started_)
                                        .count()) +
                     "\n";
    reply(std::move(response));
  });
  router_.Add("GET", "/api/openapi.yaml", [](Request&, Reply reply) {
    Response response;
    response.content_type = "application/yaml";
    response.body = std::string(OpenApiYaml());
    reply(std::move(response));
  });
}

}  // namespace portail::server
