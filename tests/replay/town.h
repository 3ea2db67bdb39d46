// A small town's log for the replay tests: accounts, sessions, families, subscriptions and mails.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "events/event_store.h"
#include "projections/accounts_view.h"
#include "projections/event_counts.h"
#include "projections/families_view.h"
#include "projections/outbox_view.h"

namespace portail::testing {

template <class T>
schema::PayloadUnion Payload(T event) {
  schema::PayloadUnion payload;
  payload.Set(std::move(event));
  return payload;
}

// The four projections the server registers (server/app.cc), under their view names.
struct ServerViews {
  projections::EventCounts event_counts;
  projections::AccountsView accounts;
  projections::FamiliesView families;
  projections::OutboxView outbox;

  std::vector<events::Projection*> All() { return {&event_counts, &accounts, &families, &outbox}; }
};

// January 1st, 2025, 09:00 UTC.
inline constexpr int64_t kTownStartUs = 1735722000LL * 1'000'000;
inline constexpr int64_t kDayUs = 86'400LL * 1'000'000;

// Appends `families` families, then `accounts` accounts shaped as the deciders do
// (commands/accounts.cc): registration with its activation mail, delivery, activation, a
// session, a subscription, some failed logins and code changes; one day apart, from
// kTownStartUs. About 10 events per account. Returns false when an append fails.
inline bool PopulateTown(events::EventStore& store, int families, int accounts) {
  int64_t at = kTownStartUs;
  auto append = [&](std::vector<events::StreamAppend> streams) {
    events::AppendRequest request;
    request.actor = "town";
    request.recorded_at_us = at;
    request.streams = std::move(streams);
    return store.Append(request).has_value();
  };
  for (int f = 0; f < families; ++f) {
    std::string id = "f" + std::to_string(f);
    schema::FamilyRegisteredT registered;
    registered.family_id = id;
    registered.name = "Famille " + std::to_string(f);
    registered.code_hash = "code-" + id;
    schema::SubscriberCodeClaimedT claimed;
    claimed.family_id = id;
    if (!append(
            {{"family-" + id, events::ExpectedVersion::NoStream(), {Payload(registered)}},
             {"subcode-code-" + id, events::ExpectedVersion::NoStream(), {Payload(claimed)}}})) {
      return false;
    }
  }
  for (int a = 0; a < accounts; ++a, at += kDayUs) {
    std::string id = "a" + std::to_string(a);
    std::string stream = "account-" + id;
    std::string email = "parent" + std::to_string(a) + "@town.test";
    schema::AccountRegisteredT registered;
    registered.account_id = id;
    registered.email = email;
    registered.first_name = "Parent";
    registered.last_name = std::to_string(a);
    registered.password_hash = "$argon2id$fake" + id;
    registered.role = schema::Role::Family;
    schema::ActivationIssuedT issued;
    issued.token_id = "tok-" + id;
    issued.token_hash = "hash-tok-" + id;
    issued.expires_at_us = at + 2 * kDayUs;
    schema::EmailClaimedT claimed;
    claimed.account_id = id;
    schema::MailQueuedT mail;
    mail.mail_id = "mail-" + id;
    mail.kind = "activation";
    mail.to = email;
    mail.account_id = id;
    mail.first_name = "Parent";
    mail.token_id = issued.token_id;
    mail.expires_at_us = issued.expires_at_us;
    if (!append(
            {{stream, events::ExpectedVersion::NoStream(), {Payload(registered), Payload(issued)}},
             {"email-" + email, events::ExpectedVersion::NoStream(), {Payload(claimed)}},
             {"outbox", {}, {Payload(mail)}}})) {
      return false;
    }
    if (a % 7 != 3) {  // some mails stay in the outbox
      schema::MailDeliveredT delivered;
      delivered.mail_id = mail.mail_id;
      delivered.via = "file";
      if (!append({{"outbox", {}, {Payload(delivered)}}})) return false;
    }
    schema::AccountActivatedT activated;
    activated.token_hash = issued.token_hash;
    schema::SessionStartedT session;
    session.session_hash = "session-" + id;
    session.expires_at_us = at + kDayUs / 2;
    session.client = "127.0.0.1";
    std::vector<schema::PayloadUnion> events = {Payload(activated), Payload(session)};
    if (families > 0) {
      schema::SubscribedT subscribed;
      subscribed.family_id = "f" + std::to_string(a % families);
      events.push_back(Payload(subscribed));
    }
    if (a % 5 == 0) {
      schema::LoginFailedT failed;
      failed.client = "10.0.0.1";
      events.push_back(Payload(failed));
      events.push_back(Payload(failed));
    }
    if (!append({{stream, {}, std::move(events)}})) return false;
    if (families > 0 && a % 6 == 0) {
      std::string family = "f" + std::to_string(a % families);
      schema::SubscriberCodeChangedT changed;
      changed.code_hash = "code-" + family + "-" + std::to_string(a);
      schema::SubscriberCodeClaimedT code_claimed;
      code_claimed.family_id = family;
      if (!append({{"family-" + family, {}, {Payload(changed)}},
                   {"subcode-" + changed.code_hash,
                    events::ExpectedVersion::NoStream(),
                    {Payload(code_claimed)}}})) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace portail::testing
