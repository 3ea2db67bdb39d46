// Session lookup through the accounts view; idle time kept in memory.
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

Result<Caller> Authenticator::Authenticate(const Request& request) {
  bool via_cookie = false;
  std::string token = TokenOf(request, &via_cookie);
  if (token.empty() || token.size() > 128) {
    return Fail(ErrorCode::kUnauthenticated, "please log in");
  }
  std::string hash = HashHex(token);
  const events::ViewReader* rows = store_->View("accounts");
  auto session = projections::AccountsView::Session(*rows, hash);
  if (!session) return Fail(ErrorCode::kUnauthenticated, "your session has ended; please log in");
  commands::Micros now = clock_->Now();
  if (now >= session->expires_at_us) {
    Forget(hash);
    return Fail(ErrorCode::kUnauthenticated, "your session has expired; please log in again");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (last_seen_.size() > kMaxTrackedSessions) {
      // Abandoned sessions: anything idle past the timeout is expired anyway.
      std::erase_if(last_seen_,
                    [&](const auto& entry) { return now - entry.second >= idle_timeout_; });
    }
    auto [it, inserted] = last_seen_.try_emplace(hash, session->created_at_us);
    if (now - std::max(it->second, session->created_at_us) >= idle_timeout_) {
      last_seen_.erase(it);
      return Fail(ErrorCode::kUnauthenticated,
                  "your session expired after a period of inactivity; please log in again");
    }
    it->second = now;
  }
  auto account = projections::AccountsView::Account(*rows, session->account_id);
  if (!account) return Fail(ErrorCode::kUnauthenticated, "please log in");
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
  return Caller{std::move(*account), std::move(hash), via_cookie};
}

void Authenticator::Forget(const std::string& session_hash) {
  std::lock_guard<std::mutex> lock(mu_);
  last_seen_.erase(session_hash);
}

}  // namespace portail::server
