// `portail`: the server's command line (serve; later: admin).
#include <pthread.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <fstream>
#include <iostream>

#include "commands/accounts.h"
#include "events/log.h"
#include "server/account_routes.h"
#include "server/app.h"
#include "server/demo.h"
#include "server/security.h"

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

int Serve(AppOptions options, const std::string& listen, bool demo) {
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

  std::string options_data_dir = options.data_dir;
  auto app = App::Open(std::move(options));
  if (!app) {
    std::cerr << "portail: " << app.error().message << "\n";
    return 1;
  }
  if (demo) {
    auto text = portail::server::SeedDemoTown(**app, options_data_dir);
    if (!text) {
      std::cerr << "portail: seeding the demo town failed: " << text.error().message << "\n";
      return 1;
    }
    std::cout << *text << std::flush;
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

// Reads a password: twice without echo on a terminal, else one line of stdin.
std::optional<std::string> ReadPassword() {
  auto read_line = [](bool echo_off) -> std::optional<std::string> {
    termios old_tio{};
    if (echo_off) {
      tcgetattr(STDIN_FILENO, &old_tio);
      termios tio = old_tio;
      tio.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      tcsetattr(STDIN_FILENO, TCSANOW, &tio);
    }
    std::string line;
    bool ok = static_cast<bool>(std::getline(std::cin, line));
    if (echo_off) {
      tcsetattr(STDIN_FILENO, TCSANOW, &old_tio);
      std::cerr << "\n";
    }
    if (!ok) return std::nullopt;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  };
  if (!isatty(STDIN_FILENO)) return read_line(false);
  std::cerr << "Password: " << std::flush;
  auto first = read_line(true);
  std::cerr << "Password again: " << std::flush;
  auto second = read_line(true);
  if (!first || !second || *first != *second) {
    std::cerr << "portail: the two passwords differ\n";
    return std::nullopt;
  }
  return first;
}

int AddAgent(AppOptions options, const std::string& email_in, const std::string& role_name,
             const std::string& first_name, const std::string& last_name) {
  auto email = portail::server::CheckEmail(email_in);
  if (!email) {
    std::cerr << "portail: " << email_in << " is not a valid e-mail address\n";
    return 2;
  }
  auto password = ReadPassword();
  if (!password) {
    std::cerr << "portail: no password given\n";
    return 2;
  }
  if (auto problem = portail::server::PasswordProblem(*password, *email); !problem.empty()) {
    std::cerr << "portail: the password " << problem << "\n";
    return 2;
  }
  auto hash = portail::server::HashPassword(*password, options.accounts.password_cost);
  if (!hash) {
    std::cerr << "portail: not enough memory to hash the password\n";
    return 1;
  }
  auto app = App::Open(std::move(options));
  if (!app) {
    std::cerr << "portail: " << app.error().message
              << " (is the server running on this data directory? stop it first)\n";
    return 1;
  }
  auto command = std::make_unique<portail::commands::RegisterAccount>();
  command->account_id = portail::server::RandomId();
  command->actor = "operator";
  command->email = *email;
  command->email_key = portail::server::EmailKey(*email);
  command->first_name = first_name;
  command->last_name = last_name;
  command->password_hash = *hash;
  command->role =
      role_name == "auditor" ? portail::schema::Role::Auditor : portail::schema::Role::Agent;
  std::string id = command->account_id;
  auto outcome = (*app)->services().bus->Execute(std::move(command));
  (*app)->Shutdown();
  if (!outcome) {
    std::cerr << "portail: " << outcome.error().message << "\n";
    return 1;
  }
  std::cout << role_name << " " << *email << " created (account " << id << ")\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"portail: the family portal's backend (event-sourced, RocksDB + HTTP/JSON)"};
  cli.require_subcommand(1);

  AppOptions options;
  std::string listen = "127.0.0.1:8080";
  std::string log_level = "info";
  bool demo = false;
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

  auto& accounts = options.accounts;
  serve
      ->add_option("--public-url", accounts.public_url,
                   "Public base URL of the portal: links in e-mails, accepted Origin")
      ->capture_default_str();
  int idle_minutes = static_cast<int>(accounts.session_idle / 60000000);
  int absolute_hours = static_cast<int>(accounts.session_absolute / 3600000000LL);
  serve->add_option("--session-idle-minutes", idle_minutes, "A session ends after this idle time")
      ->capture_default_str()
      ->check(CLI::Range(1, 24 * 60));
  serve->add_option("--session-hours", absolute_hours, "A session ends this long after login")
      ->capture_default_str()
      ->check(CLI::Range(1, 24 * 30));
  serve
      ->add_option("--hash-threads", accounts.hash_threads,
                   "Threads hashing passwords (argon2id), apart from the I/O threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  serve->add_flag("--demo", demo,
                  "On an empty data directory, create a demo town (agent, families, parent) and "
                  "print its logins; they are kept in DATA/DEMO.txt");
  serve->add_flag("--secure-cookie", accounts.secure_cookie,
                  "Mark the session cookie Secure (when served over HTTPS)");
  serve->add_option("--smtp", options.mail.smtp_url,
                    "Deliver mail through this SMTP server, smtp://host:port (STARTTLS when "
                    "offered) or smtps://host:port; without it, mails are .eml files in "
                    "DATA/outbox");
  serve->add_option("--smtp-user", options.mail.smtp_user, "SMTP user name");
  serve->add_option("--smtp-password-file", options.mail.smtp_password,
                    "File holding the SMTP password (kept out of the command line)");
  serve->add_option("--mail-from", options.mail.from, "The From: of every mail")
      ->capture_default_str();

  CLI::App* admin = cli.add_subcommand("admin", "Operator tasks on a stopped server's data");
  admin->require_subcommand(1);
  CLI::App* add_agent = admin->add_subcommand(
      "add-agent",
      "Create an agent or auditor account; the password is asked on the terminal "
      "(or read from one line of stdin)");
  std::string agent_email;
  std::string role = "agent";
  std::string first_name = "Agent";
  std::string last_name = "Mairie";
  add_agent->add_option("email", agent_email, "The agent's e-mail (their login)")->required();
  add_agent->add_option("--role", role, "agent or auditor")
      ->capture_default_str()
      ->check(CLI::IsMember({"agent", "auditor"}));
  add_agent->add_option("--first-name", first_name)->capture_default_str();
  add_agent->add_option("--last-name", last_name)->capture_default_str();
  add_agent->add_option("--data", options.data_dir, "Data directory")->capture_default_str();

  CLI11_PARSE(cli, argc, argv);
  portail::log::SetLevel(log_level);
  options.http.read_timeout = std::chrono::milliseconds(read_timeout_ms);
  accounts.session_idle = static_cast<int64_t>(idle_minutes) * 60000000;
  accounts.session_absolute = static_cast<int64_t>(absolute_hours) * 3600000000LL;
  if (!options.mail.smtp_password.empty()) {
    std::ifstream in(options.mail.smtp_password);
    if (!in) {
      std::cerr << "portail: cannot read " << options.mail.smtp_password << "\n";
      return 2;
    }
    std::getline(in, options.mail.smtp_password);
  }
  if (serve->parsed()) return Serve(std::move(options), listen, demo);
  if (add_agent->parsed()) {
    portail::log::SetLevel("warn");
    return AddAgent(std::move(options), agent_email, role, first_name, last_name);
  }
  return 0;
}
