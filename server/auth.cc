// Session lookup through the accounts view, cached per session while the log's head stays put;
// idle time kept in memory.
#include "server/auth.h"

#include <algorithm>

#include "server/security.h"

namespace portail::server {
namespace {
constexpr size_t kMaxTrackedSessions = 100000;
}  // namespace

bool Caller::SubscribedTo(std::string_view family_id) const {
  return std::find(account.subscriptions.begin(), account.subscriptions.end(), family_id) !=
         account.subscriptions.end();
}

Authenticator::Authenticator(const events::EventStore* store, const commands::Clock* clock,
                             commands::Micros idle_timeout, std::string public_origin)
    : store_(store),
      clock_(clock),
      idle_timeout_(idle_timeout),
      public_origin_(std::move(public_origin)) {}

std::string Authenticator::TokenOf(const Request& request, bool* via_cookie) {
  if (via_cookie != nullptr) *via_cookie = false;
  if (auto auth = request.Header("authorization"); auth && auth->starts_with("Bearer ")) {
    return std::string(auth->substr(7));
  }
  auto cookies = request.Header("cookie");
  if (!cookies) return "";
  std::string_view rest = *cookies;
  while (!rest.empty()) {
    size_t semi = rest.find(';');
    std::string_view pair = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == kSessionCookie) {
      if (via_cookie != nullptr) *via_cookie = true;
      return std::string(pair.substr(eq + 1));
    }
  }
  return "";
}

std::optional<Error> Authenticator::Touch(Known& known, commands::Micros now) {
  if (now >= known.session.expires_at_us) {
    return Error(ErrorCode::kUnauthenticated, "your session has expired; please log in again");
  }
  if (now - std::max(known.last_seen, known.session.created_at_us) >= idle_timeout_) {
    return Error(ErrorCode::kUnauthenticated,
                 "your session expired after a period of inactivity; please log in again");
  }
  known.last_seen = now;
  return std::nullopt;
}

Result<Caller> Authenticator::Lookup(const std::string& hash, commands::Micros now) {
  // The head first: rows read after it are at least that recent, so an entry tagged with it is
  // reused only while nothing at all was appended since (a logout, lock, unsubscription or
  // password change moves the head before its command is answered).
  uint64_t head = store_->HeadPosition();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = known_.find(hash);
    if (it != known_.end() && it->second.read && it->second.head == head) {
      if (auto error = Touch(it->second, now)) {
        known_.erase(it);
        return std::unexpected(std::move(*error));
      }
      return it->second.caller;
    }
  }
  const events::ViewReader* rows = store_->View("accounts");
  auto session = projections::AccountsView::Session(*rows, hash);
  if (!session) {
    Forget(hash);
    return Fail(ErrorCode::kUnauthenticated, "your session has ended; please log in");
  }
  auto account = projections::AccountsView::Account(*rows, session->account_id);
  std::lock_guard<std::mutex> lock(mu_);
  if (known_.size() > kMaxTrackedSessions) {
    // Abandoned sessions: anything idle past the timeout is expired anyway.
    std::erase_if(known_,
                  [&](const auto& entry) { return now - entry.second.last_seen >= idle_timeout_; });
  }
  auto [it, inserted] = known_.try_emplace(hash);
  Known& known = it->second;
  if (inserted) known.last_seen = session->created_at_us;
  known.session = std::move(*session);
  if (auto error = Touch(known, now)) {
    known_.erase(it);
    return std::unexpected(std::move(*error));
  }
  if (!account) {
    known.read = false;
    return Fail(ErrorCode::kUnauthenticated, "please log in");
  }
  account->password_hash.clear();  // never needed past the login, so never kept
  known.caller = Caller{std::move(*account), hash, false};
  known.head = head;
  known.read = true;
  return known.caller;
}

Result<Caller> Authenticator::Authenticate(const Request& request) {
  bool via_cookie = false;
  std::string token = TokenOf(request, &via_cookie);
  if (token.empty() || token.size() > 128) {
    return Fail(ErrorCode::kUnauthenticated, "please log in");
  }
  auto caller = Lookup(HashHex(token), clock_->Now());
  if (!caller) return caller;
  bool write = request.method != "GET" && request.method != "HEAD";
  if (via_cookie && write) {
    if (!request.Header("x-requested-with")) {
      return Fail(ErrorCode::kForbidden,
                  "cookie-authenticated changes need the X-Requested-With header");
    }
    if (auto origin = request.Header("origin"); origin && *origin != public_origin_) {
      return Fail(ErrorCode::kForbidden, "requests from another site are refused");
    }
  }
  caller->via_cookie = via_cookie;
  return caller;
}

void Authenticator::Forget(const std::string& session_hash) {
  std::lock_guard<std::mutex> lock(mu_);
  known_.erase(session_hash);
}

}  // namespace portail::server
