// The planning query over real HTTP: month and week periods, filters, the cells' flags around
// their deadlines, the cache following events and deadlines, who may read, and bad input.
#include <gtest/gtest.h>

#include "commands/planning.h"
#include "tests/support/portal.h"

namespace portail::testing {
namespace {

using commands::Day;
using commands::ParseDay;

constexpr char kPassword[] = "correct horse battery";
constexpr char kAgentPassword[] = "agent staple battery";

Day D(std::string_view text) { return *ParseDay(text); }
// Paris local time `hh`:`mm` on `day`.
commands::Micros At(std::string_view day, int hh, int mm = 0) {
  return commands::ParisInstant(D(day), hh * 60 + mm);
}

class PlanningQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    portal_ = std::make_unique<Portal>();
    portal_->clock().Set(At("2026-02-20", 10));
    portal_->CreateStaff("agent@mairie.fr", kAgentPassword);
    agent_ = portal_->Login("agent@mairie.fr", kAgentPassword);
    ASSERT_FALSE(agent_.empty());
    std::tie(family_, code_) = portal_->CreateFamily(agent_, "Famille Martin");
    parent_ = Subscribed("alice@example.org", code_);
    lea_ = AddChild("Léa", "#FF0000");
    hugo_ = AddChild("Hugo", "#00aa00");
    // Canteen: weekdays, automatic, reservations until the day before at 15:00, absences until
    // 2 working days before. Evening care: Monday, Tuesday, Thursday, answered by an agent.
    Define("cantine", "Cantine", schema::ActivityKind::Canteen, commands::kMondayToFriday, true);
    Define("garderie", "Garderie du soir", schema::ActivityKind::EveningCare,
           commands::kMonday | commands::kTuesday | commands::kThursday, false);
    Enrol(lea_, "cantine", commands::kMondayToFriday);
    Enrol(lea_, "garderie", commands::kMonday | commands::kTuesday | commands::kThursday);
    Enrol(hugo_, "cantine", commands::kMonday | commands::kTuesday);
  }

  std::string Subscribed(const std::string& email, const std::string& code) {
    std::string token = portal_->RegisterActivateLogin(email, kPassword);
    auto r = portal_->Post("/api/v1/me/subscriptions", {{"subscriber_code", code}}, Bearer(token));
    EXPECT_EQ(r.status, 201) << r.body;
    return token;
  }

  std::string AddChild(const std::string& first_name, const std::string& colour) {
    auto r = portal_->Post(
        "/api/v1/families/" + family_ + "/members",
        {{"kind", "child"},
         {"sections",
          {{"general",
            {{"first_name", first_name}, {"last_name", "Martin"}, {"colour", colour}}}}}},
        Bearer(agent_));
    EXPECT_EQ(r.status, 201) << r.body;
    return BodyOf(r).value("member_id", "");
  }

  void Execute(std::unique_ptr<commands::Command> command) {
    command->actor = "agent";
    auto outcome = portal_->app().services().bus->Execute(std::move(command));
    ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  }

  void Define(const std::string& id, const std::string& name, schema::ActivityKind kind,
              uint8_t weekdays, bool automatic, bool create = true) {
    auto command = std::make_unique<commands::DefineActivity>();
    command->create = create;
    command->rules.id = id;
    command->rules.name = name;
    command->rules.kind = kind;
    command->rules.calendar.weekdays = weekdays;
    command->rules.calendar.periods = {{D("2025-09-01"), D("2026-07-03")}};
    command->rules.calendar.closed_days = {D("2026-04-06")};
    command->rules.capacity = 50;
    command->rules.reservation_notice = {commands::NoticeRule::Kind::kDaysBeforeAt, 1, 15 * 60};
    command->rules.absence_notice = {commands::NoticeRule::Kind::kWorkingDaysBefore, 2, 24 * 60};
    command->rules.automatic = automatic;
    Execute(std::move(command));
  }

