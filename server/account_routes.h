// The accounts API: registration and activation, sessions, password reset, `me`, subscriptions
// (account_routes.cc) and the agents' families and accounts (agent_routes.cc).
#pragma once

#include <memory>
#include <string>

#include "commands/accounts.h"
#include "projections/families_view.h"
#include "server/accounts_config.h"
#include "server/app.h"
#include "server/auth.h"
#include "server/rate_limiter.h"
#include "server/router.h"
#include "server/security.h"

namespace portail::server {

class AccountRoutes {
 public:
  // `services` pointers must outlive this object. `key` is the server's secret key.
  AccountRoutes(const Services& services, AccountsConfig config, std::string key);
  ~AccountRoutes();

  void Add(Router& router);
  // Runs the queued password jobs and refuses new ones (503), for shutdown.
  void StopWorkers() { hasher_.Stop(); }
  Authenticator& auth() { return auth_; }
  // The stored hash of a subscriber code as typed (nullopt: not a code of ours).
  std::string SubscriberCodeHash(const std::string& code) const {
    return CodeHash(NormaliseSubscriberCode(code).value_or(code));
  }
  const AccountsConfig& config() const { return config_; }

 private:
  // Family side (account_routes.cc).
  void Register(Request& request, Reply reply);
  void Activate(Request& request, Reply reply);
  void ResendActivation(Request& request, Reply reply);
  void Login(Request& request, Reply reply);
  void Logout(Request& request, Reply reply);
  void RequestReset(Request& request, Reply reply);
  void ConfirmReset(Request& request, Reply reply);
  void Me(Request& request, Reply reply);
  void LookupCode(Request& request, Reply reply);
  void SubscribeByCode(Request& request, Reply reply);
  void Unsubscribe(Request& request, Reply reply);
  // Agent side (agent_routes.cc).
  void CreateFamily(Request& request, Reply reply);
  void RegenerateCode(Request& request, Reply reply);
  void ListFamilies(Request& request, Reply reply);
  void GetFamily(Request& request, Reply reply);
  void ListAccounts(Request& request, Reply reply);
  void LockAccount(Request& request, Reply reply);
  void UnlockAccount(Request& request, Reply reply);

  // Mails a link (activation or reset) to an e-mail address, answering `answer` either way.
  template <class LinkCommand>
  void MailLink(Request& request, Reply reply, commands::Micros ttl, std::string_view answer,
                commands::LinkToken LinkCommand::*link);
  // The caller, or an error answered on `reply` (nullopt then).
  std::optional<Caller> Authenticated(Request& request, Reply& reply);
  std::optional<Caller> Agent(Request& request, Reply& reply, bool auditors_too = false);
  // For the subscription endpoints: a family account's caller and the family of the body's
  // subscriber code, or an error answered on `reply` (nullopt then).
  std::optional<std::pair<Caller, projections::FamilyRow>> FamilyByCodeBody(Request& request,
                                                                            Reply& reply);
  // Resolves a subscriber code to a family id, counting wrong guesses per `limiter_key`.
  Result<std::string> FamilyOfCode(const std::string& code, const std::string& limiter_key);
  commands::LinkToken NewLink(commands::Micros ttl) const;
  std::string CodeHash(const std::string& normalised_code) const;
  const events::ViewReader& accounts() const;
  const events::ViewReader& families() const;

  Services services_;
  AccountsConfig config_;
  std::string key_;
  Authenticator auth_;
  WorkerPool hasher_;
  RateLimiter address_failures_;
  RateLimiter code_failures_;
};

// The normalised e-mail's key for its uniqueness stream.
std::string EmailKey(std::string_view email);

}  // namespace portail::server
