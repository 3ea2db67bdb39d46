// The accounts' settings: public URL, session lifetimes, link lifetimes, password cost, limits.
#pragma once

#include <string>

#include "commands/accounts.h"
#include "server/security.h"

namespace portail::server {

struct AccountsConfig {
  std::string public_url = "http://127.0.0.1:8080";  // links in e-mails; the accepted Origin
  commands::Micros session_idle = 30LL * 60 * 1000000;
  commands::Micros session_absolute = 12LL * 3600 * 1000000;
  commands::Micros activation_ttl = 48LL * 3600 * 1000000;
  commands::Micros reset_ttl = 2LL * 3600 * 1000000;
  PasswordCost password_cost;
  commands::LoginPolicy login_policy;
  int hash_threads = 1;             // argon2id workers, apart from the I/O threads
  int address_failures_limit = 30;  // failed logins per client address per window
  int code_failures_limit = 10;     // wrong subscriber codes per account per window
  commands::Micros limit_window = 15LL * 60 * 1000000;
  bool secure_cookie = false;  // add `Secure` (when served over HTTPS)
};

}  // namespace portail::server
