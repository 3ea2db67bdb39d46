// Wires the store, the bus, the views and the routes.
#include "server/app.h"

#include <filesystem>

#include "commands/accounts.h"
#include "commands/dossier.h"
#include "commands/planning.h"
#include "events/log.h"
#include "projections/registry.h"
#include "server/account_routes.h"
#include "server/dossier_routes.h"
#include "server/json.h"
#include "server/openapi.h"
#include "server/planning_query.h"
#include "server/planning_routes.h"
#include "server/request_routes.h"

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
  if (!InitCrypto()) return Fail(ErrorCode::kInternal, "libsodium cannot be initialised");
  auto key = LoadOrCreateKey(app->options_.data_dir + "/secret.key");
  if (!key) return std::unexpected(key.error());
  // The same list the replay tool rebuilds from.
  for (const auto& name : projections::ViewNames()) {
    app->projections_.push_back(projections::MakeView(name));
  }
  commands::RegisterAccountAggregates(app->registry_);
  commands::RegisterDossierAggregates(app->registry_);
  commands::RegisterPlanningAggregates(app->registry_);

  events::StoreOptions store_options;
  store_options.path = app->options_.data_dir + "/log";
  for (auto& p : app->projections_) store_options.projections.push_back(p.get());
  auto store = events::EventStore::Open(std::move(store_options));
  if (!store) return std::unexpected(store.error());
  app->store_ = std::move(*store);
  app->bus_ = std::make_unique<commands::CommandBus>(app->store_.get(), &app->registry_, clock,
                                                     app->options_.bus);
  app->services_ = Services{app->store_.get(), app->bus_.get(), clock};
  app->account_routes_ =
      std::make_unique<AccountRoutes>(app->services_, app->options_.accounts, *key);
  app->dossier_routes_ = std::make_unique<DossierRoutes>(
      app->services_, &app->account_routes_->auth(), app->options_.data_dir + "/photos");
  app->planning_routes_ =
      std::make_unique<PlanningRoutes>(app->services_, &app->account_routes_->auth());
  app->planning_query_ =
      std::make_unique<PlanningQuery>(app->services_, &app->account_routes_->auth());
  app->request_routes_ =
      std::make_unique<RequestRoutes>(app->services_, &app->account_routes_->auth());
  MailConfig mail = app->options_.mail;
  mail.outbox_dir = app->options_.data_dir + "/outbox";
  mail.key = *key;
  mail.public_url = app->options_.accounts.public_url;
  app->mailer_ = std::make_unique<Mailer>(app->store_.get(), app->bus_.get(), std::move(mail));
  app->AddRoutes();
  app->metrics_ = std::make_unique<HttpMetrics>(app->router_.patterns());
  app->server_ =
      std::make_unique<HttpServer>(app->options_.http, &app->router_, app->metrics_.get());
  return app;
}

App::~App() { Shutdown(std::chrono::seconds(2)); }

Result<uint16_t> App::Start() {
  auto port = server_->Start();
  if (port) mailer_->Start();
  return port;
}

void App::Shutdown(std::chrono::milliseconds grace) {
  if (shut_down_) return;
  shut_down_ = true;
  log::info("shutting down: no new connections, finishing queued commands");
  server_->StopAccepting();
  account_routes_->StopWorkers();  // queued password jobs run: their commands reach the bus
  mailer_->Stop();
  bus_->Stop();
  server_->Stop(grace);
  store_->Close();
  log::info("stopped cleanly at log position {}", store_->HeadPosition());
}

void App::AddRoutes() {
  account_routes_->Add(router_);
  dossier_routes_->Add(router_);
  planning_routes_->Add(router_);
  planning_query_->Add(router_);
  request_routes_->Add(router_);
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