  void Enrol(const std::string& child, const std::string& activity, uint8_t weekdays) {
    auto command = std::make_unique<commands::EnrolChild>();
    command->family_id = family_;
    command->child_id = child;
    command->enrolment = {"enrol-" + child + "-" + activity, activity, D("2025-09-01"),
                          D("2026-07-03"), weekdays};
    command->by_name = "Agent Mairie";
    Execute(std::move(command));
  }

  void Reserve(const std::string& request_id, const std::string& child, const std::string& activity,
               std::string_view from, std::string_view to) {
    auto command = std::make_unique<commands::SubmitRequest>();
    command->request_id = request_id;
    command->family_id = family_;
    command->children = {child};
    command->activities = {activity};
    command->from = D(from);
    command->to = D(to);
    command->by_name = "Alice Martin";
    Execute(std::move(command));
  }

  // Moves the clock; sessions idle that long expire, so the parent logs in again.
  void SetClock(commands::Micros now) {
    portal_->clock().Set(now);
    parent_ = portal_->Login("alice@example.org", kPassword);
    ASSERT_FALSE(parent_.empty());
  }

  HttpResult Get(const std::string& query, const std::string& token) {
    return portal_->Get("/api/v1/families/" + family_ + "/planning" + query, Bearer(token));
  }

  Json Planning(const std::string& query, const std::string& token = "") {
    auto r = Get(query, token.empty() ? parent_ : token);
    EXPECT_EQ(r.status, 200) << r.body;
    return BodyOf(r);
  }

  static std::string CacheOf(const HttpResult& r) {
    for (const auto& [name, value] : r.headers) {
      if (name == "x-planning-cache" || name == "X-Planning-Cache") return value;
    }
    return "";
  }

  // The cells of `date` in a planning.
  static Json CellsOf(const Json& planning, const std::string& date) {
    for (const auto& day : planning["days"]) {
      if (day["date"] == date) return day["cells"];
    }
    return Json::array();
  }

  // The cell of a child and activity on `date`; null when there is none.
  static Json CellOf(const Json& planning, const std::string& date, const std::string& child,
                     const std::string& activity) {
    for (const auto& cell : CellsOf(planning, date)) {
      if (cell["child_id"] == child && cell["activity_id"] == activity) return cell;
    }
    return nullptr;
  }

  static void ExpectInvalid(const HttpResult& r, const std::string& field) {
    EXPECT_EQ(r.status, 400) << r.body;
    Json body = BodyOf(r);
    EXPECT_EQ(body["error"]["code"], "invalid") << r.body;
    ASSERT_TRUE(body["error"]["fields"].is_array()) << r.body;
    EXPECT_EQ(body["error"]["fields"][0]["field"], field) << r.body;
  }

  std::unique_ptr<Portal> portal_;
  std::string agent_, family_, code_, parent_, lea_, hugo_;
};

