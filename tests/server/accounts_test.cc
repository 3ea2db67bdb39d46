// Accounts over real HTTP: the family's journey, links, sessions, locks, subscriptions, agents,
// and every endpoint's answers to bad input, wrong roles and other families' data.
#include <gtest/gtest.h>

#include "tests/support/portal.h"

namespace portail::testing {
namespace {

constexpr char kPassword[] = "correct horse battery";
constexpr char kAgentPassword[] = "agent staple battery";

class AccountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    portal_ = std::make_unique<Portal>();
    portal_->CreateStaff("agent@mairie.fr", kAgentPassword);
    agent_ = portal_->Login("agent@mairie.fr", kAgentPassword);
    ASSERT_FALSE(agent_.empty());
  }

  // The field names of a 400 answer.
  void Advance(std::chrono::microseconds d) { portal_->clock().Advance(d); }

  std::unique_ptr<Portal> portal_;
  std::string agent_;
};

TEST_F(AccountsTest, FamilyJourneyFromRegistrationToLogout) {
  auto [family_id, code] = portal_->CreateFamily(agent_, "Famille Martin");
  ASSERT_EQ(code.size(), 14u);  // XXXX-XXXX-XXXX

  auto registered = portal_->Post("/api/v1/accounts", {{"email", "Alice.Martin@Example.org"},
                                                       {"password", kPassword},
                                                       {"first_name", "Alice"},
                                                       {"last_name", "Martin"}});
  ASSERT_EQ(registered.status, 202) << registered.body;
  // Not active yet: the right password is told apart only as "not activated".
  ExpectError(portal_->Post("/api/v1/sessions",
                            {{"email", "alice.martin@example.org"}, {"password", kPassword}}),
              403, "forbidden");

  auto mails = WaitForMails(portal_->outbox(), 1);
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0].to, "<Alice.Martin@Example.org>");
  EXPECT_EQ(mails[0].subject, "Activez votre compte du Portail Famille");
  EXPECT_NE(mails[0].text.find("Bonjour Alice,"), std::string::npos);
  EXPECT_NE(mails[0].html.find("<a href=\"http://portail.test/activation?token="),
            std::string::npos);
  EXPECT_FALSE(mails[0].message_id.empty());
  std::string token = LinkToken(mails[0].text);
  ASSERT_EQ(token.size(), 43u);  // 256 bits, base64url

  ASSERT_EQ(portal_->Post("/api/v1/accounts/activate", {{"token", token}}).status, 200);
  std::string session = portal_->Login("ALICE.martin@example.org", kPassword);
  ASSERT_FALSE(session.empty());

  auto lookup = portal_->Post("/api/v1/me/subscriptions/lookup", {{"subscriber_code", code}},
                              Bearer(session));
  ASSERT_EQ(lookup.status, 200) << lookup.body;
  EXPECT_EQ(BodyOf(lookup)["family_name"], "Famille Martin");
  EXPECT_EQ(BodyOf(lookup).size(), 2u);  // the name (and whether already subscribed), no more

  // Lower case and without dashes is the same code.
  std::string typed = code;
  std::erase(typed, '-');
  for (auto& c : typed) c = static_cast<char>(std::tolower(c));
  auto subscribed =
      portal_->Post("/api/v1/me/subscriptions", {{"subscriber_code", typed}}, Bearer(session));
  ASSERT_EQ(subscribed.status, 201) << subscribed.body;
  EXPECT_EQ(BodyOf(subscribed)["family_id"], family_id);

  // Usable at once, on the same session.
  auto me = portal_->Get("/api/v1/me", Bearer(session));
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(BodyOf(me)["email"], "Alice.Martin@Example.org");
  EXPECT_EQ(BodyOf(me)["role"], "family");
  ASSERT_EQ(BodyOf(me)["subscriptions"].size(), 1u);
  EXPECT_EQ(BodyOf(me)["subscriptions"][0]["family_id"], family_id);
  EXPECT_EQ(BodyOf(me)["subscriptions"][0]["name"], "Famille Martin");

  auto logout = portal_->Delete("/api/v1/sessions/current", Bearer(session));
  EXPECT_EQ(logout.status, 204);
  EXPECT_NE(logout.headers.at("set-cookie").find("Max-Age=0"), std::string::npos);
  ExpectError(portal_->Get("/api/v1/me", Bearer(session)), 401, "unauthenticated");
}

