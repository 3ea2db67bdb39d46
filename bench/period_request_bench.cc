// A school-year period request (about 140 days, 2 children, 2 activities) through the command
// bus with every server view: decide + durable append latency, beside a one-event command on the
// same store in the same run.
#include <CLI/CLI.hpp>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "commands/accounts.h"
#include "commands/command_bus.h"
#include "commands/dossier.h"
#include "commands/planning.h"
#include "events/event_store.h"
#include "events/log.h"
#include "projections/registry.h"

namespace portail::bench {
namespace {

using commands::Day;

Day D(int year, unsigned month, unsigned day) {
  return Day(std::chrono::year{year} / std::chrono::month{month} / std::chrono::day{day});
}

void Must(const Result<commands::CommandOutcome>& outcome, const char* what) {
  if (!outcome) {
    std::fprintf(stderr, "%s failed: %s\n", what, outcome.error().message.c_str());
    std::exit(1);
  }
}

// One family with two children enrolled in both activities for the school year; returns the
// children's ids.
std::vector<std::string> SeedFamily(commands::CommandBus& bus, int n,
                                    const std::vector<std::string>& activities) {
  std::string family = "fam" + std::to_string(n);
  auto registered = std::make_unique<commands::RegisterFamily>();
  registered->family_id = family;
  registered->name = "Famille " + std::to_string(n);
  registered->code_hash = "code" + std::to_string(n);
  Must(bus.Execute(std::move(registered)), "RegisterFamily");
  std::vector<std::string> children;
  for (int c = 0; c < 2; ++c) {
    auto add = std::make_unique<commands::AddMember>();
    add->family_id = family;
    add->member_id = family + "-child" + std::to_string(c);
    add->kind = schema::dossier::Kind::kChild;
    add->sections["general"] = {{"first_name", "Enfant"}, {"last_name", std::to_string(n)}};
    children.push_back(add->member_id);
    Must(bus.Execute(std::move(add)), "AddMember");
    for (const auto& activity : activities) {
      auto enrol = std::make_unique<commands::EnrolChild>();
      enrol->family_id = family;
      enrol->child_id = children.back();
      enrol->enrolment = {children.back() + activity, activity, D(2026, 9, 1), D(2027, 7, 3),
                          commands::kMondayToFriday};
      Must(bus.Execute(std::move(enrol)), "EnrolChild");
    }
  }
  return children;
}

}  // namespace
}  // namespace portail::bench

