// The account and family aggregates: states folded from their streams, and their commands.
// Secrets (passwords, tokens, codes) arrive already hashed; randomness comes from the caller, so
// every Decide is a pure function.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include "commands/command.h"

namespace portail::commands {

// Stream ids.
std::string AccountStream(std::string_view account_id);
std::string EmailStream(std::string_view email_key);  // email_key: hash of the normalised e-mail
std::string FamilyStream(std::string_view family_id);
std::string CodeStream(std::string_view code_hash);
inline constexpr std::string_view kOutboxStream = "outbox";

// Limits of the login policy.
struct LoginPolicy {
  int slow_after_failures = 3;   // consecutive failures before attempts are spaced out
  int lock_after_failures = 10;  // consecutive failures that lock the account
  Micros lock_duration = 30LL * 60 * 1000000;
  Micros max_backoff = 60LL * 1000000;
  // Seconds to wait after `failures` consecutive failures (0 below slow_after_failures).
  Micros Backoff(int failures) const;
};

class AccountState : public AggregateState {
 public:
  std::unique_ptr<AggregateState> Clone() const override {
    return std::make_unique<AccountState>(*this);
  }

  bool exists = false;
  schema::Role role = schema::Role::Family;
  std::string email;
  std::string first_name;
  std::string last_name;
  std::string password_hash;
  bool active = false;
  std::string activation_hash;  // the live activation link (empty: none)
  Micros activation_expires = 0;
  std::string reset_hash;  // the live reset link
  Micros reset_expires = 0;
  std::set<std::string> used_hashes;  // links already used, for a clear "already used" error
  int failures = 0;
  Micros last_failure = 0;
  bool locked_by_agent = false;
  Micros locked_until = 0;   // a system lock after failures
  int failures_at_lock = 0;  // `failures` when the system lock was set

  // Consecutive failures that still count at `now`: a served system lock starts a new count.
  int CountedFailures(Micros now) const {
    return locked_until != 0 && now >= locked_until ? failures - failures_at_lock : failures;
  }
  std::map<std::string, Micros> sessions;  // live sessions: hash -> absolute expiry
  std::set<std::string> subscriptions;

  bool LockedAt(Micros now) const { return locked_by_agent || locked_until > now; }

 protected:
  void Evolve(const schema::EventRecord& event) override;
};

// Who holds an e-mail address (email-<key> streams).
class EmailState : public AggregateState {
 public:
  std::unique_ptr<AggregateState> Clone() const override {
    return std::make_unique<EmailState>(*this);
  }
  std::string account_id;

 protected:
  void Evolve(const schema::EventRecord& event) override;
};

class FamilyState : public AggregateState {
 public:
  std::unique_ptr<AggregateState> Clone() const override {
    return std::make_unique<FamilyState>(*this);
  }
  bool exists = false;
  std::string name;
  std::string code_hash;

 protected:
  void Evolve(const schema::EventRecord& event) override;
};

// Registers the factories of "account", "email" and "family" streams.
void RegisterAccountAggregates(AggregateRegistry& registry);

// A link to be mailed: a random id (the token is derived from it with the server's key) and
// the hash the link will be checked against.
struct LinkToken {
  std::string id;
  std::string hash;
  Micros expires_at = 0;
};

// Creates an account; or, when the e-mail is taken, tells its owner by e-mail and answers the
// same. Agents and auditors are created active, and a taken e-mail is then kAlreadyExists.
class RegisterAccount : public Command {
 public:
  std::string account_id;
  std::string email;
  std::string email_key;
  std::string first_name;
  std::string last_name;
  std::string password_hash;
  schema::Role role = schema::Role::Family;
  LinkToken activation;
  std::string mail_id;
  std::string family_id;        // subscribe at once (a subscriber code given at registration)
  bool mail_activation = true;  // false: the caller activates it itself (the demo town)

