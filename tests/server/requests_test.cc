// "Mes demandes" over real HTTP: per-account unread counts, the list's filters and paging, each
// request's history, messages, the agents' queue, and what other families and bad input get.
#include <gtest/gtest.h>

#include <set>

#include "commands/calendar.h"
#include "tests/support/town_test.h"

namespace portail::testing {
namespace {

constexpr const char* kPassword = kParentPassword;

class RequestsTest : public TownTest {
 protected:
  void SetUp() override {
    TownTest::SetUp();
    alice_ = SubscribedParent("alice@example.org", "Alice");
    bob_ = SubscribedParent("bob@example.org", "Bob");
  }

  // Submits a request as `token`; returns its id.
  std::string Submit(const std::string& token, const std::string& kind,
                     const std::vector<std::string>& children, const std::string& activity,
                     const std::string& from, const std::string& to) {
    auto r = portal_->Post("/api/v1/families/" + family_ + "/requests",
                           {{"kind", kind},
                            {"children", children},
                            {"activities", {activity}},
                            {"from", from},
                            {"to", to}},
                           Bearer(token));
    EXPECT_EQ(r.status, 201) << r.body;
    return BodyOf(r).value("request_id", "");
  }

  HttpResult Decide(const std::string& request, const std::vector<Json>& decisions) {
    return portal_->Post("/api/v1/agent/requests/" + request + "/decisions",
                         {{"decisions", Json(decisions)}}, Bearer(agent_));
  }

  HttpResult Message(const std::string& token, const std::string& request,
                     const std::string& text) {
    return portal_->Post("/api/v1/families/" + family_ + "/requests/" + request + "/messages",
                         {{"text", text}}, Bearer(token));
  }

  Json List(const std::string& token, const std::string& query = "") {
    auto r = portal_->Get("/api/v1/me/requests" + query, Bearer(token));
    EXPECT_EQ(r.status, 200) << r.body;
    return BodyOf(r);
  }

  // The unread count of `request` in `token`'s list.
  int Unread(const std::string& token, const std::string& request) {
    Json list = List(token);
    for (const auto& row : list["requests"]) {
      if (row["id"] == request) return row["unread"];
    }
    ADD_FAILURE() << "request " << request << " is not in the list: " << list.dump();
    return -1;
  }

  static std::vector<std::string> Ids(const Json& list) {
    std::vector<std::string> ids;
    for (const auto& row : list["requests"]) ids.push_back(row["id"]);
    return ids;
  }

  static Json Day(const std::string& child, const std::string& activity, const std::string& date,
                  const std::string& outcome, const std::string& reason = "") {
    Json d{{"child_id", child}, {"activity_id", activity}, {"date", date}, {"outcome", outcome}};
    if (!reason.empty()) d["reason"] = reason;
    return d;
  }