TEST_F(AccountsTest, LoginSetsAStrictHttpOnlyCookieThatAuthenticates) {
  std::string token = portal_->RegisterActivateLogin("bob@example.org", kPassword, "Bob");
  ASSERT_FALSE(token.empty());
  auto r =
      portal_->Post("/api/v1/sessions", {{"email", "bob@example.org"}, {"password", kPassword}});
  ASSERT_EQ(r.status, 201);
  std::string cookie = r.headers.at("set-cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  std::string pair = cookie.substr(0, cookie.find(';'));
  auto me = portal_->Get("/api/v1/me", {{"Cookie", "other=1; " + pair}});
  EXPECT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(BodyOf(me)["first_name"], "Bob");
}

TEST_F(AccountsTest, CookieAuthenticatedWritesNeedTheCsrfHeaderAndOurOrigin) {
  ASSERT_FALSE(portal_->RegisterActivateLogin("carl@example.org", kPassword).empty());
  auto login =
      portal_->Post("/api/v1/sessions", {{"email", "carl@example.org"}, {"password", kPassword}});
  std::string cookie = login.headers.at("set-cookie");
  cookie = cookie.substr(0, cookie.find(';'));
  auto [family_id, code] = portal_->CreateFamily(agent_, "Famille Carl");
  Json body = {{"subscriber_code", code}};
  ExpectError(portal_->Post("/api/v1/me/subscriptions", body, {{"Cookie", cookie}}), 403,
              "forbidden");
  ExpectError(portal_->Post("/api/v1/me/subscriptions", body,
                            {{"Cookie", cookie},
                             {"X-Requested-With", "portail"},
                             {"Origin", "https://evil.example"}}),
              403, "forbidden");
  auto ok = portal_->Post(
      "/api/v1/me/subscriptions", body,
      {{"Cookie", cookie}, {"X-Requested-With", "portail"}, {"Origin", "http://portail.test"}});
  EXPECT_EQ(ok.status, 201) << ok.body;
}

TEST_F(AccountsTest, RegisteringATakenEmailAnswersTheSameAndTellsTheOwner) {
  ASSERT_FALSE(portal_->RegisterActivateLogin("dora@example.org", kPassword, "Dora").empty());
  auto again = portal_->Post("/api/v1/accounts", {{"email", "DORA@example.org"},
                                                  {"password", "another long password"},
                                                  {"first_name", "Mallory"},
                                                  {"last_name", "X"}});
  EXPECT_EQ(again.status, 202);
  auto first = portal_->Post("/api/v1/accounts", {{"email", "new@example.org"},
                                                  {"password", "another long password"},
                                                  {"first_name", "New"},
                                                  {"last_name", "X"}});
  EXPECT_EQ(again.body, first.body);  // nothing tells the caller the e-mail exists
  auto mails = WaitForMails(portal_->outbox(), 3);
  ASSERT_EQ(mails.size(), 3u);
  bool told = false;
  for (const auto& m : mails) {
    if (m.subject == "Tentative d'inscription avec votre adresse e-mail") {
      told = true;
      EXPECT_EQ(m.to, "<DORA@example.org>");
      EXPECT_EQ(LinkToken(m.text), "");  // no link that would activate anything
    }
  }
  EXPECT_TRUE(told);
  // The original password still works; the intruder's does not.
  EXPECT_FALSE(portal_->Login("dora@example.org", kPassword).empty());
  EXPECT_TRUE(portal_->Login("dora@example.org", "another long password").empty());
}

TEST_F(AccountsTest, ActivationLinksAreSingleUseExpireAndDieWhenReplaced) {
  auto reg = [&](const std::string& email) {
    return portal_->Post(
        "/api/v1/accounts",
        {{"email", email}, {"password", kPassword}, {"first_name", "E"}, {"last_name", "F"}});
  };
  ASSERT_EQ(reg("eve@example.org").status, 202);
  std::string first = LinkToken(WaitForMails(portal_->outbox(), 1).back().text);
  // A new link kills the old one.
  ASSERT_EQ(
      portal_->Post("/api/v1/accounts/activation-requests", {{"email", "eve@example.org"}}).status,
      202);
  auto mails = WaitForMails(portal_->outbox(), 2);
  ASSERT_EQ(mails.size(), 2u);
  std::string second = LinkToken(mails.back().text);
  ASSERT_NE(first, second);
  ExpectError(portal_->Post("/api/v1/accounts/activate", {{"token", first}}), 410, "gone");
  // Expired after 48 h.
  Advance(std::chrono::hours(49));
  auto expired = portal_->Post("/api/v1/accounts/activate", {{"token", second}});
  ExpectError(expired, 410, "gone");
  EXPECT_NE(BodyOf(expired)["error"]["message"].get<std::string>().find("expired"),
            std::string::npos);
  // A fresh one works once.
  ASSERT_EQ(
      portal_->Post("/api/v1/accounts/activation-requests", {{"email", "eve@example.org"}}).status,
      202);
  std::string third = LinkToken(WaitForMails(portal_->outbox(), 3).back().text);
  EXPECT_EQ(portal_->Post("/api/v1/accounts/activate", {{"token", third}}).status, 200);
  auto used = portal_->Post("/api/v1/accounts/activate", {{"token", third}});
  ExpectError(used, 410, "gone");
  EXPECT_NE(BodyOf(used)["error"]["message"].get<std::string>().find("already used"),
            std::string::npos);
  ExpectError(portal_->Post("/api/v1/accounts/activate", {{"token", std::string(43, 'A')}}), 404,
              "not_found");
  // Once active, asking for a link sends nothing more.
  ASSERT_EQ(
      portal_->Post("/api/v1/accounts/activation-requests", {{"email", "eve@example.org"}}).status,
      202);
  ASSERT_EQ(portal_->Post("/api/v1/accounts/activation-requests", {{"email", "nobody@example.org"}})
                .status,
            202);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(ReadMails(portal_->outbox()).size(), 3u);
}

TEST_F(AccountsTest, UnknownEmailAndWrongPasswordGetTheSameAnswer) {
  ASSERT_FALSE(portal_->RegisterActivateLogin("fay@example.org", kPassword).empty());
  auto wrong = portal_->Post("/api/v1/sessions",
                             {{"email", "fay@example.org"}, {"password", "not the password"}});
  auto unknown = portal_->Post("/api/v1/sessions",
                               {{"email", "who@example.org"}, {"password", "not the password"}});
  ExpectError(wrong, 401, "unauthenticated");
  EXPECT_EQ(wrong.body, unknown.body);
}

TEST_F(AccountsTest, RepeatedFailuresSlowDownThenLockUntilAnAgentUnlocks) {
  std::string family = portal_->RegisterActivateLogin("gus@example.org", kPassword);
  ASSERT_FALSE(family.empty());
  Json wrong = {{"email", "gus@example.org"}, {"password", "not the password"}};
  for (int i = 0; i < 3; ++i)
    ExpectError(portal_->Post("/api/v1/sessions", wrong), 401, "unauthenticated");
  // After 3 failures, attempts are spaced out, even with the right password.
  auto slowed =
      portal_->Post("/api/v1/sessions", {{"email", "gus@example.org"}, {"password", kPassword}});
  ExpectError(slowed, 429, "too_many_requests");
  EXPECT_FALSE(slowed.headers.at("retry-after").empty());
  for (int i = 3; i < 10; ++i) {
    Advance(std::chrono::seconds(61));
    ExpectError(portal_->Post("/api/v1/sessions", wrong), 401, "unauthenticated");
  }
  // Ten failures lock the account: the right password now says so.
  Advance(std::chrono::seconds(61));
  ExpectError(
      portal_->Post("/api/v1/sessions", {{"email", "gus@example.org"}, {"password", kPassword}}),
      423, "locked");
  // Agents see the lock and lift it.
  auto list = portal_->Get("/api/v1/agent/accounts?q=gus", Bearer(agent_));
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(BodyOf(list)["accounts"].size(), 1u);
  Json row = BodyOf(list)["accounts"][0];
  EXPECT_TRUE(row["locked"].get<bool>());
  EXPECT_EQ(row["failed_logins"], 10);
  auto unlocked =
      portal_->Post("/api/v1/agent/accounts/" + row["id"].get<std::string>() + "/unlock",
                    Json::object(), Bearer(agent_));
  ASSERT_EQ(unlocked.status, 200) << unlocked.body;
  EXPECT_FALSE(BodyOf(unlocked)["locked"].get<bool>());
  EXPECT_FALSE(portal_->Login("gus@example.org", kPassword).empty());
}

TEST_F(AccountsTest, TheSystemLockEndsByItselfAfterItsDuration) {
  ASSERT_FALSE(portal_->RegisterActivateLogin("hal@example.org", kPassword).empty());
  Json wrong = {{"email", "hal@example.org"}, {"password", "not the password"}};
  for (int i = 0; i < 10; ++i) {
    ExpectError(portal_->Post("/api/v1/sessions", wrong), 401, "unauthenticated");
    Advance(std::chrono::seconds(61));
  }
  EXPECT_TRUE(portal_->Login("hal@example.org", kPassword).empty());
  Advance(std::chrono::minutes(31));
  EXPECT_FALSE(portal_->Login("hal@example.org", kPassword).empty());
}

TEST_F(AccountsTest, AnAgentLockEndsTheAccountsSessions) {
  std::string session = portal_->RegisterActivateLogin("ida@example.org", kPassword);
  ASSERT_FALSE(session.empty());
  auto id = BodyOf(portal_->Get("/api/v1/me", Bearer(session)))["id"].get<std::string>();
  auto locked = portal_->Post("/api/v1/agent/accounts/" + id + "/lock",
                              {{"reason", "reported stolen"}}, Bearer(agent_));
  ASSERT_EQ(locked.status, 200) << locked.body;
  EXPECT_TRUE(BodyOf(locked)["locked_by_agent"].get<bool>());
  ExpectError(portal_->Get("/api/v1/me", Bearer(session)), 401, "unauthenticated");
  ExpectError(
      portal_->Post("/api/v1/sessions", {{"email", "ida@example.org"}, {"password", kPassword}}),
      423, "locked");
  ExpectError(portal_->Post("/api/v1/agent/accounts/nope/lock", Json::object(), Bearer(agent_)),
              404, "not_found");
}

TEST_F(AccountsTest, SessionsExpireWhenIdleAndAfterTheirLifetime) {
  std::string session = portal_->RegisterActivateLogin("jo@example.org", kPassword);
  ASSERT_FALSE(session.empty());
  Advance(std::chrono::minutes(29));
  EXPECT_EQ(portal_->Get("/api/v1/me", Bearer(session)).status, 200);
  Advance(std::chrono::minutes(29));  // active every 29 minutes: still alive
  EXPECT_EQ(portal_->Get("/api/v1/me", Bearer(session)).status, 200);
  Advance(std::chrono::minutes(31));
  ExpectError(portal_->Get("/api/v1/me", Bearer(session)), 401, "unauthenticated");

  std::string other = portal_->Login("jo@example.org", kPassword);
  for (int i = 0; i < 26; ++i) {  // 13 hours of activity every 30 minutes
    Advance(std::chrono::minutes(29) + std::chrono::seconds(60));
    if (portal_->Get("/api/v1/me", Bearer(other)).status != 200) break;
  }
  ExpectError(portal_->Get("/api/v1/me", Bearer(other)), 401, "unauthenticated");
}

TEST_F(AccountsTest, PasswordResetChangesThePasswordAndEndsOtherSessions) {
  std::string session = portal_->RegisterActivateLogin("kim@example.org", kPassword);
  ASSERT_FALSE(session.empty());
  auto asked = portal_->Post("/api/v1/password-resets", {{"email", "KIM@example.org"}});
  EXPECT_EQ(asked.status, 202);
  EXPECT_EQ(asked.body,
            portal_->Post("/api/v1/password-resets", {{"email", "none@example.org"}}).body);
  auto mails = WaitForMails(portal_->outbox(), 2);
  ASSERT_EQ(mails.size(), 2u);
  EXPECT_EQ(mails.back().subject, "Réinitialisation de votre mot de passe");
  std::string token = LinkToken(mails.back().text);
  auto weak =
      portal_->Post("/api/v1/password-resets/confirm", {{"token", token}, {"password", "short"}});
  ExpectError(weak, 400, "invalid");
  EXPECT_EQ(Fields(weak), std::set<std::string>{"password"});
  auto done = portal_->Post("/api/v1/password-resets/confirm",
                            {{"token", token}, {"password", "a brand new passphrase"}});
  ASSERT_EQ(done.status, 200) << done.body;
  ExpectError(portal_->Get("/api/v1/me", Bearer(session)), 401, "unauthenticated");
  EXPECT_TRUE(portal_->Login("kim@example.org", kPassword).empty());
  EXPECT_FALSE(portal_->Login("kim@example.org", "a brand new passphrase").empty());
  ExpectError(portal_->Post("/api/v1/password-resets/confirm",
                            {{"token", token}, {"password", "yet another passphrase"}}),
              410, "gone");
}

TEST_F(AccountsTest, SubscriberCodesAreCheckedAndGuessingIsLimited) {
  std::string session = portal_->RegisterActivateLogin("lea@example.org", kPassword);
  auto [family_id, code] = portal_->CreateFamily(agent_, "Famille Léa");
  auto wrong = portal_->Post("/api/v1/me/subscriptions/lookup",
                             {{"subscriber_code", "AAAA-BBBB-CCCC"}}, Bearer(session));
  ExpectError(wrong, 404, "not_found");
  EXPECT_EQ(Fields(wrong), std::set<std::string>{"subscriber_code"});
  ExpectError(portal_->Post("/api/v1/me/subscriptions/lookup", {{"subscriber_code", "0O1I"}},
                            Bearer(session)),
              404, "not_found");
  for (int i = 2; i < 10; ++i) {
    portal_->Post("/api/v1/me/subscriptions/lookup", {{"subscriber_code", "AAAA-BBBB-CCCC"}},
                  Bearer(session));
  }
  // Even the right code waits once the guesses ran out.
  auto limited =
      portal_->Post("/api/v1/me/subscriptions", {{"subscriber_code", code}}, Bearer(session));
  ExpectError(limited, 429, "too_many_requests");
  EXPECT_GT(std::stoi(limited.headers.at("retry-after")), 0);
  Advance(std::chrono::minutes(16));
  EXPECT_EQ(portal_->Post("/api/v1/me/subscriptions", {{"subscriber_code", code}}, Bearer(session))
                .status,
            201);
}

TEST_F(AccountsTest, RegeneratedCodeReplacesTheOldOne) {
  std::string session = portal_->RegisterActivateLogin("max@example.org", kPassword);
  auto [family_id, code] = portal_->CreateFamily(agent_, "Famille Max");
  auto regenerated = portal_->Post("/api/v1/agent/families/" + family_id + "/subscriber-code",
                                   Json::object(), Bearer(agent_));
  ASSERT_EQ(regenerated.status, 200) << regenerated.body;
  std::string fresh = BodyOf(regenerated)["subscriber_code"];
  EXPECT_NE(fresh, code);
  ExpectError(
      portal_->Post("/api/v1/me/subscriptions", {{"subscriber_code", code}}, Bearer(session)), 404,
      "not_found");
  EXPECT_EQ(portal_->Post("/api/v1/me/subscriptions", {{"subscriber_code", fresh}}, Bearer(session))
                .status,
            201);
}

TEST_F(AccountsTest, OneFamilyManyAccountsAndOneAccountManyFamilies) {
  std::string mum = portal_->RegisterActivateLogin("mum@example.org", kPassword);
  std::string dad = portal_->RegisterActivateLogin("dad@example.org", kPassword);
  auto [first_id, first_code] = portal_->CreateFamily(agent_, "Famille Une");
  auto [second_id, second_code] = portal_->CreateFamily(agent_, "Famille Deux");
  for (const auto& [session, code] : std::vector<std::pair<std::string, std::string>>{
           {mum, first_code}, {dad, first_code}, {mum, second_code}}) {
    ASSERT_EQ(
        portal_->Post("/api/v1/me/subscriptions", {{"subscriber_code", code}}, Bearer(session))
            .status,
        201);
  }
  EXPECT_EQ(BodyOf(portal_->Get("/api/v1/me", Bearer(mum)))["subscriptions"].size(), 2u);
  EXPECT_EQ(BodyOf(portal_->Get("/api/v1/me", Bearer(dad)))["subscriptions"].size(), 1u);
  auto family = portal_->Get("/api/v1/agent/families/" + first_id, Bearer(agent_));
  ASSERT_EQ(family.status, 200);
  EXPECT_EQ(BodyOf(family)["accounts"].size(), 2u);
  // Unsubscribing drops only that link; another family's id is not ours to drop.
  EXPECT_EQ(portal_->Delete("/api/v1/me/subscriptions/" + second_id, Bearer(mum)).status, 204);
  ExpectError(portal_->Delete("/api/v1/me/subscriptions/" + second_id, Bearer(dad)), 404,
              "not_found");
  EXPECT_EQ(BodyOf(portal_->Get("/api/v1/me", Bearer(mum)))["subscriptions"].size(), 1u);
}

TEST_F(AccountsTest, AgentsListAndSearchFamiliesAndAccounts) {
  portal_->CreateFamily(agent_, "Famille Dupont");
  portal_->CreateFamily(agent_, "Famille Durand");
  auto all = portal_->Get("/api/v1/agent/families", Bearer(agent_));
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(BodyOf(all)["families"].size(), 2u);
  auto found = portal_->Get("/api/v1/agent/families?q=dupont", Bearer(agent_));
  ASSERT_EQ(BodyOf(found)["families"].size(), 1u);
  EXPECT_EQ(BodyOf(found)["families"][0]["name"], "Famille Dupont");
  EXPECT_EQ(
      BodyOf(portal_->Get("/api/v1/agent/families?limit=1", Bearer(agent_)))["families"].size(),
      1u);
  ExpectError(portal_->Get("/api/v1/agent/families?limit=0", Bearer(agent_)), 400, "invalid");
  ExpectError(portal_->Get("/api/v1/agent/families?limit=x", Bearer(agent_)), 400, "invalid");
  ExpectError(portal_->Get("/api/v1/agent/families/unknown", Bearer(agent_)), 404, "not_found");
  auto accounts = portal_->Get("/api/v1/agent/accounts?q=mairie", Bearer(agent_));
  ASSERT_EQ(BodyOf(accounts)["accounts"].size(), 1u);
  EXPECT_EQ(BodyOf(accounts)["accounts"][0]["role"], "agent");
  EXPECT_FALSE(BodyOf(accounts)["accounts"][0].contains("password_hash"));
}

TEST_F(AccountsTest, RolesAreEnforcedOnEveryEndpoint) {
  std::string family = portal_->RegisterActivateLogin("ned@example.org", kPassword);
  portal_->CreateStaff("audit@mairie.fr", kAgentPassword, schema::Role::Auditor);
  std::string auditor = portal_->Login("audit@mairie.fr", kAgentPassword);
  ASSERT_FALSE(auditor.empty());
  auto [family_id, code] = portal_->CreateFamily(agent_, "Famille Ned");

  struct Call {
    std::string method;
    std::string target;
    Json body;
  };
  std::vector<Call> agent_only = {
      {"POST", "/api/v1/agent/families", {{"name", "X"}}},
      {"POST", "/api/v1/agent/families/" + family_id + "/subscriber-code", Json::object()},
      {"POST", "/api/v1/agent/accounts/x/lock", Json::object()},
      {"POST", "/api/v1/agent/accounts/x/unlock", Json::object()},
  };
  std::vector<Call> staff_reads = {
      {"GET", "/api/v1/agent/families", nullptr},
      {"GET", "/api/v1/agent/families/" + family_id, nullptr},
      {"GET", "/api/v1/agent/accounts", nullptr},
  };
  std::vector<Call> family_only = {
      {"POST", "/api/v1/me/subscriptions/lookup", {{"subscriber_code", code}}},
      {"POST", "/api/v1/me/subscriptions", {{"subscriber_code", code}}},
  };
  HttpClient client(portal_->port());
  auto call = [&](const Call& c, const std::string& token) {
    Headers headers;
    if (!token.empty()) headers = Bearer(token);
    return client.Request(c.method, c.target, c.body.is_null() ? "" : c.body.dump(), headers);
  };
  for (const auto& c : agent_only) {
    ExpectError(call(c, ""), 401, "unauthenticated");
    ExpectError(call(c, family), 403, "forbidden");
    ExpectError(call(c, auditor), 403, "forbidden");
  }
  for (const auto& c : staff_reads) {
    ExpectError(call(c, ""), 401, "unauthenticated");
    ExpectError(call(c, family), 403, "forbidden");
    EXPECT_EQ(call(c, auditor).status, 200) << c.target;
  }
  for (const auto& c : family_only) {
    ExpectError(call(c, ""), 401, "unauthenticated");
    ExpectError(call(c, agent_), 403, "forbidden");
    ExpectError(call(c, auditor), 403, "forbidden");
  }
  ExpectError(client.Request("GET", "/api/v1/me", "", Bearer("not-a-token")), 401,
              "unauthenticated");
  ExpectError(client.Request("DELETE", "/api/v1/sessions/current"), 401, "unauthenticated");
  ExpectError(client.Request("DELETE", "/api/v1/me/subscriptions/" + family_id), 401,
              "unauthenticated");
  ExpectError(client.Request("DELETE", "/api/v1/me/subscriptions/" + family_id, "", Bearer(agent_)),
              403, "forbidden");
}

TEST_F(AccountsTest, EveryJsonEndpointRejectsBadBodiesAndKeepsTheLogIntact) {
  std::string family = portal_->RegisterActivateLogin("oda@example.org", kPassword);
  uint64_t head = portal_->app().services().store->HeadPosition();
  std::vector<std::pair<std::string, std::string>> endpoints = {
      {"/api/v1/accounts", ""},
      {"/api/v1/accounts/activate", ""},
      {"/api/v1/accounts/activation-requests", ""},
      {"/api/v1/sessions", ""},
      {"/api/v1/password-resets", ""},
      {"/api/v1/password-resets/confirm", ""},
      {"/api/v1/me/subscriptions/lookup", family},
      {"/api/v1/me/subscriptions", family},
      {"/api/v1/agent/families", agent_},
  };
  HttpClient client(portal_->port());
  for (const auto& [target, token] : endpoints) {
    Headers auth = token.empty() ? Headers{} : Bearer(token);
    ExpectError(client.Request("POST", target, "{\"email\": ", auth), 400, "invalid");
    ExpectError(client.Request("POST", target, "[1]", auth), 400, "invalid");
    Headers text = auth;
    text.emplace_back("Content-Type", "text/plain");
    ExpectError(client.Request("POST", target, "{}", text), 415, "unsupported_media_type");
    auto empty = client.Request("POST", target, "{\"surprise\": 1}", auth);
    ExpectError(empty, 400, "invalid");
    EXPECT_TRUE(Fields(empty).contains("surprise")) << target << " " << empty.body;
    EXPECT_GE(Fields(empty).size(), 2u) << target;  // the unknown field and a missing one
  }
  EXPECT_EQ(portal_->app().services().store->HeadPosition(), head);
}

TEST_F(AccountsTest, RegistrationReportsEachBadField) {
  auto r = portal_->Post("/api/v1/accounts", {{"email", "not-an-email"},
                                              {"password", "azertyuiop123"},
                                              {"first_name", ""},
                                              {"last_name", 12}});
  ExpectError(r, 400, "invalid");
  EXPECT_EQ(Fields(r), (std::set<std::string>{"email", "first_name", "last_name"}));
  auto common = portal_->Post("/api/v1/accounts", {{"email", "pat@example.org"},
                                                   {"password", "azertyuiop123"},
                                                   {"first_name", "P"},
                                                   {"last_name", "Q"}});
  ExpectError(common, 400, "invalid");
  EXPECT_EQ(Fields(common), std::set<std::string>{"password"});
  auto same = portal_->Post("/api/v1/accounts", {{"email", "pat.long.address@example.org"},
                                                 {"password", "pat.long.address@example.org"},
                                                 {"first_name", "P"},
                                                 {"last_name", "Q"}});
  EXPECT_EQ(Fields(same), std::set<std::string>{"password"});
  auto short_one = portal_->Post("/api/v1/accounts", {{"email", "pat@example.org"},
                                                      {"password", "short"},
                                                      {"first_name", "P"},
                                                      {"last_name", "Q"}});
  EXPECT_EQ(Fields(short_one), std::set<std::string>{"password"});
  auto bad_code = portal_->Post("/api/v1/accounts", {{"email", "pat@example.org"},
                                                     {"password", kPassword},
                                                     {"first_name", "P"},
                                                     {"last_name", "Q"},
                                                     {"subscriber_code", "ZZZZ-ZZZZ-ZZZZ"}});
  ExpectError(bad_code, 404, "not_found");
  EXPECT_EQ(Fields(bad_code), std::set<std::string>{"subscriber_code"});
}

TEST_F(AccountsTest, ACodeGivenAtRegistrationSubscribesAtOnce) {
  auto [family_id, code] = portal_->CreateFamily(agent_, "Famille Quentin");
  auto r = portal_->Post("/api/v1/accounts", {{"email", "quentin@example.org"},
                                              {"password", kPassword},
                                              {"first_name", "Quentin"},
                                              {"last_name", "R"},
                                              {"subscriber_code", code}});
  ASSERT_EQ(r.status, 202) << r.body;
  std::string token = LinkToken(WaitForMails(portal_->outbox(), 1).back().text);
  ASSERT_EQ(portal_->Post("/api/v1/accounts/activate", {{"token", token}}).status, 200);
  std::string session = portal_->Login("quentin@example.org", kPassword);
  auto me = BodyOf(portal_->Get("/api/v1/me", Bearer(session)));
  ASSERT_EQ(me["subscriptions"].size(), 1u);
  EXPECT_EQ(me["subscriptions"][0]["family_id"], family_id);
}

TEST_F(AccountsTest, NoSecretReachesTheServerLog) {
  // The request log names routes, never targets or bodies: tokens and passwords stay out.
  std::string session = portal_->RegisterActivateLogin("ray@example.org", kPassword);
  auto metrics = portal_->Get("/metrics");
  EXPECT_EQ(metrics.body.find(session), std::string::npos);
  EXPECT_NE(metrics.body.find("route=\"/api/v1/sessions\""), std::string::npos);
}

TEST_F(AccountsTest, MailIsNotLostAcrossARestart) {
  // Mail queued while the mailer is stopped is delivered by the next run, once.
  std::string data = portal_->data_dir();
  portal_->app().Shutdown();
  {
    server::AppOptions options;
    options.data_dir = data;
    options.http.port = 0;
    options.accounts.password_cost = server::PasswordCost::Minimum();
    auto app = server::App::Open(options);  // not started: no mailer running
    ASSERT_TRUE(app.has_value());
    auto command = std::make_unique<commands::RegisterAccount>();
    command->account_id = server::RandomId();
    command->email = "sam@example.org";
    command->email_key = server::EmailKey(command->email);
    command->first_name = "Sam";
    command->last_name = "S";
    command->password_hash = "x";
    command->activation = {"tid", "thash", portal_->clock().Now() + 1000000};
    command->mail_id = "mail-restart";
    ASSERT_TRUE((*app)->services().bus->Execute(std::move(command)).has_value());
    (*app)->Shutdown();
  }
  EXPECT_TRUE(ReadMails(data + "/outbox").empty());
  server::AppOptions options;
  options.data_dir = data;
  options.http.port = 0;
  auto app = server::App::Open(options);
  ASSERT_TRUE(app.has_value());
  ASSERT_TRUE((*app)->Start().has_value());
  auto mails = WaitForMails(data + "/outbox", 1);
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_NE(mails[0].message_id.find("mail-restart@"), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(ReadMails(data + "/outbox").size(), 1u);
  (*app)->Shutdown();
}

}  // namespace
}  // namespace portail::testing