int main(int argc, char** argv) {
  using namespace portail;
  using namespace portail::bench;
  CLI::App app{"School-year period request latency (decide + durable append)"};
  std::string dir = "/tmp/portail-period-bench";
  int requests = 100;
  bool automatic = false;
  std::vector<std::string> view_names = projections::ViewNames();
  app.add_option("--dir", dir, "Scratch directory (emptied)");
  app.add_option("--views", view_names, "Views written inline (default: the server's)");
  app.add_option("--requests", requests, "Requests to time (one new family each)");
  app.add_flag("--automatic", automatic, "Activities decide at once (places, waiting list)");
  CLI11_PARSE(app, argc, argv);
  log::SetLevel("warn");
  FreshDirectory(dir);

  std::vector<std::unique_ptr<events::Projection>> views;
  events::StoreOptions options;
  options.path = dir + "/log";
  for (const auto& name : view_names) {
    views.push_back(projections::MakeView(name));
    if (views.back() == nullptr) {
      std::fprintf(stderr, "unknown view %s\n", name.c_str());
      return 2;
    }
    options.projections.push_back(views.back().get());
  }
  auto store = events::EventStore::Open(options);
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.error().message.c_str());
    return 1;
  }
  commands::AggregateRegistry registry;
  commands::RegisterAccountAggregates(registry);
  commands::RegisterDossierAggregates(registry);
  commands::RegisterPlanningAggregates(registry);
  // Thursday 20 August 2026, 09:00 in Paris: every day of the school year is still open.
  commands::ManualClock clock(commands::ParisInstant(D(2026, 8, 20), 9 * 60));
  commands::CommandBus bus(store->get(), &registry, &clock, {});

  std::vector<std::string> activities = {"canteen", "evening"};
  std::set<Day> holidays;
  for (Day day = D(2026, 10, 17); day <= D(2026, 11, 1); day += std::chrono::days(1)) {
    holidays.insert(day);
  }
  for (Day day = D(2026, 12, 19); day <= D(2027, 1, 3); day += std::chrono::days(1)) {
    holidays.insert(day);
  }
  for (Day day = D(2027, 2, 6); day <= D(2027, 2, 21); day += std::chrono::days(1)) {
    holidays.insert(day);
  }
  for (Day day = D(2027, 4, 3); day <= D(2027, 4, 18); day += std::chrono::days(1)) {
    holidays.insert(day);
  }
  for (int year : {2026, 2027}) {
    for (Day day : commands::FrenchPublicHolidays(year)) holidays.insert(day);
  }
  for (const auto& id : activities) {
    auto define = std::make_unique<commands::DefineActivity>();
    define->rules.id = id;
    define->rules.name = id;
    define->rules.calendar.weekdays =
        commands::kMonday | commands::kTuesday | commands::kThursday | commands::kFriday;
    define->rules.calendar.periods = {{D(2026, 9, 1), D(2027, 7, 3)}};
    define->rules.calendar.closed_days = holidays;
    define->rules.capacity = 100000;
    define->rules.reservation_notice = {commands::NoticeRule::Kind::kDaysBeforeAt, 1, 15 * 60};
    define->rules.absence_notice = {commands::NoticeRule::Kind::kWorkingDaysBefore, 2, 24 * 60};
    define->rules.automatic = automatic;
    Must(bus.Execute(std::move(define)), "DefineActivity");
  }

  std::vector<int64_t> period_ns;
  std::vector<int64_t> note_ns;
  size_t days_taken = 0;
  uint64_t head_before = (*store)->HeadPosition();
  for (int n = 0; n < requests; ++n) {
    std::vector<std::string> children = SeedFamily(bus, n, activities);
    auto request = std::make_unique<commands::SubmitRequest>();
    request->request_id = "req" + std::to_string(n);
    request->family_id = "fam" + std::to_string(n);
    request->children = children;
    request->activities = activities;
    request->from = D(2026, 9, 1);
    request->to = D(2027, 7, 3);
    request->weekdays = commands::kEveryDay;
    auto start = SteadyClock::now();
    auto outcome = bus.Execute(std::move(request));
    period_ns.push_back(NanosBetween(start, SteadyClock::now()));
    Must(outcome, "SubmitRequest");
    days_taken = std::any_cast<commands::SubmitReply>(outcome->reply).taken.size();
    // The reference: a one-event command on the same store, same views.
    auto code = std::make_unique<commands::RegenerateSubscriberCode>();
    code->family_id = "fam" + std::to_string(n);
    code->code_hash = "new" + std::to_string(n);
    start = SteadyClock::now();
    Must(bus.Execute(std::move(code)), "RegenerateSubscriberCode");
    note_ns.push_back(NanosBetween(start, SteadyClock::now()));
  }
  uint64_t events_total = (*store)->HeadPosition() - head_before;
  std::printf("school-year request: %zu days taken (2 children x 2 activities), mode %s\n",
              days_taken, automatic ? "automatic" : "agent");
  std::printf("%-28s %8s %10s %10s %10s\n", "command", "n", "p50 ms", "p99 ms", "max ms");
  auto row = [](const char* name, std::vector<int64_t>& samples) {
    double max = samples.empty() ? 0 : *std::max_element(samples.begin(), samples.end()) / 1e6;
    std::printf("%-28s %8zu %10.2f %10.2f %10.2f\n", name, samples.size(),
                QuantileMicros(samples, 0.5) / 1000, QuantileMicros(samples, 0.99) / 1000, max);
  };
  row("school-year period request", period_ns);
  row("one-event command", note_ns);
  std::printf("events appended in the timed loop (incl. seeding): %" PRIu64 "\n", events_total);
  bus.Stop();
  return 0;
}
