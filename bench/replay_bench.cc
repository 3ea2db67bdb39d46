// Benchmarks rebuilding views from the whole log (RebuildViews) against a raw RocksDB scan of it.
#include <rocksdb/db.h>

#include <CLI/CLI.hpp>
#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "bench/raw_rocksdb.h"
#include "commands/dossier.h"
#include "commands/planning.h"
#include "events/event_store.h"
#include "events/view_digest.h"
#include "events/view_rebuild.h"
#include "projections/accounts_view.h"
#include "projections/event_counts.h"
#include "projections/families_view.h"
#include "projections/outbox_view.h"
#include "projections/registry.h"

namespace portail::bench {
namespace {

struct Config {
  std::filesystem::path dir;
  uint64_t events = 1'000'000;
  uint64_t families = 1000;
  uint64_t requests_per_batch = 100;
  int rounds = 3;
};

[[noreturn]] void Die(const std::string& what) { bench::Die("replay_bench", what); }

// Every projection the server registers (server/app.cc: projections::ViewNames()).
struct ServerViews {
  std::vector<std::unique_ptr<events::Projection>> views;
  ServerViews() {
    for (const auto& name : projections::ViewNames()) views.push_back(projections::MakeView(name));
  }
  std::vector<events::Projection*> All() {
    std::vector<events::Projection*> all;
    for (auto& v : views) all.push_back(v.get());
    return all;
  }
};

std::filesystem::path LogDir(const Config& config) { return config.dir / "log"; }

std::unique_ptr<events::EventStore> OpenStore(const Config& config, ServerViews& views, bool sync) {
  events::StoreOptions options;
  options.path = LogDir(config).string();
  options.sync = sync;
  options.projections = views.All();
  auto store = events::EventStore::Open(options);
  if (!store) Die("cannot open the store: " + store.error().message);
  return std::move(*store);
}

template <class T>
schema::PayloadUnion Payload(T event) {
  schema::PayloadUnion payload;
  payload.Set(std::move(event));
  return payload;
}

// One account's life, as the deciders shape it (commands/accounts.cc), in three requests and 8
// events: registration (account, e-mail claim, activation mail), delivery, then activation with
// a session and a subscription to `family_id`.
void AccountRequests(uint64_t n, const std::string& family_id, int64_t at,
                     std::vector<events::AppendRequest>& out) {
  std::string id = "a" + std::to_string(n);
  std::string email = "parent" + std::to_string(n) + "@bench.test";
  auto request = [&](std::vector<events::StreamAppend> streams) {
    events::AppendRequest r;
    r.actor = "bench";
    r.recorded_at_us = at;
    r.streams = std::move(streams);
    out.push_back(std::move(r));
  };
  schema::AccountRegisteredT registered;
  registered.account_id = id;
  registered.email = email;
  registered.first_name = "Parent";
  registered.last_name = std::to_string(n);
  registered.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$bench$" + id;
  schema::ActivationIssuedT issued;
  issued.token_id = "tok-" + id;
  issued.token_hash = "hash-tok-" + id;
  issued.expires_at_us = at + 48LL * 3600 * 1'000'000;
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
  request({{"account-" + id, {}, {Payload(registered), Payload(issued)}},
           {"email-" + email, {}, {Payload(claimed)}},
           {"outbox", {}, {Payload(mail)}}});
  schema::MailDeliveredT delivered;
  delivered.mail_id = mail.mail_id;
  delivered.via = "file";
  request({{"outbox", {}, {Payload(delivered)}}});
  schema::AccountActivatedT activated;
  activated.token_hash = issued.token_hash;
  schema::SessionStartedT session;
  session.session_hash = "session-" + id;
  session.expires_at_us = at + 12LL * 3600 * 1'000'000;
  session.client = "127.0.0.1";
  schema::SubscribedT subscribed;
  subscribed.family_id = family_id;
  request({{"account-" + id, {}, {Payload(activated), Payload(session), Payload(subscribed)}}});
}

// ---- The town: four activities, each family's file, enrolments and requests ----

constexpr int kAccountsPerFamily = 2;     // the two guardians
constexpr uint8_t kSchoolDays = 0b11011;  // Mon, Tue, Thu, Fri (bit 0 = Monday)
constexpr uint8_t kWednesday = 0b00100;
const std::array<std::string, 4> kActivityIds = {"canteen", "morning", "evening", "wednesday"};

int DaysSinceEpoch(int y, unsigned m, unsigned d) {
  return static_cast<int>(
      std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(m) / std::chrono::day(d))
          .time_since_epoch()
          .count());
}

// School year 2026-09-01 (a Tuesday) to 2027-07-03; weeks counted from Monday 2026-08-31.
const int kYearFrom = DaysSinceEpoch(2026, 9, 1);
const int kYearTo = DaysSinceEpoch(2027, 7, 3);
const int kFirstMonday = DaysSinceEpoch(2026, 8, 31);
constexpr int kRequestWeeks = 32;  // weeks 1..32 (a Wednesday request spans 4 of them)

int ChildrenOf(uint64_t family) { return family % 2 == 0 ? 2 : 3; }
std::string FamilyId(uint64_t f) { return "f" + std::to_string(f); }
std::string GuardianId(uint64_t f, int k) {
  return "m" + std::to_string(f) + "g" + std::to_string(k);
}
std::string ChildId(uint64_t f, int k) { return "m" + std::to_string(f) + "c" + std::to_string(k); }

std::vector<std::unique_ptr<schema::FieldValueT>> Fields(
    std::initializer_list<std::pair<const char*, std::string>> values) {
  std::vector<std::unique_ptr<schema::FieldValueT>> out;
  for (const auto& [name, value] : values) {
    auto field = std::make_unique<schema::FieldValueT>();
    field->name = name;
    field->value = value;
    out.push_back(std::move(field));
  }
  return out;
}

schema::PayloadUnion SectionUpdated(const std::string& family, const std::string& member,
                                    const std::string& section,
                                    std::vector<std::unique_ptr<schema::FieldValueT>> fields,
                                    const std::string& change_id, const std::string& by) {
  schema::SectionUpdatedT updated;
  updated.family_id = family;
  updated.member_id = member;
  updated.section = section;
  updated.fields = std::move(fields);
  updated.change_id = change_id;
  updated.by_name = by;
  return Payload(std::move(updated));
}

schema::PayloadUnion MemberAdded(const std::string& family, const std::string& member,
                                 schema::MemberKind kind, const std::string& by) {
  schema::MemberAddedT added;
  added.family_id = family;
  added.member_id = member;
  added.kind = kind;
  added.by_name = by;
  return Payload(std::move(added));
}

events::AppendRequest Request(const std::string& actor, int64_t at,
                              std::vector<events::StreamAppend> streams) {
  events::AppendRequest r;
  r.actor = actor;
  r.recorded_at_us = at;
  r.streams = std::move(streams);
  return r;
}

// The four activities of the town, as DefineActivity writes them (one event each).
void ActivityRequests(int64_t at, std::vector<events::AppendRequest>& out) {
  const std::array<std::pair<const char*, schema::ActivityKind>, 4> kinds = {{
      {"Cantine", schema::ActivityKind::Canteen},
      {"Garderie du matin", schema::ActivityKind::MorningCare},
      {"Garderie du soir", schema::ActivityKind::EveningCare},
      {"Centre du mercredi", schema::ActivityKind::WednesdayCentre},
  }};
  for (size_t i = 0; i < kActivityIds.size(); ++i) {
    schema::ActivityDefinedT defined;
    defined.activity_id = kActivityIds[i];
    defined.name = kinds[i].first;
    defined.kind = kinds[i].second;
    defined.weekdays = i == 3 ? kWednesday : kSchoolDays;
    auto period = std::make_unique<schema::DayRangeT>();
    period->from = kYearFrom;
    period->to = kYearTo;
    defined.periods.push_back(std::move(period));
    // Toussaint, Christmas, winter and spring holidays (first days), public holidays.
    for (int d :
         {DaysSinceEpoch(2026, 10, 19), DaysSinceEpoch(2026, 11, 11), DaysSinceEpoch(2026, 12, 21),
          DaysSinceEpoch(2027, 2, 8), DaysSinceEpoch(2027, 4, 5), DaysSinceEpoch(2027, 5, 6)}) {
      defined.closed_days.push_back(d);
    }
    defined.capacity = 2500;
    defined.reservation_notice = std::make_unique<schema::NoticeT>();
    defined.reservation_notice->kind = schema::NoticeKind::WorkingDaysBefore;
    defined.reservation_notice->days = 2;
    defined.absence_notice = std::make_unique<schema::NoticeT>();
    defined.absence_notice->kind = schema::NoticeKind::DaysBeforeAt;
    defined.absence_notice->days = 1;
    defined.absence_notice->at_minutes = 10 * 60;
    defined.mode = schema::DecisionMode::Agent;
    out.push_back(Request(
        "agent", at,
        {{commands::ActivityStream(defined.activity_id), {}, {Payload(std::move(defined))}}}));
  }
}

// A family's file as an agent creates it (AppendMemberEvents: MemberAdded, then one
// SectionUpdated per section), two changes proposed by the family, the first approved (its
// SectionUpdated carrying the change id), the second left pending on even families; then the
// enrolment of each child in each activity (EnrolChild: one ChildEnrolled on child-<id>).
void FamilyFileRequests(uint64_t f, int64_t at, std::vector<events::AppendRequest>& out) {
  std::string family = FamilyId(f);
  std::string stream = commands::DossierStream(family);
  std::string agent = "Agent Mairie";
  std::string last = "Famille" + std::to_string(f);
  for (int g = 0; g < 2; ++g) {
    std::string id = GuardianId(f, g);
    std::vector<schema::PayloadUnion> events;
    events.push_back(MemberAdded(family, id, schema::MemberKind::Guardian, agent));
    events.push_back(SectionUpdated(
        family, id, "basic",
        Fields({{"civility", g == 0 ? "Mme" : "M"},
                {"last_name", last},
                {"first_name", g == 0 ? "Claire" : "Marc"},
                {"mobile_phone", "06" + std::to_string(10'000'000 + f * 2 + g)},
                {"email", "parent" + std::to_string(f * kAccountsPerFamily + g) + "@bench.test"}}),
        "", agent));
    events.push_back(
        SectionUpdated(family, id, "address",
                       Fields({{"street", std::to_string(f % 90 + 1) + " rue des Écoles"},
                               {"postal_code", "69100"},
                               {"city", "Villeurbanne"}}),
                       "", agent));
    out.push_back(Request("agent", at, {{stream, {}, std::move(events)}}));
  }
  for (int c = 0; c < ChildrenOf(f); ++c) {
    std::string id = ChildId(f, c);
    std::vector<schema::PayloadUnion> events;
    events.push_back(MemberAdded(family, id, schema::MemberKind::Child, agent));
    events.push_back(SectionUpdated(
        family, id, "general",
        Fields({{"last_name", last},
                {"first_name", std::array{"Léa", "Hugo", "Inès"}[c]},
                {"birth_date", std::to_string(2016 + c) + "-0" + std::to_string(c + 3) + "-1" +
                                   std::to_string(f % 10)},
                {"sex", c == 1 ? "M" : "F"},
                {"school", "École Jean Jaurès"},
                {"class", std::array{"CM1", "CE1", "GS"}[c]},
                {"colour", std::array{"#e6194b", "#3cb44b", "#4363d8"}[c]}}),
        "", agent));
    events.push_back(SectionUpdated(family, id, "authorisations",
                                    Fields({{"image_rights", "true"}, {"outings", "true"}}), "",
                                    agent));
    out.push_back(Request("agent", at, {{stream, {}, std::move(events)}}));
  }
  // Two proposals by the family: a new address (approved), a child's allergies.
  std::string parent = "Claire " + last;
  for (int k = 0; k < 2; ++k) {
    schema::ChangeProposedT proposed;
    proposed.family_id = family;
    proposed.change_id = "ch" + std::to_string(f) + "-" + std::to_string(k);
    proposed.kind = schema::ChangeKind::Update;
    proposed.member_id = k == 0 ? GuardianId(f, 0) : ChildId(f, 0);
    proposed.member_kind = k == 0 ? schema::MemberKind::Guardian : schema::MemberKind::Child;
    auto section = std::make_unique<schema::SectionValuesT>();
    section->section = k == 0 ? "address" : "health";
    section->fields = k == 0 ? Fields({{"street", "2 place de la Mairie"}})
                             : Fields({{"allergies", "arachide"}, {"pai", "true"}});
    proposed.sections.push_back(std::move(section));
    proposed.by_name = parent;
    out.push_back(Request(GuardianId(f, 0), at, {{stream, {}, {Payload(std::move(proposed))}}}));
  }
  for (int k = 0; k < (f % 2 == 0 ? 1 : 2); ++k) {
    std::string change = "ch" + std::to_string(f) + "-" + std::to_string(k);
    schema::ChangeApprovedT approved;
    approved.family_id = family;
    approved.change_id = change;
    approved.by_name = agent;
    std::vector<schema::PayloadUnion> events;
    events.push_back(Payload(std::move(approved)));
    events.push_back(
        k == 0
            ? SectionUpdated(family, GuardianId(f, 0), "address",
                             Fields({{"street", "2 place de la Mairie"}}), change, agent)
            : SectionUpdated(family, ChildId(f, 0), "health",
                             Fields({{"allergies", "arachide"}, {"pai", "true"}}), change, agent));
    out.push_back(Request("agent", at, {{stream, {}, std::move(events)}}));
  }
  for (int c = 0; c < ChildrenOf(f); ++c) {
    for (size_t a = 0; a < kActivityIds.size(); ++a) {
      schema::ChildEnrolledT enrolled;
      enrolled.enrolment_id = "e" + ChildId(f, c) + "-" + kActivityIds[a];
      enrolled.family_id = family;
      enrolled.child_id = ChildId(f, c);
      enrolled.activity_id = kActivityIds[a];
      enrolled.from = kYearFrom;
      enrolled.to = kYearTo;
      enrolled.weekdays = a == 3 ? kWednesday : kSchoolDays;
      enrolled.by_name = agent;
      out.push_back(Request(
          "agent", at,
          {{commands::ChildStream(enrolled.child_id), {}, {Payload(std::move(enrolled))}}}));
    }
  }
}

struct Line {
  std::string child_id;
  std::string activity_id;
  int day;
};

// Family f's r-th reservation request, as SubmitRequest writes it in agent mode: the
// RequestSubmitted on request-<id> and one BookingChanged (ReservationRequested) per taken day
// on slot-<activity>-<day>, in one atomic append. Three in four are a week of canteen and a
// care (4 days), one in four a month of Wednesdays, each for every child. Two in three are then
// decided by an agent (one BookingChanged per day, one day in five requests refused); one in six
// gets a message from the town and the family's reply. Returns the events appended.
uint64_t ReservationRequests(uint64_t f, uint64_t r, int64_t at,
                             std::vector<events::AppendRequest>& out) {
  std::string family = FamilyId(f);
  std::string request_id = "r" + std::to_string(f) + "-" + std::to_string(r);
  std::string parent = "Claire Famille" + std::to_string(f);
  int week = 1 + static_cast<int>((f + 3 * r) % kRequestWeeks);
  bool wednesdays = r % 4 == 3;
  std::vector<std::string> activities =
      wednesdays ? std::vector<std::string>{kActivityIds[3]}
                 : std::vector<std::string>{kActivityIds[0], kActivityIds[r % 2 == 0 ? 2 : 1]};
  std::vector<int> days;
  for (int i = 0; i < 4; ++i) {
    days.push_back(wednesdays ? kFirstMonday + 7 * (week + i) + 2
                              : kFirstMonday + 7 * week + std::array{0, 1, 3, 4}[i]);
  }
  std::vector<Line> lines;
  for (int c = 0; c < ChildrenOf(f); ++c) {
    for (const auto& a : activities) {
      for (int d : days) lines.push_back({ChildId(f, c), a, d});
    }
  }
  schema::RequestSubmittedT submitted;
  submitted.request_id = request_id;
  submitted.family_id = family;
  submitted.kind = schema::RequestKind::Reservation;
  submitted.from = days.front();
  submitted.to = days.back();
  submitted.weekdays = wednesdays ? kWednesday : kSchoolDays;
  for (int c = 0; c < ChildrenOf(f); ++c) submitted.children.push_back(ChildId(f, c));
  submitted.activities = activities;
  for (const auto& l : lines) {
    auto taken = std::make_unique<schema::BookingLineT>();
    taken->child_id = l.child_id;
    taken->activity_id = l.activity_id;
    taken->day = l.day;
    submitted.taken.push_back(std::move(taken));
  }
  submitted.by_name = parent;
  // The slot streams of a decision, in stream order as SlotChanges::AppendTo writes them.
  auto booking_appends = [&](schema::BookingState state, schema::BookingCause cause,
                             const std::string& by, size_t refused) {
    std::map<std::string, std::vector<schema::PayloadUnion>> slots;
    for (size_t i = 0; i < lines.size(); ++i) {
      const auto& l = lines[i];
      schema::BookingChangedT changed;
      changed.activity_id = l.activity_id;
      changed.day = l.day;
      changed.child_id = l.child_id;
      changed.family_id = family;
      changed.request_id = request_id;
      changed.state = i == refused ? schema::BookingState::Refused : state;
      changed.cause = cause;
      if (i == refused) changed.reason = "Plus de place ce jour-là";
      changed.by_name = by;
      slots[commands::SlotStream(l.activity_id, commands::DayOf(l.day))].push_back(
          Payload(std::move(changed)));
    }
    std::vector<events::StreamAppend> appends;
    for (auto& [stream, events] : slots) appends.push_back({stream, {}, std::move(events)});
    return appends;
  };
  uint64_t appended = 1 + lines.size();
  std::vector<events::StreamAppend> streams;
  streams.push_back({commands::RequestStream(request_id), {}, {Payload(std::move(submitted))}});
  for (auto& a : booking_appends(schema::BookingState::ReservationRequested,
                                 schema::BookingCause::Requested, parent, lines.size())) {
    streams.push_back(std::move(a));
  }
  out.push_back(Request(GuardianId(f, 0), at, std::move(streams)));
  if (r % 6 == 0) {
    for (bool town : {true, false}) {
      schema::RequestMessageT message;
      message.request_id = request_id;
      message.family_id = family;
      message.from_town = town;
      message.text = town ? "Merci de confirmer les jours de garderie." : "Oui, c'est bien cela.";
      message.by_name = town ? "Agent Mairie" : parent;
      out.push_back(
          Request(town ? "agent" : GuardianId(f, 0), at + 3'600'000'000LL,
                  {{commands::RequestStream(request_id), {}, {Payload(std::move(message))}}}));
    }
    appended += 2;
  }
  if (r % 3 != 2) {
    out.push_back(
        Request("agent", at + 86'400'000'000LL,
                booking_appends(schema::BookingState::Reserved, schema::BookingCause::Decided,
                                "Agent Mairie", r % 5 == 0 ? 0 : lines.size())));
    appended += lines.size();
  }
  return appended;
}

// Fills the log by unsynced AppendBatch calls (every server view written inline, as on the
// server): the four activities and config.families families; per family two guardians'
// accounts, its file and its children's enrolments; then reservation requests, family by family
// in turn, until config.events events.
void Populate(const Config& config) {
  FreshDirectory(config.dir);
  ServerViews views;
  auto store = OpenStore(config, views, /*sync=*/false);
  auto start = SteadyClock::now();
  int64_t at = 1'756'710'000'000'000;  // 2025-09-01
  std::vector<events::AppendRequest> batch;
  auto write = [&] {
    for (auto& result : store->AppendBatch(batch)) {
      if (!result) Die("populating: " + result.error().message);
    }
    batch.clear();
  };
  ActivityRequests(at, batch);
  for (uint64_t f = 0; f < config.families; ++f) {
    schema::FamilyRegisteredT registered;
    registered.family_id = FamilyId(f);
    registered.name = "Famille " + std::to_string(f);
    registered.code_hash = "code-" + registered.family_id;
    events::AppendRequest r;
    r.recorded_at_us = at;
    r.streams.push_back({"family-" + registered.family_id, {}, {Payload(registered)}});
    batch.push_back(std::move(r));
    if (batch.size() >= config.requests_per_batch) write();
  }
  write();
  for (uint64_t f = 0; f < config.families; ++f) {
    at += 60'000'000;
    for (int k = 0; k < kAccountsPerFamily; ++k) {
      AccountRequests(f * kAccountsPerFamily + k, FamilyId(f), at, batch);
    }
    FamilyFileRequests(f, at, batch);
    if (batch.size() >= config.requests_per_batch) write();
  }
  write();
  uint64_t planned = store->HeadPosition();
  std::vector<events::AppendRequest> one;
  for (uint64_t r = 0; planned < config.events; ++r) {
    for (uint64_t f = 0; f < config.families && planned < config.events; ++f) {
      at += 10'000'000;
      uint64_t n = ReservationRequests(f, r, at, one);
      if (planned + n > config.events) break;
      planned += n;
      for (auto& request : one) batch.push_back(std::move(request));
      one.clear();
      if (batch.size() >= config.requests_per_batch) write();
    }
    if (!one.empty()) break;  // the next request would pass config.events
  }
  write();
  uint64_t appended = store->HeadPosition();
  double seconds = SecondsSince(start);
  store->Close();
  std::printf("populated %llu events in %.1f s (%.0f events/s, every view inline, unsynced)\n",
              static_cast<unsigned long long>(appended), seconds, appended / seconds);
}

// RebuildViews of `names` (one scan of the log) into fresh directories, removed afterwards;
// checks each digest against the live view's on `check_digest`.
Pass RebuildPass(const Config& config, const std::vector<std::string>& names, bool check_digest) {
  ServerViews live;
  auto store = OpenStore(config, live, /*sync=*/true);
  std::vector<std::unique_ptr<events::Projection>> projections;
  std::vector<events::RebuildTarget> targets;
  for (const auto& name : names) {
    projections.push_back(projections::MakeView(name));
    std::filesystem::path out = config.dir / ("rebuilt-" + name);
    std::filesystem::remove_all(out);
    targets.push_back({projections.back().get(), out.string()});
  }
  auto start = SteadyClock::now();
  auto reports = events::RebuildViews(*store, targets, events::RebuildOptions(), {});
  double seconds = SecondsSince(start);  // digests of the rebuilt rows included
  if (!reports) Die("rebuilding: " + reports.error().message);
  for (size_t i = 0; i < names.size(); ++i) {
    if (check_digest && (*reports)[i].digest != events::ViewDigest(*store->View(names[i]))) {
      Die("the rebuilt " + names[i] + " differs from the live view");
    }
    std::filesystem::remove_all(targets[i].out_dir);
  }
  return Pass{.events = reports->front().events_applied, .seconds = seconds};
}

void Record(Series& series, const Pass& pass, uint64_t expected) {
  bench::Record("replay_bench", series, pass, expected, 22);
}

}  // namespace
}  // namespace portail::bench

