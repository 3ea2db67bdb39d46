// Deciders of accounts and families.
#include "commands/accounts.h"

#include "events/stored_event.h"

namespace portail::commands {
namespace {

using events::ExpectedVersion;
using events::StreamAppend;

using events::Str;

schema::PayloadUnion Mail(std::string mail_id, std::string kind, const std::string& to,
                          const std::string& account_id, const std::string& first_name,
                          const LinkToken* link) {
  schema::MailQueuedT mail;
  mail.mail_id = std::move(mail_id);
  mail.kind = std::move(kind);
  mail.to = to;
  mail.account_id = account_id;
  mail.first_name = first_name;
  if (link != nullptr) {
    mail.token_id = link->id;
    mail.expires_at_us = link->expires_at;
  }
  return MakePayload(std::move(mail));
}

StreamAppend Outbox(schema::PayloadUnion mail) {
  return StreamAppend{std::string(kOutboxStream), ExpectedVersion::Any(), {std::move(mail)}};
}

// Checks a link against the live one: unknown, used and expired links are told apart.
Status CheckLink(const AccountState& account, const std::string& live_hash, Micros expires,
                 const std::string& presented, Micros now, std::string_view what) {
  if (!account.exists)
    return Fail(ErrorCode::kNotFound, "this " + std::string(what) + " link is unknown");
  if (account.used_hashes.contains(presented)) {
    return Fail(ErrorCode::kGone, "this " + std::string(what) + " link was already used");
  }
  if (live_hash.empty()) {
    return Fail(ErrorCode::kGone, "this " + std::string(what) + " link is no longer valid");
  }
  if (live_hash != presented) {
    return Fail(ErrorCode::kGone, "this " + std::string(what) +
                                      " link was replaced by a newer one; use the latest e-mail");
  }
  if (now >= expires) {
    return Fail(ErrorCode::kGone,
                "this " + std::string(what) + " link has expired; ask for a new one");
  }
  return {};
}

const AccountState& Account(const States& states, const std::string& account_id) {
  return *states.As<AccountState>(AccountStream(account_id));
}

}  // namespace

std::string AccountStream(std::string_view id) { return "account-" + std::string(id); }
std::string EmailStream(std::string_view key) { return "email-" + std::string(key); }
std::string FamilyStream(std::string_view id) { return "family-" + std::string(id); }
std::string CodeStream(std::string_view hash) { return "subcode-" + std::string(hash); }

Micros LoginPolicy::Backoff(int failures) const {
  if (failures < slow_after_failures) return 0;
  int steps = failures - slow_after_failures;
  Micros wait = 1000000LL << std::min(steps, 20);
  return std::min(wait, max_backoff);
}

void AccountState::Evolve(const schema::EventRecord& event) {
  Micros at = event.recorded_at_us();
  switch (event.payload_type()) {
    case schema::Payload::AccountRegistered: {
      const auto* e = event.payload_as_AccountRegistered();
      exists = true;
      role = e->role();
      email = Str(e->email());
      first_name = Str(e->first_name());
      last_name = Str(e->last_name());
      password_hash = Str(e->password_hash());
      break;
    }
    case schema::Payload::ActivationIssued: {
      const auto* e = event.payload_as_ActivationIssued();
      activation_hash = Str(e->token_hash());
      activation_expires = e->expires_at_us();
      break;
    }
    case schema::Payload::AccountActivated:
      active = true;
      if (!activation_hash.empty()) used_hashes.insert(activation_hash);
      activation_hash.clear();
      break;
    case schema::Payload::SessionStarted:
      // Sessions past their expiry are forgotten, so abandoned ones do not pile up.
      std::erase_if(sessions, [at](const auto& s) { return s.second <= at; });
      sessions[Str(event.payload_as_SessionStarted()->session_hash())] =
          event.payload_as_SessionStarted()->expires_at_us();
      failures = 0;
      failures_at_lock = 0;
      break;
    case schema::Payload::SessionEnded: {
      std::string hash = Str(event.payload_as_SessionEnded()->session_hash());
      if (hash.empty()) {
        sessions.clear();
      } else {
        sessions.erase(hash);
      }
      break;
    }
    case schema::Payload::LoginFailed:
      ++failures;
      last_failure = at;
      break;
    case schema::Payload::AccountLocked: {
      const auto* e = event.payload_as_AccountLocked();
      if (e->until_us() == 0) {
        locked_by_agent = true;
      } else {
        locked_until = e->until_us();
        failures_at_lock = failures;
      }
      break;
    }
    case schema::Payload::AccountUnlocked:
      locked_by_agent = false;
      locked_until = 0;
      failures = 0;
      failures_at_lock = 0;
      break;
    case schema::Payload::PasswordResetIssued: {
      const auto* e = event.payload_as_PasswordResetIssued();
      reset_hash = Str(e->token_hash());
      reset_expires = e->expires_at_us();
      break;
    }
    case schema::Payload::PasswordChanged:
      password_hash = Str(event.payload_as_PasswordChanged()->password_hash());
      if (!reset_hash.empty()) used_hashes.insert(reset_hash);
      reset_hash.clear();
      failures = 0;
      failures_at_lock = 0;
      locked_until = 0;
      break;
    case schema::Payload::Subscribed:
      subscriptions.insert(Str(event.payload_as_Subscribed()->family_id()));
      break;
    case schema::Payload::Unsubscribed:
      subscriptions.erase(Str(event.payload_as_Unsubscribed()->family_id()));
      break;
    default:
      break;
  }
}

void EmailState::Evolve(const schema::EventRecord& event) {
  if (event.payload_type() == schema::Payload::EmailClaimed) {
    account_id = Str(event.payload_as_EmailClaimed()->account_id());
  }
}

void FamilyState::Evolve(const schema::EventRecord& event) {
  if (event.payload_type() == schema::Payload::FamilyRegistered) {
    const auto* e = event.payload_as_FamilyRegistered();
    exists = true;
    name = Str(e->name());
    code_hash = Str(e->code_hash());
  } else if (event.payload_type() == schema::Payload::SubscriberCodeChanged) {
    code_hash = Str(event.payload_as_SubscriberCodeChanged()->code_hash());
  }
}

void RegisterAccountAggregates(AggregateRegistry& registry) {
  registry.Register("account", [] { return std::make_unique<AccountState>(); });
  registry.Register("email", [] { return std::make_unique<EmailState>(); });
  registry.Register("family", [] { return std::make_unique<FamilyState>(); });
}

std::vector<std::string> RegisterAccount::Streams() const {
  std::vector<std::string> streams = {AccountStream(account_id), EmailStream(email_key)};
  if (!family_id.empty()) streams.push_back(FamilyStream(family_id));
  return streams;
}

Result<Decision> RegisterAccount::Decide(const States& states, Micros now) const {
  const auto& claim = *states.As<EmailState>(EmailStream(email_key));
  Decision decision;
  if (claim.version() > 0) {
    if (role != schema::Role::Family) {
      return Fail(ErrorCode::kAlreadyExists, "an account already uses this e-mail address");
    }
    // Reveal nothing to the caller; tell the owner.
    decision.appends.push_back({AccountStream(claim.account_id),
                                ExpectedVersion::Any(),
                                {MakePayload(schema::RegistrationRepeatedT{})}});
    decision.appends.push_back(
        Outbox(Mail(mail_id, "already_registered", email, claim.account_id, first_name, nullptr)));
    return decision;
  }
  if (Account(states, account_id).exists) {
    return Fail(ErrorCode::kConflict, "account id already in use; retry");
  }
  if (!family_id.empty() && !states.As<FamilyState>(FamilyStream(family_id))->exists) {
    return Fail(ErrorCode::kNotFound, "no family has this subscriber code");
  }
  schema::AccountRegisteredT registered;
  registered.account_id = account_id;
  registered.email = email;
  registered.first_name = first_name;
  registered.last_name = last_name;
  registered.password_hash = password_hash;
  registered.role = role;
  StreamAppend account{AccountStream(account_id), {}, {MakePayload(std::move(registered))}};
  if (role == schema::Role::Family) {
    schema::ActivationIssuedT issued;
    issued.token_id = activation.id;
    issued.token_hash = activation.hash;
    issued.expires_at_us = activation.expires_at;
    account.events.push_back(MakePayload(std::move(issued)));
  } else {
    account.events.push_back(MakePayload(schema::AccountActivatedT{}));
  }
  if (!family_id.empty()) {
    schema::SubscribedT subscribed;
    subscribed.family_id = family_id;
    account.events.push_back(MakePayload(std::move(subscribed)));
  }
  decision.appends.push_back(std::move(account));
  schema::EmailClaimedT claimed;
  claimed.account_id = account_id;
  decision.appends.push_back({EmailStream(email_key), {}, {MakePayload(std::move(claimed))}});
  if (role == schema::Role::Family && mail_activation) {
    decision.appends.push_back(
        Outbox(Mail(mail_id, "activation", email, account_id, first_name, &activation)));
  }
  return decision;
}

Result<Decision> ActivateAccount::Decide(const States& states, Micros now) const {
  const AccountState& account = Account(states, account_id);
  if (account.active && account.used_hashes.contains(token_hash)) {
    return Fail(ErrorCode::kGone, "this activation link was already used; you can log in");
  }
  if (auto ok = CheckLink(account, account.activation_hash, account.activation_expires, token_hash,
                          now, "activation");
      !ok) {
    return std::unexpected(ok.error());
  }
  schema::AccountActivatedT activated;
  activated.token_hash = token_hash;
  Decision decision;
  decision.appends.push_back({AccountStream(account_id), {}, {MakePayload(std::move(activated))}});
  return decision;
}

Result<Decision> ResendActivation::Decide(const States& states, Micros now) const {
  const AccountState& account = Account(states, account_id);
  Decision decision;
  if (!account.exists || account.active) return decision;
  schema::ActivationIssuedT issued;
  issued.token_id = activation.id;
  issued.token_hash = activation.hash;
  issued.expires_at_us = activation.expires_at;
  decision.appends.push_back({AccountStream(account_id), {}, {MakePayload(std::move(issued))}});
  decision.appends.push_back(Outbox(
      Mail(mail_id, "activation", account.email, account_id, account.first_name, &activation)));
  return decision;
}

Result<Decision> RecordLogin::Decide(const States& states, Micros now) const {
  const AccountState& account = Account(states, account_id);
  Decision decision;
  LoginReply reply;
  if (!account.exists) return Fail(ErrorCode::kNotFound, "no such account");
  if (account.LockedAt(now)) {
    reply.code = ErrorCode::kLocked;
    reply.message = account.locked_by_agent
                        ? "this account is locked; please contact the town hall"
                        : "this account is locked for a while after too many failed logins";
    decision.reply = reply;
    return decision;
  }
  int failures = account.CountedFailures(now);
  Micros wait = policy.Backoff(failures);
  if (wait > 0 && now < account.last_failure + wait) {
    reply.code = ErrorCode::kTooManyRequests;
    reply.message = "too many failed logins; retry in " +
                    std::to_string((account.last_failure + wait - now + 999999) / 1000000) + " s";
    decision.reply = reply;
    return decision;
  }
  if (!password_ok) {
    schema::LoginFailedT failed;
    failed.client = client;
    StreamAppend append{AccountStream(account_id), {}, {MakePayload(std::move(failed))}};
    if (failures + 1 >= policy.lock_after_failures) {
      schema::AccountLockedT locked;
      locked.until_us = now + policy.lock_duration;
      locked.by = "system";
      locked.reason = "too many failed logins";
      append.events.push_back(MakePayload(std::move(locked)));
    }
    decision.appends.push_back(std::move(append));
    reply.code = ErrorCode::kUnauthenticated;
    reply.message = "wrong e-mail or password";
    decision.reply = reply;
    return decision;
  }
  if (!account.active) {
    reply.code = ErrorCode::kForbidden;
    reply.message = "this account is not activated yet; use the link in the e-mail we sent";
    decision.reply = reply;
    return decision;
  }
  schema::SessionStartedT started;
  started.session_hash = session_hash;
  started.expires_at_us = now + session_lifetime;
  started.client = client;
  decision.appends.push_back({AccountStream(account_id), {}, {MakePayload(std::move(started))}});
  reply.ok = true;
  decision.reply = reply;
  return decision;
}

Result<Decision> EndSession::Decide(const States& states, Micros now) const {
  const AccountState& account = Account(states, account_id);
  Decision decision;
  if (!account.sessions.contains(session_hash)) return decision;
  schema::SessionEndedT ended;
  ended.session_hash = session_hash;
  ended.reason = "logout";
  decision.appends.push_back({AccountStream(account_id), {}, {MakePayload(std::move(ended))}});
  return decision;
}

Result<Decision> LockAccount::Decide(const States& states, Micros now) const {
  const AccountState& account = Account(states, account_id);
  if (!account.exists) return Fail(ErrorCode::kNotFound, "no such account");
  Decision decision;
  if (account.locked_by_agent) return decision;
  schema::AccountLockedT locked;
  locked.until_us = 0;
  locked.by = actor;
  locked.reason = reason;
  schema::SessionEndedT ended;
  ended.reason = "locked";
  decision.appends.push_back({AccountStream(account_id),
                              {},
                              {MakePayload(std::move(locked)), MakePayload(std::move(ended))}});
  return decision;
}

Result<Decision> UnlockAccount::Decide(const States& states, Micros now) const {
  const AccountState& account = Account(states, account_id);
  if (!account.exists) return Fail(ErrorCode::kNotFound, "no such account");
  Decision decision;
  if (!account.LockedAt(now) && account.failures == 0) return decision;
  schema::AccountUnlockedT unlocked;
  unlocked.by = actor;
  decision.appends.push_back({AccountStream(account_id), {}, {MakePayload(std::move(unlocked))}});
  return decision;
}

Result<Decision> RequestPasswordReset::Decide(const States& states, Micros now) const {
  const AccountState& account = Account(states, account_id);
  Decision decision;
  if (!account.exists || !account.active) return decision;
  schema::PasswordResetIssuedT issued;
  issued.token_id = reset.id;
  issued.token_hash = reset.hash;
  issued.expires_at_us = reset.expires_at;
  decision.appends.push_back({AccountStream(account_id), {}, {MakePayload(std::move(issued))}});
  decision.appends.push_back(Outbox(
      Mail(mail_id, "password_reset", account.email, account_id, account.first_name, &reset)));
  return decision;
}

Result<Decision> ResetPassword::Decide(const States& states, Micros now) const {
  const AccountState& account = Account(states, account_id);
  if (auto ok =
          CheckLink(account, account.reset_hash, account.reset_expires, token_hash, now, "reset");
      !ok) {
    return std::unexpected(ok.error());
  }
  schema::PasswordChangedT changed;
  changed.password_hash = password_hash;
  changed.token_hash = token_hash;
  schema::SessionEndedT ended;
  ended.reason = "password_reset";
  Decision decision;
  decision.appends.push_back({AccountStream(account_id),
                              {},
                              {MakePayload(std::move(changed)), MakePayload(std::move(ended))}});
  return decision;
}

Result<Decision> Subscribe::Decide(const States& states, Micros now) const {
  const AccountState& account = Account(states, account_id);
  if (!account.exists) return Fail(ErrorCode::kNotFound, "no such account");
  if (!states.As<FamilyState>(FamilyStream(family_id))->exists) {
    return Fail(ErrorCode::kNotFound, "no such family");
  }
  Decision decision;
  if (account.subscriptions.contains(family_id)) return decision;
  schema::SubscribedT subscribed;
  subscribed.family_id = family_id;
  decision.appends.push_back({AccountStream(account_id), {}, {MakePayload(std::move(subscribed))}});
  return decision;
}

Result<Decision> Unsubscribe::Decide(const States& states, Micros now) const {
  const AccountState& account = Account(states, account_id);
  if (!account.subscriptions.contains(family_id)) {
    return Fail(ErrorCode::kNotFound, "you are not subscribed to this family");
  }
  schema::UnsubscribedT unsubscribed;
  unsubscribed.family_id = family_id;
  Decision decision;
  decision.appends.push_back(
      {AccountStream(account_id), {}, {MakePayload(std::move(unsubscribed))}});
  return decision;
}

Result<Decision> RegisterFamily::Decide(const States& states, Micros now) const {
  if (states.Get(FamilyStream(family_id)).version() > 0) {
    return Fail(ErrorCode::kConflict, "family id already in use; retry");
  }
  if (states.Get(CodeStream(code_hash)).version() > 0) {
    return Fail(ErrorCode::kConflict, "subscriber code collision; retry");
  }
  schema::FamilyRegisteredT registered;
  registered.family_id = family_id;
  registered.name = name;
  registered.code_hash = code_hash;
  schema::SubscriberCodeClaimedT claimed;
  claimed.family_id = family_id;
  Decision decision;
  decision.appends.push_back({FamilyStream(family_id), {}, {MakePayload(std::move(registered))}});
  decision.appends.push_back({CodeStream(code_hash), {}, {MakePayload(std::move(claimed))}});
  return decision;
}

Result<Decision> RegenerateSubscriberCode::Decide(const States& states, Micros now) const {
  if (!states.As<FamilyState>(FamilyStream(family_id))->exists) {
    return Fail(ErrorCode::kNotFound, "no such family");
  }
  if (states.Get(CodeStream(code_hash)).version() > 0) {
    return Fail(ErrorCode::kConflict, "subscriber code collision; retry");
  }
  schema::SubscriberCodeChangedT changed;
  changed.code_hash = code_hash;
  schema::SubscriberCodeClaimedT claimed;
  claimed.family_id = family_id;
  Decision decision;
  decision.appends.push_back({FamilyStream(family_id), {}, {MakePayload(std::move(changed))}});
  decision.appends.push_back({CodeStream(code_hash), {}, {MakePayload(std::move(claimed))}});
  return decision;
}

Result<Decision> RecordMailDelivered::Decide(const States& states, Micros now) const {
  schema::MailDeliveredT delivered;
  delivered.mail_id = mail_id;
  delivered.via = via;
  Decision decision;
  decision.appends.push_back(
      {std::string(kOutboxStream), ExpectedVersion::Any(), {MakePayload(std::move(delivered))}});
  return decision;
}

}  // namespace portail::commands
