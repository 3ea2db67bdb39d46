// Activities, enrolments and requests over real HTTP: the family's and the agent's journey,
// bad input, roles, other families' children, and capacity under concurrent requests.
#include "commands/planning.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "commands/calendar.h"
#include "tests/support/town_test.h"
#include "tools/replay/history.h"

namespace portail::testing {
namespace {

constexpr const char* kPassword = kParentPassword;

class PlanningTest : public TownTest {
 protected:
  void SetUp() override {
    TownTest::SetUp();
    parent_ = SubscribedParent("alice@example.org", "Alice");
  }

  HttpResult Submit(const std::string& token, const Json& body, const std::string& family = "") {
    return portal_->Post("/api/v1/families/" + (family.empty() ? family_ : family) + "/requests",
                         body, Bearer(token));
  }

  // The planning's cells as "date child activity state" strings, for one query.
  std::set<std::string> Cells(const std::string& query, const std::string& token) {
    auto r = portal_->Get("/api/v1/families/" + family_ + "/planning" + query, Bearer(token));
    EXPECT_EQ(r.status, 200) << r.body;
    Json body = BodyOf(r);
    std::set<std::string> cells;
    for (const auto& day : body["days"]) {
      for (const auto& cell : day["cells"]) {
        cells.insert(day["date"].get<std::string>() + " " + cell["child_id"].get<std::string>() +
                     " " + cell["activity_id"].get<std::string>() + " " +
                     cell["state"].get<std::string>());
      }
    }
    return cells;
  }

