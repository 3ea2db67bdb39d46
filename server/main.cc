// `portail`: the server's command line (serve; later: admin).
#include <pthread.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "events/log.h"
#include "server/app.h"

namespace {

using portail::server::App;
using portail::server::AppOptions;

// Splits "HOST:PORT"; false when malformed.
bool ParseListen(const std::string& text, std::string* host, uint16_t* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  try {
    int p = std::stoi(text.substr(colon + 1));
    if (p < 0 || p > 65535) return false;
    *port = static_cast<uint16_t>(p);
  } catch (...) {
    return false;
  }
  *host = text.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  return true;
}

int Serve(AppOptions options, const std::string& listen) {
  if (!ParseListen(listen, &options.http.host, &options.http.port)) {
    std::cerr << "portail: --listen must be HOST:PORT, e.g. 127.0.0.1:8080\n";
    return 2;
  }
  // SIGINT and SIGTERM are taken by sigwait below, never by another thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto app = App::Open(std::move(options));
  if (!app) {
    std::cerr << "portail: " << app.error().message << "\n";
    return 1;
  }
  auto port = (*app)->Start();
  if (!port) {
    std::cerr << "portail: " << port.error().message << "\n";
    return 1;
  }
  std::cout << "portail listening on http://" << listen.substr(0, listen.rfind(':')) << ":" << *port
            << std::endl;
  int signal = 0;
  sigwait(&signals, &signal);
  portail::log::info("received signal {}", signal);
  (*app)->Shutdown();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"portail: the family portal's backend (event-sourced, RocksDB + HTTP/JSON)"};
  cli.require_subcommand(1);

  AppOptions options;
  std::string listen = "127.0.0.1:8080";
  std::string log_level = "info";
  int read_timeout_ms = static_cast<int>(options.http.read_timeout.count());

  CLI::App* serve = cli.add_subcommand("serve", "Run the HTTP server on a data directory");
  serve
      ->add_option("--data", options.data_dir,
                   "Data directory (created if missing); the log is in DIR/log")
      ->capture_default_str();
  serve->add_option("--listen", listen, "Address and port to listen on, HOST:PORT")
      ->capture_default_str();
  serve->add_option("--threads", options.http.threads, "I/O threads serving HTTP (0: one per core)")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  serve
      ->add_option("--body-limit", options.http.body_limit,
                   "Largest request body accepted, in bytes (larger: 413)")
      ->capture_default_str();
  serve
      ->add_option("--header-limit", options.http.header_limit,
                   "Largest request header block accepted, in bytes (larger: 431)")
      ->capture_default_str();
  serve
      ->add_option("--read-timeout-ms", read_timeout_ms,
                   "Time allowed to receive a whole request, and to wait on an idle "
                   "kept-alive connection, in milliseconds")
      ->capture_default_str()
      ->check(CLI::Range(10, 3600000));
  serve
      ->add_option("--queue-capacity", options.bus.queue_capacity,
                   "Commands allowed to wait for the writer; beyond it requests get 503")
      ->capture_default_str();
  serve->add_option("--log-level", log_level, "debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}));

  CLI11_PARSE(cli, argc, argv);
  portail::log::SetLevel(log_level);
  options.http.read_timeout = std::chrono::milliseconds(read_timeout_ms);
  if (serve->parsed()) return Serve(std::move(options), listen);
  return 0;
}