int main(int argc, char** argv) {
  using namespace portail::bench;
  CLI::App app{"Rebuilding views from the log (RebuildViews) against a raw RocksDB scan"};
  Config config;
  std::string dir = "/tmp/portail-bench/replay";
  std::vector<std::string> views = portail::projections::ViewNames();
  bool reuse = false;
  bool keep = false;
  app.add_option("--dir", dir, "Directory of the store (emptied first unless --reuse)");
  app.add_option("--events", config.events, "Events in the log");
  app.add_option("--rounds", config.rounds, "Measured rounds");
  app.add_option("--views", views, "Views to rebuild (default: every server view)")->delimiter(',');
  app.add_flag("--reuse", reuse, "Reuse the store in --dir if it exists");
  app.add_flag("--keep", keep, "Keep the store after the run");
  CLI11_PARSE(app, argc, argv);
  config.dir = dir;
  for (const auto& v : views) {
    if (!portail::projections::MakeView(v)) {
      Die("unknown view " + v + " (known: " + portail::projections::ViewNamesText() + ")");
    }
  }

  if (!reuse || !std::filesystem::exists(config.dir / "log" / "CURRENT")) Populate(config);
  Settle("replay_bench", LogDir(config), false);
  uint64_t expected =
      RawScan("replay_bench", LogDir(config)).events;  // unmeasured: warms the page cache
  std::printf("log of %llu events; %d rounds\n", static_cast<unsigned long long>(expected),
              config.rounds);

  Series raw{"raw", {}};
  std::vector<Series> rebuilds;
  for (const auto& v : views) rebuilds.push_back(Series{"rebuild " + v, {}});
  // Every chosen view rebuilt together, as `replay rebuild --all` does: one scan of the log,
  // each view on a thread of its own.
  Series all{"rebuild all " + std::to_string(views.size()) + " views together", {}};
  for (int round = 0; round < config.rounds; ++round) {
    std::printf("round %d\n", round + 1);
    Record(raw, RawScan("replay_bench", LogDir(config)), expected);
    for (size_t i = 0; i < views.size(); ++i) {
      Record(rebuilds[i], RebuildPass(config, {views[i]}, round == 0), expected);
    }
    if (views.size() > 1) Record(all, RebuildPass(config, views, round == 0), expected);
  }
  if (views.size() > 1) rebuilds.push_back(std::move(all));

  std::printf("\n| method | best ev/s | median ev/s | median / raw |\n|---|---:|---:|---:|\n");
  std::printf("| raw | %.0f | %.0f | 100 %% |\n", raw.best(), raw.median());
  for (const auto& s : rebuilds) {
    std::printf("| %s | %.0f | %.0f | %.0f %% |\n", s.name.c_str(), s.best(), s.median(),
                100 * s.median() / raw.median());
  }
  if (!keep) std::filesystem::remove_all(config.dir);
  return 0;
}