TEST_F(PlanningQueryTest, MonthListsEveryDayWithEachEnrolledChildsActivities) {
  Json p = Planning("?view=month&date=2026-03-17");
  EXPECT_EQ(p["family_id"], family_);
  EXPECT_EQ(p["view"], "month");
  EXPECT_EQ(p["from"], "2026-03-01");
  EXPECT_EQ(p["to"], "2026-03-31");
  ASSERT_EQ(p["days"].size(), 31u);
  EXPECT_EQ(p["days"][0]["date"], "2026-03-01");
  EXPECT_EQ(p["days"][30]["date"], "2026-03-31");
  ASSERT_EQ(p["children"].size(), 2u);
  EXPECT_EQ(p["children"][0], (Json{{"id", lea_}, {"name", "Léa Martin"}, {"colour", "#ff0000"}}));
  EXPECT_EQ(p["children"][1]["id"], hugo_);
  EXPECT_EQ(p["activities"],
            (Json::array(
                {{{"id", "cantine"}, {"name", "Cantine"}, {"kind", "canteen"}},
                 {{"id", "garderie"}, {"name", "Garderie du soir"}, {"kind", "evening_care"}}})));

  EXPECT_TRUE(CellsOf(p, "2026-03-01").empty());   // a Sunday
  EXPECT_EQ(CellsOf(p, "2026-03-02").size(), 3u);  // Monday: Léa x2, Hugo x1
  EXPECT_EQ(CellsOf(p, "2026-03-04").size(), 1u);  // Wednesday: Léa's canteen
  Json cell = CellOf(p, "2026-03-02", lea_, "cantine");
  EXPECT_EQ(cell["state"], "enrolled");
  EXPECT_EQ(cell["activity_name"], "Cantine");
  EXPECT_EQ(cell["colour"], "#ff0000");
  EXPECT_EQ(cell["can_reserve"], true);
  EXPECT_EQ(cell["can_report_absence"], false);
  EXPECT_EQ(cell["can_cancel"], false);
  EXPECT_EQ(cell["until"], "2026-03-01T15:00:00+01:00");
  EXPECT_FALSE(cell.contains("request_id"));
  EXPECT_EQ(CellOf(p, "2026-03-02", hugo_, "cantine")["colour"], "#00aa00");
}

TEST_F(PlanningQueryTest, ClosedDaysShowNoCell) {
  Json p = Planning("?view=week5&date=2026-04-06");  // Easter Monday, closed
  EXPECT_TRUE(CellsOf(p, "2026-04-06").empty());
  EXPECT_EQ(CellsOf(p, "2026-04-07").size(), 3u);
}

TEST_F(PlanningQueryTest, WeeksOfASundayRunFromItsMonday) {
  Json week7 = Planning("?view=week7&date=2026-03-08");
  EXPECT_EQ(week7["from"], "2026-03-02");
  EXPECT_EQ(week7["to"], "2026-03-08");
  EXPECT_EQ(week7["days"].size(), 7u);
  Json week5 = Planning("?view=week5&date=2026-03-08");
  EXPECT_EQ(week5["from"], "2026-03-02");
  EXPECT_EQ(week5["to"], "2026-03-06");
  ASSERT_EQ(week5["days"].size(), 5u);
  EXPECT_EQ(week5["days"][4]["date"], "2026-03-06");
}

TEST_F(PlanningQueryTest, TheDefaultIsTheMonthOfTodayInParis) {
  SetClock(At("2026-03-01", 0, 30));  // still 28 February in UTC
  Json p = Planning("");
  EXPECT_EQ(p["view"], "month");
  EXPECT_EQ(p["from"], "2026-03-01");
}

TEST_F(PlanningQueryTest, FiltersShowOnlyTheChildrenAndActivitiesAsked) {
  Json hugo = Planning("?date=2026-03-02&children=" + hugo_);
  ASSERT_EQ(hugo["children"].size(), 1u);
  EXPECT_EQ(hugo["children"][0]["id"], hugo_);
  EXPECT_EQ(hugo["activities"].size(), 1u);
  for (const auto& day : hugo["days"]) {
    for (const auto& cell : day["cells"]) EXPECT_EQ(cell["child_id"], hugo_);
  }
  EXPECT_EQ(CellsOf(hugo, "2026-03-02").size(), 1u);

  Json care = Planning("?date=2026-03-02&activities=garderie");
  ASSERT_EQ(care["activities"].size(), 1u);
  EXPECT_EQ(care["activities"][0]["id"], "garderie");
  EXPECT_EQ(CellsOf(care, "2026-03-02").size(), 1u);
  EXPECT_EQ(CellOf(care, "2026-03-02", lea_, "garderie")["state"], "enrolled");

  Json both = Planning("?date=2026-03-02&children=" + hugo_ + "," + lea_ + "&activities=cantine");
  EXPECT_EQ(both["children"].size(), 2u);
  EXPECT_EQ(CellsOf(both, "2026-03-02").size(), 2u);
}