  std::string parent_;
};

TEST_F(PlanningTest, AFamilyReservesAPeriodAndTheAgentAnswersEachDay) {
  std::string canteen = Activity("Cantine", 30, "agent", {"2026-03-12"});
  std::string evening = Activity("Garderie du soir", 20);
  Enrol(family_, lea_, canteen);
  Enrol(family_, hugo_, canteen);
  Enrol(family_, lea_, evening);

  // Two children, two activities, Monday 9 to Friday 13 March: neither activity runs on
  // Wednesdays, the canteen is closed on Thursday 12, and Hugo has no evening care.
  auto r = Submit(parent_, {{"kind", "reservation"},
                            {"children", {lea_, hugo_}},
                            {"activities", {canteen, evening}},
                            {"from", "2026-03-09"},
                            {"to", "2026-03-13"}});
  ASSERT_EQ(r.status, 201) << r.body;
  Json reply = BodyOf(r);
  std::string request = reply["request_id"];
  EXPECT_EQ(reply["taken"].size(), 10u);  // canteen 3 days x 2 children + 4 evenings for Léa
  std::map<std::string, int> reasons;
  for (const auto& line : reply["not_taken"]) reasons[line["code"]]++;
  EXPECT_EQ(reasons, (std::map<std::string, int>{{"activity_closed", 2}, {"not_enrolled", 4}}));
  for (const auto& line : reply["taken"]) EXPECT_EQ(line["state"], "reservation_requested");

  // The agent accepts Léa's canteen days and refuses Hugo's Friday.
  Json decisions = Json::array();
  for (const char* day : {"2026-03-09", "2026-03-10", "2026-03-13"}) {
    decisions.push_back(
        {{"child_id", lea_}, {"activity_id", canteen}, {"date", day}, {"outcome", "accept"}});
  }
  decisions.push_back({{"child_id", hugo_},
                       {"activity_id", canteen},
                       {"date", "2026-03-13"},
                       {"outcome", "refuse"},
                       {"reason", "sortie scolaire"}});
  auto decided = portal_->Post("/api/v1/agent/requests/" + request + "/decisions",
                               {{"decisions", decisions}}, Bearer(agent_));
  ASSERT_EQ(decided.status, 200) << decided.body;

  // The planning shows each state: week of Monday 9 (Mon-Fri), Léa's canteen only.
  std::string lea_canteen =
      "?view=week5&date=2026-03-11&children=" + lea_ + "&activities=" + canteen;
  EXPECT_EQ(Cells(lea_canteen, parent_),
            (std::set<std::string>{"2026-03-09 " + lea_ + " " + canteen + " reserved",
                                   "2026-03-10 " + lea_ + " " + canteen + " reserved",
                                   "2026-03-13 " + lea_ + " " + canteen + " reserved"}));
  std::set<std::string> week = Cells("?view=week7&date=2026-03-15", agent_);
  EXPECT_TRUE(week.contains("2026-03-13 " + hugo_ + " " + canteen + " refused"));
  EXPECT_TRUE(week.contains("2026-03-09 " + hugo_ + " " + canteen + " reservation_requested"));
  EXPECT_TRUE(week.contains("2026-03-12 " + lea_ + " " + evening + " reservation_requested"));
  EXPECT_EQ(week.size(), 10u);  // 6 canteen days (Thursday closed) + 4 evenings
  std::set<std::string> month = Cells("?view=month&date=2026-03-01", parent_);
  EXPECT_TRUE(month.contains("2026-03-02 " + lea_ + " " + canteen + " enrolled"));
  EXPECT_TRUE(month.contains("2026-03-30 " + hugo_ + " " + canteen + " enrolled"));
  // Deciding a day twice is a conflict; a day outside the request is not found.
  ExpectError(portal_->Post("/api/v1/agent/requests/" + request + "/decisions",
                            {{"decisions", {decisions[0]}}}, Bearer(agent_)),
              409, "conflict");
  Json stranger = decisions[0];
  stranger["date"] = "2026-03-16";
  ExpectError(portal_->Post("/api/v1/agent/requests/" + request + "/decisions",
                            {{"decisions", {stranger}}}, Bearer(agent_)),
              404, "not_found");

  // An absence on a reserved day, and one on a day that is not reserved.
  auto absence = Submit(parent_, {{"kind", "absence"},
                                  {"children", {lea_}},
                                  {"activities", {canteen}},
                                  {"from", "2026-03-10"},
                                  {"to", "2026-03-10"}});
  ASSERT_EQ(absence.status, 201) << absence.body;
  EXPECT_EQ(BodyOf(absence)["taken"][0]["state"], "absence_requested");
  EXPECT_TRUE(Cells(lea_canteen, parent_)
                  .contains("2026-03-10 " + lea_ + " " + canteen + " absence_requested"));
  auto not_reserved = Submit(parent_, {{"kind", "absence"},
                                       {"children", {hugo_}},
                                       {"activities", {canteen}},
                                       {"from", "2026-03-13"},
                                       {"to", "2026-03-13"}});
  ExpectError(not_reserved, 409, "not_reserved");

  // The family cancels what is still pending in the first request: Hugo's Monday and Tuesday and
  // Léa's four evenings.
  auto cancelled = portal_->Post("/api/v1/families/" + family_ + "/requests/" + request + "/cancel",
                                 Json::object(), Bearer(parent_));
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(BodyOf(cancelled)["cancelled_days"], 6);
  ExpectError(portal_->Post("/api/v1/families/" + family_ + "/requests/" + request + "/cancel",
                            Json::object(), Bearer(parent_)),
              409, "conflict");
}

TEST_F(PlanningTest, ADeadlineErrorSaysWhen) {
  std::string canteen = Activity("Cantine", 30);
  Enrol(family_, lea_, canteen);
  // Monday 2 March: reservations closed on Sunday 1 March at 15:00.
  portal_->clock().Set(commands::ParisInstant(D(2026, 3, 1), 15 * 60));
  parent_ = portal_->Login("alice@example.org", kPassword);  // the morning's session went idle
  auto late = Submit(parent_, {{"kind", "reservation"},
                               {"children", {lea_}},
                               {"activities", {canteen}},
                               {"from", "2026-03-02"},
                               {"to", "2026-03-02"}});
  ExpectError(late, 409, "past_deadline");
  EXPECT_NE(BodyOf(late)["error"]["message"].get<std::string>().find("2026-03-01T15:00:00+01:00"),
            std::string::npos)
      << late.body;
}

TEST_F(PlanningTest, BadInputAndWrongRolesAreRefusedAndChangeNothing) {
  std::string canteen = Activity("Cantine", 30);
  Enrol(family_, lea_, canteen);
  auto [other_family, other_code] = portal_->CreateFamily(agent_, "Famille Dubois");
  std::string tom = Child(other_family, "Tom");
  std::string eve = portal_->RegisterActivateLogin("eve@example.org", kPassword, "Eve");
  portal_->Post("/api/v1/me/subscriptions", {{"subscriber_code", other_code}}, Bearer(eve));
  portal_->CreateStaff("audit@mairie.fr", kAgentPassword, schema::Role::Auditor);
  std::string auditor = portal_->Login("audit@mairie.fr", kAgentPassword);
  uint64_t head = portal_->app().services().store->HeadPosition();

  Json good = {{"kind", "reservation"},
               {"children", {lea_}},
               {"activities", {canteen}},
               {"from", "2026-03-09"},
               {"to", "2026-03-13"}};
  auto activity = portal_->Post("/api/v1/agent/activities",
                                {{"name", ""},
                                 {"weekdays", {"mon", "xyz"}},
                                 {"capacity", 0},
                                 {"reservation_notice", {{"days", 99}}},
                                 {"colour", "red"}},
                                Bearer(agent_));
  ExpectError(activity, 400, "invalid");
  EXPECT_EQ(Fields(activity),
            (std::set<std::string>{"name", "weekdays", "capacity", "reservation_notice",
                                   "absence_notice", "colour"}));
  Json year = good;
  year["from"] = "2026-01-01";
  year["to"] = "2027-01-02";
  EXPECT_EQ(Fields(Submit(parent_, year)), std::set<std::string>{"to"});
  Json old = good;
  old["from"] = "1999-12-31";
  EXPECT_EQ(Fields(Submit(parent_, old)), std::set<std::string>{"from"});
  Json backwards = good;
  backwards["to"] = "2026-03-01";
  EXPECT_EQ(Fields(Submit(parent_, backwards)), std::set<std::string>{"to"});
  Json strange = good;
  strange["kind"] = "holiday";
  strange["weekdays"] = {"funday"};
  strange["children"] = Json::array();
  EXPECT_EQ(Fields(Submit(parent_, strange)),
            (std::set<std::string>{"kind", "weekdays", "children"}));
  ExpectError(portal_->Send("POST", "/api/v1/families/" + family_ + "/requests",
                            "{\"kind\":", Bearer(parent_)),
              400, "invalid");

  // Another family's child, through one's own family or through theirs.
  Json theirs = good;
  theirs["children"] = {tom};
  ExpectError(Submit(parent_, theirs), 404, "not_found");
  ExpectError(Submit(parent_, theirs, other_family), 404, "not_found");
  ExpectError(Submit(eve, good), 404, "not_found");
  ExpectError(
      portal_->Post("/api/v1/agent/families/" + family_ + "/children/" + tom + "/enrolments",
                    {{"activity_id", canteen}, {"from", "2026-01-05"}, {"to", "2026-07-03"}},
                    Bearer(agent_)),
      404, "not_found");
  // Roles: agents and auditors do not submit; families and auditors do not decide or define.
  ExpectError(Submit(agent_, good), 403, "forbidden");
  ExpectError(Submit(auditor, good), 403, "forbidden");
  ExpectError(portal_->Post("/api/v1/agent/requests/x/decisions", {{"decisions", Json::array()}},
                            Bearer(parent_)),
              403, "forbidden");
  ExpectError(portal_->Post("/api/v1/agent/activities", {{"name", "x"}}, Bearer(auditor)), 403,
              "forbidden");
  ExpectError(portal_->Post("/api/v1/agent/requests/nope/decisions",
                            {{"decisions",
                              {{{"child_id", lea_},
                                {"activity_id", canteen},
                                {"date", "2026-03-09"},
                                {"outcome", "accept"}}}}},
                            Bearer(agent_)),
              404, "not_found");
  ExpectError(portal_->Post("/api/v1/agent/requests/nope/decisions",
                            {{"decisions", {{{"outcome", "refuse"}}}}}, Bearer(agent_)),
              400, "invalid");
  ExpectError(Submit("", good), 401, "unauthenticated");
  EXPECT_EQ(portal_->app().services().store->HeadPosition(), head);
}

// An auditor's replay of a request (tools/replay) tells the same story as the family's timeline.
TEST_F(PlanningTest, TheReplayHistoryOfARequestMatchesItsTimelineInTheApi) {
  std::string canteen = Activity("Cantine", 30);
  Enrol(family_, lea_, canteen);
  Enrol(family_, hugo_, canteen);
  auto submitted = Submit(parent_, {{"kind", "reservation"},
                                    {"children", {lea_, hugo_}},
                                    {"activities", {canteen}},
                                    {"from", "2026-03-09"},
                                    {"to", "2026-03-10"}});
  ASSERT_EQ(submitted.status, 201) << submitted.body;
  std::string request = BodyOf(submitted)["request_id"];
  portal_->clock().Advance(std::chrono::minutes(1));
  Json accept = {
      {"child_id", lea_}, {"activity_id", canteen}, {"date", "2026-03-09"}, {"outcome", "accept"}};
  Json refuse = {{"child_id", hugo_},
                 {"activity_id", canteen},
                 {"date", "2026-03-09"},
                 {"outcome", "refuse"},
                 {"reason", "complet"}};
  ASSERT_EQ(portal_
                ->Post("/api/v1/agent/requests/" + request + "/decisions",
                       {{"decisions", {accept, refuse}}}, Bearer(agent_))
                .status,
            200);
  uint64_t decided_at = portal_->clock().Now();
  portal_->clock().Advance(std::chrono::minutes(1));
  std::string base = "/api/v1/families/" + family_ + "/requests/" + request;
  ASSERT_EQ(
      portal_->Post(base + "/messages", {{"text", "Sortie le 9 : pas de cantine."}}, Bearer(agent_))
          .status,
      201);
  portal_->clock().Advance(std::chrono::minutes(1));
  ASSERT_EQ(portal_->Post(base + "/cancel", Json::object(), Bearer(parent_)).status, 200);

  auto api = portal_->Get(base + "/history", Bearer(parent_));
  ASSERT_EQ(api.status, 200) << api.body;
  Json entries = BodyOf(api)["entries"];
  replay::HistoryQuery query;
  query.request_id = request;
  auto rows = replay::History(*portal_->app().services().store, query);
  ASSERT_TRUE(rows.has_value()) << rows.error().message;

  // Every API entry starts at an event the replay shows, in the same order, and the days the
  // API lists are the replay's booking changes, one for one.
  std::vector<uint64_t> positions;
  std::map<std::string, int> types;
  for (const auto& row : *rows) {
    positions.push_back(row.position);
    types[row.type]++;
  }
  EXPECT_EQ(types, (std::map<std::string, int>{{"BookingChanged", 4 + 2 + 2},
                                               {"RequestCancelled", 1},
                                               {"RequestMessage", 1},
                                               {"RequestSubmitted", 1}}));
  uint64_t previous = 0;
  size_t api_days = 0;
  std::vector<std::string> kinds;
  for (const auto& entry : entries) {
    uint64_t position = entry["position"];
    EXPECT_GT(position, previous);
    previous = position;
    EXPECT_NE(std::find(positions.begin(), positions.end(), position), positions.end());
    api_days += entry.contains("days") ? entry["days"].size() : 0;
    kinds.push_back(entry["type"]);
  }
  EXPECT_EQ(api_days, 8u);
  EXPECT_EQ(kinds, (std::vector<std::string>{"created", "decision", "town_message", "cancelled"}));
  // As of the decision's time, the replay shows what was known then: no message, no cancel.
  query.as_of_us = decided_at;
  auto then = replay::History(*portal_->app().services().store, query);
  ASSERT_TRUE(then.has_value());
  EXPECT_EQ(then->size(), 1u + 4 + 2);
  query.as_of_us = decided_at - 1;
  EXPECT_EQ(replay::History(*portal_->app().services().store, query)->size(), 1u + 4);
}

// Capacity is never exceeded, however many requests and decisions race for the last places.
TEST_F(PlanningTest, ConcurrentRequestsAndDecisionsNeverExceedCapacity) {
  constexpr int kChildren = 24;
  std::string automatic = Activity("Centre de loisirs", 5, "automatic");
  std::string manual = Activity("Cantine", 3, "agent");
  std::vector<std::string> children;
  for (int i = 0; i < kChildren; ++i) {
    children.push_back(Child(family_, "Enfant" + std::to_string(i)));
    Enrol(family_, children.back(), automatic);
    Enrol(family_, children.back(), manual);
  }
  Json day = "2026-03-10";
  std::vector<std::string> requests(kChildren);
  std::atomic<int> waiting{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kChildren; ++i) {
    threads.emplace_back([&, i] {
      auto r = Submit(parent_, {{"kind", "reservation"},
                                {"children", {children[i]}},
                                {"activities", {automatic, manual}},
                                {"from", day},
                                {"to", day}});
      ASSERT_EQ(r.status, 201) << r.body;
      Json body = BodyOf(r);
      requests[i] = body["request_id"];
      for (const auto& line : body["taken"]) {
        if (line["activity_id"] == automatic && line["state"] == "waiting_list") ++waiting;
      }
    });
  }
  for (auto& t : threads) t.join();
  threads.clear();
  EXPECT_EQ(waiting.load(), kChildren - 5);

  // Four agents accept every request at once: three succeed, the others find it full.
  std::atomic<int> accepted{0};
  std::atomic<int> full{0};
  for (int agent = 0; agent < 4; ++agent) {
    threads.emplace_back([&, agent] {
      for (int i = agent; i < kChildren; i += 4) {
        auto r = portal_->Post("/api/v1/agent/requests/" + requests[i] + "/decisions",
                               {{"decisions",
                                 {{{"child_id", children[i]},
                                   {"activity_id", manual},
                                   {"date", day},
                                   {"outcome", "accept"}}}}},
                               Bearer(agent_));
        if (r.status == 200) ++accepted;
        if (r.status == 409 && BodyOf(r)["error"]["code"] == "full") ++full;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 3);
  EXPECT_EQ(full.load(), kChildren - 3);

  // The log agrees: fold every booking of the day and count the places held.
  std::map<std::string, std::map<std::string, schema::BookingState>> states;
  auto scanned =
      portal_->app().services().store->ScanAll(1, [&](const schema::EventRecord& record) {
        if (const auto* e = record.payload_as_BookingChanged()) {
          states[e->activity_id()->str()][e->child_id()->str()] = e->state();
        }
        return true;
      });
  ASSERT_TRUE(scanned.has_value());
  for (const auto& [activity, by_child] : states) {
    int reserved = 0;
    for (const auto& [child, state] : by_child) {
      reserved += state == schema::BookingState::Reserved ? 1 : 0;
    }
    EXPECT_EQ(reserved, activity == automatic ? 5 : 3) << activity;
  }
}

}  // namespace
}  // namespace portail::testing
