// Who is calling: the session behind a cookie or a Bearer token, with its idle and absolute
// expiry, and the CSRF rule for cookie-authenticated writes. Callers are cached per session and
// reused only while the log's head has not moved, so a cached caller is never stale.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>

#include "commands/clock.h"
#include "events/event_store.h"
#include "projections/accounts_view.h"
#include "server/http_types.h"

namespace portail::server {

inline constexpr std::string_view kSessionCookie = "portail_session";

struct Caller {
  projections::AccountRow account;  // without its password hash
  std::string session_hash;
  bool via_cookie = false;

  bool is_agent() const { return account.role == "agent"; }
  bool is_auditor() const { return account.role == "auditor"; }
  bool is_family() const { return account.role == "family"; }
  bool SubscribedTo(std::string_view family_id) const;
};

class Authenticator {
 public:
  // `store` and `clock` are not owned. `public_origin` ("https://host") is the only Origin
  // accepted on cookie-authenticated writes.
  Authenticator(const events::EventStore* store, const commands::Clock* clock,
                commands::Micros idle_timeout, std::string public_origin);

  // The caller of `request`: kUnauthenticated without a live session, kForbidden for a
  // cookie-authenticated write without the X-Requested-With header or from another origin.
  Result<Caller> Authenticate(const Request& request);

  // The session token of a request (Bearer first, then the cookie); empty if none.
  static std::string TokenOf(const Request& request, bool* via_cookie = nullptr);

  // Drops what is kept in memory of a session that ended.
  void Forget(const std::string& session_hash);

 private:
  // What is known of one session: its last use (for the idle timeout) and, read from the
  // accounts view when the log's head was `head`, its row and its caller.
  struct Known {
    commands::Micros last_seen = 0;
    uint64_t head = 0;
    bool read = false;  // `session` and `caller` hold what the view had at `head`
    projections::SessionRow session;
    Caller caller;
  };

  // The caller of a live session `hash` at `now` (expiry and idle time checked, last use
  // recorded), from the cache while the head is still `head`, else from the view.
  Result<Caller> Lookup(const std::string& hash, commands::Micros now);
  // Checks the expiry and idle time of `known` at `now` and records the use; nullopt if live.
  std::optional<Error> Touch(Known& known, commands::Micros now);

  const events::EventStore* store_;
  const commands::Clock* clock_;
  commands::Micros idle_timeout_;
  std::string public_origin_;
  std::mutex mu_;
  std::unordered_map<std::string, Known> known_;  // by session hash; guarded by mu_
};

}  // namespace portail::server