TEST_F(PlanningQueryTest, RequestsAndAnswersShowWithTheirRequestAndReason) {
  Reserve("req-canteen", lea_, "cantine", "2026-03-02", "2026-03-03");
  Reserve("req-care", lea_, "garderie", "2026-03-02", "2026-03-02");
  Json p = Planning("?date=2026-03-02");
  Json canteen = CellOf(p, "2026-03-02", lea_, "cantine");
  EXPECT_EQ(canteen["state"], "reserved");  // automatic
  EXPECT_EQ(canteen["request_id"], "req-canteen");
  EXPECT_EQ(canteen["can_reserve"], false);
  EXPECT_EQ(canteen["can_report_absence"], true);
  EXPECT_EQ(canteen["until"], "2026-02-27T00:00:00+01:00");  // 2 working days before, midnight
  Json care = CellOf(p, "2026-03-02", lea_, "garderie");
  EXPECT_EQ(care["state"], "reservation_requested");
  EXPECT_EQ(care["can_cancel"], true);
  EXPECT_FALSE(care.contains("until"));

  auto decide = std::make_unique<commands::DecideBookings>();
  decide->request_id = "req-care";
  decide->decisions = {
      {{lea_, "garderie", D("2026-03-02")}, commands::Outcome::kRefuse, "plus de place"}};
  decide->by_name = "Agent Mairie";
  Execute(std::move(decide));
  Json after = Planning("?date=2026-03-02");
  Json refused = CellOf(after, "2026-03-02", lea_, "garderie");
  EXPECT_EQ(refused["state"], "refused");
  EXPECT_EQ(refused["reason"], "plus de place");
  EXPECT_EQ(refused["request_id"], "req-care");
  EXPECT_EQ(refused["can_reserve"], true);
}

TEST_F(PlanningQueryTest, ACachedAnswerChangesAfterANewEvent) {
  auto first = Get("?date=2026-03-02", parent_);
  EXPECT_EQ(CacheOf(first), "miss");
  auto second = Get("?date=2026-03-02", parent_);
  EXPECT_EQ(CacheOf(second), "hit");
  EXPECT_EQ(second.body, first.body);
  // The same query spelled differently is the same answer.
  EXPECT_EQ(CacheOf(Get("?date=2026-03-31&view=month", agent_)), "hit");

  Reserve("req-1", hugo_, "cantine", "2026-03-03", "2026-03-03");
  auto third = Get("?date=2026-03-02", parent_);
  EXPECT_EQ(CacheOf(third), "miss");
  EXPECT_EQ(CellOf(BodyOf(third), "2026-03-03", hugo_, "cantine")["state"], "reserved");

  // An event of another family leaves this family's answer cached.
  auto [other, other_code] = portal_->CreateFamily(agent_, "Famille Durand");
  EXPECT_EQ(CacheOf(Get("?date=2026-03-02", parent_)), "hit");

  // A new colour is a change of the family's planning.
  auto r = portal_->Send("PATCH",
                         "/api/v1/families/" + family_ + "/members/" + hugo_ + "/sections/general",
                         Json{{"colour", "#0000ff"}}.dump(), Bearer(agent_));
  ASSERT_EQ(r.status, 200) << r.body;
  auto fourth = Get("?date=2026-03-02", parent_);
  EXPECT_EQ(CacheOf(fourth), "miss");
  EXPECT_EQ(CellOf(BodyOf(fourth), "2026-03-03", hugo_, "cantine")["colour"], "#0000ff");

  // A redefined activity changes every family's planning.
  Define("cantine", "Restaurant scolaire", schema::ActivityKind::Canteen, commands::kMondayToFriday,
         true, /*create=*/false);
  auto fifth = Get("?date=2026-03-02", parent_);
  EXPECT_EQ(CacheOf(fifth), "miss");
  EXPECT_EQ(CellOf(BodyOf(fifth), "2026-03-03", hugo_, "cantine")["activity_name"],
            "Restaurant scolaire");
}

