// A small town's log for the replay tests: accounts, sessions, families, subscriptions and mails,
// and one family's file (dossier) written through the real deciders and command bus.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "commands/accounts.h"
#include "commands/command_bus.h"
#include "commands/dossier.h"
#include "events/event_store.h"
#include "projections/registry.h"

namespace portail::testing {

template <class T>
schema::PayloadUnion Payload(T event) {
  schema::PayloadUnion payload;
  payload.Set(std::move(event));
  return payload;
}

// The projections the server registers (projections/registry.h), under their view names.
struct ServerViews {
  ServerViews() {
    for (const auto& name : projections::ViewNames()) owned.push_back(projections::MakeView(name));
  }
  std::vector<events::Projection*> All() {
    std::vector<events::Projection*> all;
    for (auto& view : owned) all.push_back(view.get());
    return all;
  }
  // The view named `name`, which must be one of projections::ViewNames().
  events::Projection& Get(std::string_view name) {
    for (auto& view : owned) {
      if (view->name() == name) return *view;
    }
    throw std::invalid_argument("no view " + std::string(name));
  }

  std::vector<std::unique_ptr<events::Projection>> owned;
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

// The Dupont family's file (PopulateDossier): ids and the times of its steps.
inline constexpr char kDossierFamily[] = "dupont";
inline constexpr char kGuardian[] = "g-alice";
inline constexpr char kChildLeo[] = "c-leo";
inline constexpr char kChildMia[] = "c-mia";
inline constexpr char kAdultGrandma[] = "a-jeanne";
inline constexpr char kHealthChange[] = "chg-health";  // Léo's allergies, approved
inline constexpr char kSchoolChange[] = "chg-school";  // Mia's school, rejected
inline constexpr char kAdultChange[] = "chg-adult";    // Jeanne, to pick Léo up, approved
inline constexpr char kLeoAllergiesBefore[] = "arachides";
inline constexpr char kLeoAllergiesAfter[] = "arachides, kiwi";
inline constexpr char kIban[] = "FR7630006000011234567890189";
// Day 60 of the town (2025-03-02), 09:00 UTC: the family, its guardian and children.
inline constexpr int64_t kDossierStartUs = kTownStartUs + 60 * kDayUs;
// Day 61: the family proposes Léo's new allergies and Mia's school.
inline constexpr int64_t kHealthProposedUs = kDossierStartUs + kDayUs;
// Day 62: an agent approves the allergies and rejects the school.
inline constexpr int64_t kHealthApprovedUs = kDossierStartUs + 2 * kDayUs;
// Day 63: the family proposes a grandmother as authorised adult for Léo; approved an hour later.
inline constexpr int64_t kAdultProposedUs = kDossierStartUs + 3 * kDayUs;

// Writes the Dupont family's file through the real deciders and command bus (a manual clock
// at the times above): the family registered, a guardian with an address and bank details, two
// children (Léo with health values), then the changes above. 20 events. Returns false when a
// command fails.
inline bool PopulateDossier(events::EventStore& store) {
  commands::AggregateRegistry registry;
  commands::RegisterAccountAggregates(registry);
  commands::RegisterDossierAggregates(registry);
  commands::ManualClock clock(kDossierStartUs);
  commands::CommandBus bus(&store, &registry, &clock);
  bool ok = true;
  auto run = [&](std::unique_ptr<commands::Command> command, std::string actor) {
    command->actor = std::move(actor);
    auto done = bus.Execute(std::move(command));
    ok = ok && done.has_value();
  };
  auto agent = [](auto command) {
    command->family_id = kDossierFamily;
    command->by_name = "Agent Martin";
    return command;
  };
  auto family = [](auto command) {
    command->family_id = kDossierFamily;
    command->by_name = "Alice Dupont";
    return command;
  };

  auto registered = std::make_unique<commands::RegisterFamily>();
  registered->family_id = kDossierFamily;
  registered->name = "Famille Dupont";
  registered->code_hash = "code-dupont";
  run(std::move(registered), "agent-1");

  auto guardian = agent(std::make_unique<commands::AddMember>());
  guardian->member_id = kGuardian;
  guardian->kind = schema::dossier::Kind::kGuardian;
  guardian->sections["basic"] = {{"first_name", "Alice"}, {"last_name", "Dupont"}};
  guardian->sections["address"] = {{"city", "Paris"}, {"postal_code", "75011"}};
  guardian->sections["bank"] = {{"account_holder", "Alice Dupont"}, {"iban", kIban}};
  run(std::move(guardian), "agent-1");

  auto leo = agent(std::make_unique<commands::AddMember>());
  leo->member_id = kChildLeo;
  leo->kind = schema::dossier::Kind::kChild;
  leo->sections["general"] = {{"first_name", "Léo"}, {"last_name", "Dupont"}};
  leo->sections["health"] = {{"allergies", kLeoAllergiesBefore}, {"pai", "true"}};
  run(std::move(leo), "agent-1");

  auto mia = agent(std::make_unique<commands::AddMember>());
  mia->member_id = kChildMia;
  mia->kind = schema::dossier::Kind::kChild;
  mia->sections["general"] = {{"first_name", "Mia"}, {"last_name", "Dupont"}};
  run(std::move(mia), "agent-1");

  clock.Set(kHealthProposedUs);
  auto health = family(std::make_unique<commands::ProposeChange>());
  health->change_id = kHealthChange;
  health->member_id = kChildLeo;
  health->sections["health"] = {{"allergies", kLeoAllergiesAfter}};
  run(std::move(health), "account-a0");

  auto school = family(std::make_unique<commands::ProposeChange>());
  school->change_id = kSchoolChange;
  school->member_id = kChildMia;
  school->sections["general"] = {{"school", "École Voltaire"}};
  run(std::move(school), "account-a0");

  clock.Set(kHealthApprovedUs);
  auto approve = agent(std::make_unique<commands::DecideChange>());
  approve->change_id = kHealthChange;
  run(std::move(approve), "agent-1");

  auto reject = agent(std::make_unique<commands::DecideChange>());
  reject->change_id = kSchoolChange;
  reject->approve = false;
  reject->reason = "Mia n'est pas inscrite dans cette école";
  run(std::move(reject), "agent-1");

  clock.Set(kAdultProposedUs);
  auto adult = family(std::make_unique<commands::ProposeChange>());
  adult->change_id = kAdultChange;
  adult->kind = schema::ChangeKind::AddMember;
  adult->member_id = kAdultGrandma;
  adult->member_kind = schema::dossier::Kind::kAuthorisedAdult;
  adult->child_id = kChildLeo;
  adult->sections["contact"] = {{"first_name", "Jeanne"},
                                {"last_name", "Dupont"},
                                {"link", "grand-mère"},
                                {"mobile_phone", "0612345678"}};
  run(std::move(adult), "account-a0");

  clock.Set(kAdultProposedUs + kDayUs / 24);
  auto accept = agent(std::make_unique<commands::DecideChange>());
  accept->change_id = kAdultChange;
  run(std::move(accept), "agent-1");

  bus.Stop();
  return ok;
}

}  // namespace portail::testing