  std::string alice_, bob_;
};

TEST_F(RequestsTest, EachParentHasTheirOwnUnreadCountAndOpeningTheHistoryClearsOnlyTheirs) {
  std::string canteen = Activity("Cantine", 30);
  Enrol(family_, lea_, canteen);
  std::string request = Submit(alice_, "reservation", {lea_}, canteen, "2026-03-09", "2026-03-13");
  EXPECT_EQ(Unread(alice_, request), 0);

  // One decision of three days counts once; the town's message is the second update.
  auto decided = Decide(request, {Day(lea_, canteen, "2026-03-09", "accept"),
                                  Day(lea_, canteen, "2026-03-10", "accept"),
                                  Day(lea_, canteen, "2026-03-12", "refuse", "sortie scolaire")});
  ASSERT_EQ(decided.status, 200) << decided.body;
  auto posted = Message(agent_, request, "Le vendredi reste à confirmer.");
  ASSERT_EQ(posted.status, 201) << posted.body;
  EXPECT_EQ(BodyOf(posted)["from_town"], true);
  EXPECT_EQ(Unread(alice_, request), 2);
  EXPECT_EQ(Unread(bob_, request), 2);

  // Alice opens the history: hers is read, Bob's is not.
  auto opened = portal_->Get("/api/v1/families/" + family_ + "/requests/" + request + "/history",
                             Bearer(alice_));
  ASSERT_EQ(opened.status, 200) << opened.body;
  EXPECT_EQ(BodyOf(opened)["marked_read"], 2);
  EXPECT_EQ(BodyOf(opened)["request"]["unread"], 0);
  EXPECT_EQ(Unread(alice_, request), 0);
  EXPECT_EQ(Unread(bob_, request), 2);

  // The family's reply is not an update for the family; a new town message is, for both.
  ASSERT_EQ(Message(bob_, request, "Merci !").status, 201);
  EXPECT_EQ(Unread(alice_, request), 0);
  EXPECT_EQ(Unread(bob_, request), 2);
  portal_->clock().Advance(std::chrono::minutes(5));
  ASSERT_EQ(Message(agent_, request, "Vendredi confirmé.").status, 201);
  EXPECT_EQ(Unread(alice_, request), 1);
  EXPECT_EQ(Unread(bob_, request), 3);

  // Opening it again when nothing is new appends nothing; "mark all read" clears Bob's.
  auto again = portal_->Get("/api/v1/families/" + family_ + "/requests/" + request + "/history",
                            Bearer(alice_));
  EXPECT_EQ(BodyOf(again)["marked_read"], 1);
  uint64_t head = portal_->app().services().store->HeadPosition();
  auto third = portal_->Get("/api/v1/families/" + family_ + "/requests/" + request + "/history",
                            Bearer(alice_));
  EXPECT_EQ(BodyOf(third)["marked_read"], 0);
  EXPECT_EQ(portal_->app().services().store->HeadPosition(), head);
  auto all = portal_->Post("/api/v1/me/requests/read-all", Json::object(), Bearer(bob_));
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(Unread(bob_, request), 0);
  EXPECT_EQ(Unread(alice_, request), 0);
}

TEST_F(RequestsTest, TheHistoryTellsEverythingInOrderInParisTime) {
  std::string canteen = Activity("Cantine", 30);
  Enrol(family_, lea_, canteen);
  std::string request = Submit(alice_, "reservation", {lea_}, canteen, "2026-03-09", "2026-03-10");
  portal_->clock().Advance(std::chrono::minutes(20));  // sessions idle out after 30
  ASSERT_EQ(Decide(request, {Day(lea_, canteen, "2026-03-09", "accept"),
                             Day(lea_, canteen, "2026-03-10", "refuse", "complet ce jour")})
                .status,
            200);
  ASSERT_EQ(Message(agent_, request, "<script>alert(1)</script> désolé").status, 201);
  portal_->clock().Advance(std::chrono::minutes(1));
  ASSERT_EQ(Message(alice_, request, "D'accord").status, 201);

  auto r = portal_->Get("/api/v1/families/" + family_ + "/requests/" + request + "/history",
                        Bearer(bob_));
  ASSERT_EQ(r.status, 200) << r.body;
  Json body = BodyOf(r);
  std::vector<std::string> types;
  for (const auto& e : body["entries"]) types.push_back(e["type"]);
  EXPECT_EQ(types,
            (std::vector<std::string>{"created", "decision", "town_message", "family_message"}));
  const Json& created = body["entries"][0];
  EXPECT_EQ(created["by"]["name"], "Alice Martin");
  EXPECT_EQ(created["at"], "2026-03-01T09:00:00+01:00");
  EXPECT_EQ(created["days"].size(), 2u);
  const Json& decision = body["entries"][1];
  EXPECT_EQ(decision["by"]["name"], "Agent Mairie");
  EXPECT_EQ(decision["at"], "2026-03-01T09:20:00+01:00");
  ASSERT_EQ(decision["days"].size(), 2u);
  EXPECT_EQ(decision["days"][0]["state"], "accepted");
  EXPECT_EQ(decision["days"][1]["state"], "refused");
  EXPECT_EQ(decision["days"][1]["reason"], "complet ce jour");
  // Stored and answered as text, as typed: clients escape it.
  EXPECT_EQ(body["entries"][2]["text"], "<script>alert(1)</script> désolé");
  EXPECT_EQ(body["entries"][3]["at"], "2026-03-01T09:21:00+01:00");
  EXPECT_EQ(body["request"]["state"], "partly_accepted");
  EXPECT_EQ(body["request"]["created_at"], "2026-03-01T09:00:00+01:00");
  EXPECT_EQ(body["request"]["from"], "2026-03-09");
  EXPECT_EQ(body["request"]["weekdays"].size(), 7u);
  EXPECT_EQ(body["marked_read"], 2);

  // A cancellation closes the history; the remaining pending day is cancelled.
  std::string two = Submit(alice_, "reservation", {lea_}, canteen, "2026-03-16", "2026-03-16");
  ASSERT_EQ(portal_
                ->Post("/api/v1/families/" + family_ + "/requests/" + two + "/cancel",
                       Json::object(), Bearer(alice_))
                .status,
            200);
  Json cancelled = BodyOf(portal_->Get(
      "/api/v1/families/" + family_ + "/requests/" + two + "/history", Bearer(alice_)));
  EXPECT_EQ(cancelled["entries"].back()["type"], "cancelled");
  EXPECT_EQ(cancelled["entries"].back()["days"].size(), 1u);
  EXPECT_EQ(cancelled["request"]["state"], "cancelled");
  EXPECT_EQ(cancelled["request"]["date"], "2026-03-16");
}

TEST_F(RequestsTest, AWaitingListPromotionIsAnUpdate) {
  std::string centre = Activity("Centre", 1, "automatic");
  Enrol(family_, lea_, centre);
  Enrol(family_, hugo_, centre);
  std::string first = Submit(alice_, "reservation", {lea_}, centre, "2026-03-16", "2026-03-16");
  std::string second = Submit(alice_, "reservation", {hugo_}, centre, "2026-03-16", "2026-03-16");
  Json list = List(alice_);
  ASSERT_EQ(list["requests"].size(), 2u);
  EXPECT_EQ(list["requests"][0]["state"], "waiting_list");
  EXPECT_EQ(list["requests"][1]["state"], "accepted");
  // Léa's absence frees her place: Hugo's request is accepted by the town, automatically.
  Submit(alice_, "absence", {lea_}, centre, "2026-03-16", "2026-03-16");
  EXPECT_EQ(Unread(bob_, second), 1);
  EXPECT_EQ(Unread(bob_, first), 0);
  Json history = BodyOf(portal_->Get(
      "/api/v1/families/" + family_ + "/requests/" + second + "/history", Bearer(bob_)));
  EXPECT_EQ(history["entries"].back()["type"], "promotion");
  EXPECT_EQ(history["request"]["state"], "accepted");
}

TEST_F(RequestsTest, TheListFiltersAndPagesStablyWhileRequestsArrive) {
  std::string canteen = Activity("Cantine", 30);
  std::string centre = Activity("Centre", 30, "automatic");
  Enrol(family_, lea_, canteen);
  Enrol(family_, hugo_, canteen);
  Enrol(family_, lea_, centre);
  std::vector<std::string> made;  // oldest first
  made.push_back(Submit(alice_, "reservation", {lea_}, canteen, "2026-03-09", "2026-03-09"));
  made.push_back(Submit(alice_, "reservation", {hugo_}, canteen, "2026-03-10", "2026-03-10"));
  made.push_back(Submit(bob_, "reservation", {lea_}, centre, "2026-03-12", "2026-03-13"));
  made.push_back(Submit(bob_, "absence", {lea_}, centre, "2026-03-13", "2026-03-13"));
  made.push_back(Submit(alice_, "reservation", {lea_, hugo_}, canteen, "2026-03-16", "2026-03-20"));
  ASSERT_EQ(Decide(made[1], {Day(hugo_, canteen, "2026-03-10", "refuse", "non")}).status, 200);

  // Newest first; pages of two; a request made meanwhile does not shift the pages.
  Json page = List(alice_, "?limit=2");
  EXPECT_EQ(Ids(page), (std::vector<std::string>{made[4], made[3]}));
  ASSERT_TRUE(page["next_cursor"].is_string());
  std::string newer = Submit(alice_, "reservation", {hugo_}, canteen, "2026-03-23", "2026-03-23");
  page = List(alice_, "?limit=2&cursor=" + page["next_cursor"].get<std::string>());
  EXPECT_EQ(Ids(page), (std::vector<std::string>{made[2], made[1]}));
  page = List(alice_, "?limit=2&cursor=" + page["next_cursor"].get<std::string>());
  EXPECT_EQ(Ids(page), (std::vector<std::string>{made[0]}));
  EXPECT_TRUE(page["next_cursor"].is_null());
  EXPECT_EQ(Ids(List(alice_, "?limit=1"))[0], newer);

  // Filters: kind, state, child, dates (overlap), and their combination.
  EXPECT_EQ(Ids(List(alice_, "?kind=absence")), std::vector<std::string>{made[3]});
  EXPECT_EQ(Ids(List(alice_, "?state=refused")), std::vector<std::string>{made[1]});
  EXPECT_EQ(Ids(List(alice_, "?state=accepted")), (std::vector<std::string>{made[3], made[2]}));
  EXPECT_EQ(Ids(List(alice_, "?child=" + hugo_)),
            (std::vector<std::string>{newer, made[4], made[1]}));
  EXPECT_EQ(Ids(List(alice_, "?from=2026-03-10&to=2026-03-12")),
            (std::vector<std::string>{made[2], made[1]}));
  EXPECT_EQ(Ids(List(alice_, "?from=2026-03-13&kind=reservation&child=" + lea_)),
            (std::vector<std::string>{made[4], made[2]}));
  Json row = List(alice_, "?kind=absence")["requests"][0];
  EXPECT_EQ(row["kind"], "absence");
  EXPECT_EQ(row["date"], "2026-03-13");
  EXPECT_EQ(row["children"], Json::array({lea_}));
  EXPECT_EQ(row["activities"], Json::array({centre}));
  EXPECT_EQ(row["created_by"]["name"], "Bob Martin");

  // Agents list one family at a time.
  EXPECT_EQ(List(agent_, "?family=" + family_)["requests"].size(), 6u);
}

TEST_F(RequestsTest, DossierChangesAreRequestsToo) {
  // A parent's edit of the family file is a proposal, pending until an agent decides.
  auto proposed = portal_->Send(
      "PATCH", "/api/v1/families/" + family_ + "/members/" + lea_ + "/sections/general",
      Json{{"first_name", "Léane"}}.dump(), Bearer(alice_));
  ASSERT_EQ(proposed.status, 202) << proposed.body;
  std::string change = BodyOf(proposed)["change_id"];
  Json list = List(bob_, "?kind=dossier_change");
  ASSERT_EQ(list["requests"].size(), 1u) << list.dump();
  EXPECT_EQ(list["requests"][0]["id"], change);
  EXPECT_EQ(list["requests"][0]["state"], "pending");
  EXPECT_EQ(list["requests"][0]["member_id"], lea_);
  EXPECT_EQ(Ids(List(bob_, "?child=" + lea_)), std::vector<std::string>{change});
  auto rejected = portal_->Post("/api/v1/families/" + family_ + "/changes/" + change + "/reject",
                                {{"reason", "pièce justificative manquante"}}, Bearer(agent_));
  ASSERT_EQ(rejected.status, 200) << rejected.body;
  EXPECT_EQ(Unread(bob_, change), 1);
  Json history = BodyOf(portal_->Get(
      "/api/v1/families/" + family_ + "/requests/" + change + "/history", Bearer(bob_)));
  ASSERT_EQ(history["entries"].size(), 2u) << history.dump();
  EXPECT_EQ(history["entries"][1]["outcome"], "refused");
  EXPECT_EQ(history["entries"][1]["reason"], "pièce justificative manquante");
  EXPECT_EQ(history["request"]["state"], "refused");
}

TEST_F(RequestsTest, TheAgentsQueueIsOldestFirstWithCountsPerActivity) {
  std::string canteen = Activity("Cantine", 30);
  std::string evening = Activity("Garderie", 30);
  std::string centre = Activity("Centre", 30, "automatic");
  for (const auto& a : {canteen, evening, centre}) {
    Enrol(family_, lea_, a);
    Enrol(family_, hugo_, a);
  }
  std::string one =
      Submit(alice_, "reservation", {lea_, hugo_}, canteen, "2026-03-09", "2026-03-10");
  std::string two = Submit(alice_, "reservation", {lea_}, evening, "2026-03-12", "2026-03-12");
  Submit(alice_, "reservation", {lea_}, centre, "2026-03-12", "2026-03-12");  // automatic
  std::string three = Submit(bob_, "reservation", {hugo_}, canteen, "2026-03-12", "2026-03-12");

  auto r = portal_->Get("/api/v1/agent/requests", Bearer(agent_));
  ASSERT_EQ(r.status, 200) << r.body;
  Json body = BodyOf(r);
  EXPECT_EQ(Ids(body), (std::vector<std::string>{one, two, three}));
  const Json& first = body["requests"][0];
  EXPECT_EQ(first["pending_days"], 4);
  EXPECT_EQ(first["days"][0]["date"], "2026-03-09");
  EXPECT_EQ(first["days"][0]["activity_name"], "Cantine");
  std::set<std::string> names;
  for (const auto& d : first["days"]) names.insert(d["child_name"]);
  EXPECT_EQ(names, (std::set<std::string>{"Léa Martin", "Hugo Martin"}));
  std::map<std::string, std::pair<int, int>> counts;
  for (const auto& c : body["pending_by_activity"]) {
    counts[c["activity_name"]] = {c["requests"], c["days"]};
  }
  EXPECT_EQ(counts, (std::map<std::string, std::pair<int, int>>{{"Cantine", {2, 5}},
                                                                {"Garderie", {1, 1}}}));

  // Filters by activity, date and kind, and paging.
  EXPECT_EQ(Ids(BodyOf(portal_->Get("/api/v1/agent/requests?activity=" + canteen, Bearer(agent_)))),
            (std::vector<std::string>{one, three}));
  EXPECT_EQ(Ids(BodyOf(portal_->Get("/api/v1/agent/requests?date=2026-03-12", Bearer(agent_)))),
            (std::vector<std::string>{two, three}));
  EXPECT_TRUE(
      BodyOf(portal_->Get("/api/v1/agent/requests?kind=absence", Bearer(agent_)))["requests"]
          .empty());
  Json page = BodyOf(portal_->Get("/api/v1/agent/requests?limit=2", Bearer(agent_)));
  EXPECT_EQ(Ids(page), (std::vector<std::string>{one, two}));
  page = BodyOf(portal_->Get(
      "/api/v1/agent/requests?limit=2&cursor=" + page["next_cursor"].get<std::string>(),
      Bearer(agent_)));
  EXPECT_EQ(Ids(page), (std::vector<std::string>{three}));

  // A decided request leaves the queue, partly decided ones stay.
  ASSERT_EQ(Decide(two, {Day(lea_, evening, "2026-03-12", "accept")}).status, 200);
  ASSERT_EQ(Decide(one, {Day(lea_, canteen, "2026-03-09", "accept")}).status, 200);
  body = BodyOf(portal_->Get("/api/v1/agent/requests", Bearer(agent_)));
  EXPECT_EQ(Ids(body), (std::vector<std::string>{one, three}));
  EXPECT_EQ(body["requests"][0]["pending_days"], 3);
  ASSERT_EQ(body["pending_by_activity"].size(), 1u);
  EXPECT_EQ(body["pending_by_activity"][0]["days"], 4);
}

TEST_F(RequestsTest, OtherFamiliesRequestsDoNotExistAndBadInputIsRefused) {
  std::string canteen = Activity("Cantine", 30);
  Enrol(family_, lea_, canteen);
  std::string request = Submit(alice_, "reservation", {lea_}, canteen, "2026-03-09", "2026-03-09");
  auto [other, other_code] = portal_->CreateFamily(agent_, "Famille Dubois");
  std::string eve = portal_->RegisterActivateLogin("eve@example.org", kPassword, "Eve");
  portal_->Post("/api/v1/me/subscriptions", {{"subscriber_code", other_code}}, Bearer(eve));
  portal_->CreateStaff("audit@mairie.fr", kAgentPassword, schema::Role::Auditor);
  std::string auditor = portal_->Login("audit@mairie.fr", kAgentPassword);

  // Eve's family is not Alice's: through either family id, the request does not exist for her.
  ExpectError(
      portal_->Get("/api/v1/families/" + other + "/requests/" + request + "/history", Bearer(eve)),
      404, "not_found");
  ExpectError(portal_->Get("/api/v1/families/" + family_ + "/requests/" + request + "/history",
                           Bearer(eve)),
              404, "not_found");
  ExpectError(portal_->Post("/api/v1/families/" + other + "/requests/" + request + "/messages",
                            {{"text", "bonjour"}}, Bearer(eve)),
              404, "not_found");
  ExpectError(portal_->Get("/api/v1/me/requests?family=" + family_, Bearer(eve)), 404, "not_found");
  EXPECT_TRUE(List(eve)["requests"].empty());
  ExpectError(
      portal_->Get("/api/v1/families/" + family_ + "/requests/nope/history", Bearer(alice_)), 404,
      "not_found");

  // Roles: auditors read but do not write; families do not see the agents' queue.
  ExpectError(Message(auditor, request, "bonjour"), 403, "forbidden");
  EXPECT_EQ(portal_
                ->Get("/api/v1/families/" + family_ + "/requests/" + request + "/history",
                      Bearer(auditor))
                .status,
            200);
  ExpectError(portal_->Get("/api/v1/agent/requests", Bearer(alice_)), 403, "forbidden");
  ExpectError(portal_->Get("/api/v1/me/requests", {}), 401, "unauthenticated");

  // Bad cursors, filters and texts.
  for (const char* query :
       {"?cursor=abc", "?cursor=-1", "?cursor=0", "?cursor=99999999999999999999999", "?limit=0",
        "?limit=201", "?kind=holiday", "?state=happy", "?from=2026-13-01",
        "?from=2026-03-10&to=2026-03-09", "?colour=red", "?child=a%2Fb"}) {
    ExpectError(portal_->Get(std::string("/api/v1/me/requests") + query, Bearer(alice_)), 400,
                "invalid");
  }
  ExpectError(portal_->Get("/api/v1/me/requests", Bearer(agent_)), 400, "invalid");
  for (const char* query : {"?cursor=x", "?date=tomorrow", "?kind=dossier", "?activity=nope"}) {
    ExpectError(portal_->Get(std::string("/api/v1/agent/requests") + query, Bearer(agent_)), 400,
                "invalid");
  }
  ExpectError(Message(alice_, request, ""), 400, "invalid");
  ExpectError(Message(alice_, request, "   "), 400, "invalid");
  ExpectError(Message(alice_, request, std::string(2001, 'x')), 400, "invalid");
  EXPECT_EQ(Message(alice_, request, std::string(2000, 'x')).status, 201);
}

}  // namespace
}  // namespace portail::testing
