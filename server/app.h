// The application: the event store, the command bus, the views and the HTTP server, wired.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "commands/clock.h"
#include "commands/command_bus.h"
#include "events/event_store.h"
#include "server/accounts_config.h"
#include "server/http_server.h"
#include "server/mailer.h"

namespace portail::server {

class AccountRoutes;
class DossierRoutes;
class PlanningQuery;
class PlanningRoutes;
class RequestRoutes;

struct AppOptions {
  std::string data_dir = "data";
  HttpOptions http;
  commands::BusOptions bus;
  AccountsConfig accounts;
  MailConfig mail;  // outbox_dir and key are filled from data_dir
};

// Everything a route needs. Pointers are owned by the App and valid while it lives.
struct Services {
  events::EventStore* store = nullptr;
  commands::CommandBus* bus = nullptr;
  const commands::Clock* clock = nullptr;
};

class App {
 public:
  // Opens the data directory (creating it if missing) and builds the routes. `clock` may be
  // nullptr for the system clock; when given, it is not owned and must outlive the App.
  static Result<std::unique_ptr<App>> Open(AppOptions options,
                                           const commands::Clock* clock = nullptr);
  App(const App&) = delete;
  App& operator=(const App&) = delete;
  // Shuts down if still running.
  ~App();

  // Starts serving; returns the bound port.
  Result<uint16_t> Start();

  // Graceful shutdown: stop accepting, finish queued commands and answer their requests, close
  // connections, then close the store cleanly. Idempotent.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(10));

  const Services& services() const { return services_; }
  AccountRoutes& account_routes() { return *account_routes_; }

 private:
  App() = default;
  void AddRoutes();

  AppOptions options_;
  std::unique_ptr<commands::Clock> owned_clock_;
  std::vector<std::unique_ptr<events::Projection>> projections_;
  std::unique_ptr<events::EventStore> store_;
  commands::AggregateRegistry registry_;
  std::unique_ptr<commands::CommandBus> bus_;
  std::unique_ptr<AccountRoutes> account_routes_;
  std::unique_ptr<DossierRoutes> dossier_routes_;
  std::unique_ptr<PlanningRoutes> planning_routes_;
  std::unique_ptr<PlanningQuery> planning_query_;
  std::unique_ptr<RequestRoutes> request_routes_;
  std::unique_ptr<Mailer> mailer_;
  Router router_;
  std::unique_ptr<HttpMetrics> metrics_;
  std::unique_ptr<HttpServer> server_;
  Services services_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  bool shut_down_ = false;
};

}  // namespace portail::server
