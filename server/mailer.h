// The mailer: delivers the outbox's mails by SMTP (libcurl) or as .eml files, records each
// delivery as an event, and retries failures with backoff. At-least-once, with a stable
// Message-ID, so a restart between sending and recording sends the same message again.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "commands/command_bus.h"
#include "events/event_store.h"
#include "projections/outbox_view.h"

namespace portail::server {

struct MailConfig {
  std::string outbox_dir;  // .eml files go here when no SMTP URL is set
  std::string smtp_url;    // smtp://host:port (STARTTLS used when offered) or smtps://
  std::string smtp_user;
  std::string smtp_password;
  std::string from = "Portail Famille <no-reply@portail.localhost>";
  std::string public_url = "http://127.0.0.1:8080";
  std::string key;  // the server key, to derive link tokens
  int max_backoff_seconds = 300;
};

class Mailer {
 public:
  // `store` and `bus` are not owned and must outlive the mailer.
  Mailer(const events::EventStore* store, commands::CommandBus* bus, MailConfig config);
  ~Mailer();
  Mailer(const Mailer&) = delete;
  Mailer& operator=(const Mailer&) = delete;

  void Start();
  // Stops after the delivery in progress, if any.
  void Stop();

  // The whole RFC 5322 message of `mail` (multipart/alternative, plain text and HTML, French).
  static std::string Render(const projections::PendingMail& mail, const MailConfig& config);

 private:
  void Run();
  // Hands one message over; empty on success, else why not.
  std::string Deliver(const projections::PendingMail& mail, const std::string& message);

  const events::EventStore* store_;
  commands::CommandBus* bus_;
  MailConfig config_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace portail::server