TEST_F(PlanningQueryTest, FlagsFlipWhenTheDeadlinePassesEvenWhenCached) {
  EXPECT_EQ(CellOf(Planning("?date=2026-03-02"), "2026-03-02", lea_, "cantine")["can_reserve"],
            true);
  SetClock(At("2026-03-01", 14, 59));
  auto before = Get("?date=2026-03-02", parent_);
  EXPECT_EQ(CacheOf(before), "hit");
  EXPECT_EQ(CellOf(BodyOf(before), "2026-03-02", lea_, "cantine")["can_reserve"], true);

  SetClock(At("2026-03-01", 15, 0));
  auto after = Get("?date=2026-03-02", parent_);
  EXPECT_EQ(CacheOf(after), "miss");
  Json cell = CellOf(BodyOf(after), "2026-03-02", lea_, "cantine");
  EXPECT_EQ(cell["can_reserve"], false);
  EXPECT_EQ(cell["until"], "2026-03-01T15:00:00+01:00");
  // The next day is still open until its own deadline.
  EXPECT_EQ(CellOf(BodyOf(after), "2026-03-03", lea_, "cantine")["can_reserve"], true);
}

TEST_F(PlanningQueryTest, ARemovedChildDisappearsAndCannotBeAskedFor) {
  auto r = portal_->Delete("/api/v1/families/" + family_ + "/members/" + hugo_, Bearer(agent_));
  ASSERT_LT(r.status, 300) << r.body;
  Json p = Planning("?date=2026-03-02");
  ASSERT_EQ(p["children"].size(), 1u);
  EXPECT_EQ(p["children"][0]["id"], lea_);
  EXPECT_TRUE(CellOf(p, "2026-03-02", hugo_, "cantine").is_null());
  ExpectInvalid(Get("?children=" + hugo_, parent_), "children");
}

TEST_F(PlanningQueryTest, AgentsAndAuditorsReadAnyFamilyAndFamiliesOnlyTheirOwn) {
  EXPECT_EQ(Get("?date=2026-03-02", agent_).status, 200);
  portal_->CreateStaff("audit@mairie.fr", kAgentPassword, schema::Role::Auditor);
  std::string auditor = portal_->Login("audit@mairie.fr", kAgentPassword);
  EXPECT_EQ(Get("?date=2026-03-02", auditor).status, 200);

  auto [other, other_code] = portal_->CreateFamily(agent_, "Famille Durand");
  std::string stranger = Subscribed("bob@example.org", other_code);
  auto hidden = Get("?date=2026-03-02", stranger);
  EXPECT_EQ(hidden.status, 404) << hidden.body;
  EXPECT_EQ(BodyOf(hidden)["error"]["code"], "not_found");
  EXPECT_EQ(portal_->Get("/api/v1/families/" + other + "/planning", Bearer(stranger)).status, 200);
  EXPECT_EQ(portal_->Get("/api/v1/families/nope/planning", Bearer(agent_)).status, 404);

  auto anonymous = portal_->Get("/api/v1/families/" + family_ + "/planning");
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
}

TEST_F(PlanningQueryTest, BadQueriesNameTheirField) {
  ExpectInvalid(Get("?view=year", parent_), "view");
  ExpectInvalid(Get("?date=2026-02-30", parent_), "date");
  ExpectInvalid(Get("?date=tomorrow", parent_), "date");
  ExpectInvalid(Get("?view=month&date=1999-12-31", parent_), "date");
  ExpectInvalid(Get("?view=month&date=2101-01-01", parent_), "date");
  ExpectInvalid(Get("?children=nobody", parent_), "children");
  ExpectInvalid(Get("?children=" + lea_ + ",,x", parent_), "children");
  ExpectInvalid(Get("?activities=piscine", parent_), "activities");
  EXPECT_EQ(Get("?view=month&date=2000-01-01", parent_).status, 200);
}

}  // namespace
}  // namespace portail::testing