  std::vector<std::string> Streams() const override;
  Result<Decision> Decide(const States& states, Micros now) const override;
};

class ActivateAccount : public Command {
 public:
  std::string account_id;
  std::string token_hash;
  std::vector<std::string> Streams() const override { return {AccountStream(account_id)}; }
  Result<Decision> Decide(const States& states, Micros now) const override;
};

// Issues a new activation link (the previous one dies) for a pending account; does nothing,
// silently, for an active or unknown one.
class ResendActivation : public Command {
 public:
  std::string account_id;
  LinkToken activation;
  std::string mail_id;
  std::vector<std::string> Streams() const override { return {AccountStream(account_id)}; }
  Result<Decision> Decide(const States& states, Micros now) const override;
};

// The outcome of a login attempt, in the Decision's reply.
struct LoginReply {
  bool ok = false;
  ErrorCode code = ErrorCode::kUnauthenticated;
  std::string message;
};

// Records a login attempt whose password was checked by the caller: starts a session, or counts
// a failure (locking the account after too many). The reply says which.
class RecordLogin : public Command {
 public:
  std::string account_id;
  bool password_ok = false;
  std::string session_hash;
  Micros session_lifetime = 12LL * 3600 * 1000000;
  std::string client;
  LoginPolicy policy;
  std::vector<std::string> Streams() const override { return {AccountStream(account_id)}; }
  Result<Decision> Decide(const States& states, Micros now) const override;
};

class EndSession : public Command {
 public:
  std::string account_id;
  std::string session_hash;
  std::vector<std::string> Streams() const override { return {AccountStream(account_id)}; }
  Result<Decision> Decide(const States& states, Micros now) const override;
};

class LockAccount : public Command {
 public:
  std::string account_id;
  std::string reason;
  std::vector<std::string> Streams() const override { return {AccountStream(account_id)}; }
  Result<Decision> Decide(const States& states, Micros now) const override;
};

class UnlockAccount : public Command {
 public:
  std::string account_id;
  std::vector<std::string> Streams() const override { return {AccountStream(account_id)}; }
  Result<Decision> Decide(const States& states, Micros now) const override;
};

// Issues a reset link for an active account; silently nothing otherwise.
class RequestPasswordReset : public Command {
 public:
  std::string account_id;
  LinkToken reset;
  std::string mail_id;
  std::vector<std::string> Streams() const override { return {AccountStream(account_id)}; }
  Result<Decision> Decide(const States& states, Micros now) const override;
};

// Sets a new password with a reset link and ends every session of the account.
class ResetPassword : public Command {
 public:
  std::string account_id;
  std::string token_hash;
  std::string password_hash;
  std::vector<std::string> Streams() const override { return {AccountStream(account_id)}; }
  Result<Decision> Decide(const States& states, Micros now) const override;
};

class Subscribe : public Command {
 public:
  std::string account_id;
  std::string family_id;
  std::vector<std::string> Streams() const override {
    return {AccountStream(account_id), FamilyStream(family_id)};
  }
  Result<Decision> Decide(const States& states, Micros now) const override;
};

class Unsubscribe : public Command {
 public:
  std::string account_id;
  std::string family_id;
  std::vector<std::string> Streams() const override { return {AccountStream(account_id)}; }
  Result<Decision> Decide(const States& states, Micros now) const override;
};

class RegisterFamily : public Command {
 public:
  std::string family_id;
  std::string name;
  std::string code_hash;
  std::vector<std::string> Streams() const override {
    return {FamilyStream(family_id), CodeStream(code_hash)};
  }
  Result<Decision> Decide(const States& states, Micros now) const override;
};

class RegenerateSubscriberCode : public Command {
 public:
  std::string family_id;
  std::string code_hash;
  std::vector<std::string> Streams() const override {
    return {FamilyStream(family_id), CodeStream(code_hash)};
  }
  Result<Decision> Decide(const States& states, Micros now) const override;
};

// Records that a queued mail was handed to the SMTP server or written as a file.
class RecordMailDelivered : public Command {
 public:
  std::string mail_id;
  std::string via;
  std::vector<std::string> Streams() const override { return {}; }
  Result<Decision> Decide(const States& states, Micros now) const override;
};

}  // namespace portail::commands
