// The family file over real HTTP: agents' edits, families' proposals and the agents' decisions,
// pending values, ETags, history, the queue, photos, privacy, roles and bad input.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <sstream>

#include "server/demo.h"
#include "tests/support/portal.h"

namespace portail::testing {
namespace {

constexpr char kPassword[] = "correct horse battery";
constexpr char kAgentPassword[] = "agent staple battery";
constexpr char kIban[] = "FR7630006000011234567890189";

// A small PNG: signature, IHDR (width x height), one IDAT and IEND (CRCs are not checked).
std::string Png(uint32_t width, uint32_t height, char fill = 'x') {
  auto be32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 8), static_cast<char>(v)};
  };
  std::string png = "\x89PNG\r\n\x1a\n";
  png += be32(13) + "IHDR" + be32(width) + be32(height) + std::string("\x08\x02\x00\x00\x00", 5);
  png += be32(0);
  png += be32(4) + "IDAT" + std::string(4, fill) + be32(0);
  png += be32(0) + "IEND" + be32(0xAE426082);
  return png;
}

class DossierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    portal_ = std::make_unique<Portal>();
    portal_->CreateStaff("agent@mairie.fr", kAgentPassword);
    agent_ = portal_->Login("agent@mairie.fr", kAgentPassword);
    ASSERT_FALSE(agent_.empty());
    std::tie(family_, code_) = portal_->CreateFamily(agent_, "Famille Martin");
    parent_ = SubscribedParent("alice@example.org", "Alice");
  }

  // A registered, logged-in parent subscribed to the Martin family.
  std::string SubscribedParent(const std::string& email, const std::string& first_name) {
    std::string token = portal_->RegisterActivateLogin(email, kPassword, first_name);
    auto r = portal_->Post("/api/v1/me/subscriptions", {{"subscriber_code", code_}}, Bearer(token));
    EXPECT_EQ(r.status, 201) << r.body;
    return token;
  }

  std::string Path(const std::string& rest) { return "/api/v1/families/" + family_ + rest; }

  HttpResult Patch(const std::string& token, const std::string& member, const std::string& section,
                   const Json& fields, const std::string& if_match = "") {
    Headers headers = Bearer(token);
    if (!if_match.empty()) headers.emplace_back("If-Match", if_match);
    return portal_->Send("PATCH", Path("/members/" + member + "/sections/" + section),
                         fields.dump(), headers);
  }

  // An agent adds a member; returns its id.
  std::string AddMember(const Json& body) {
    auto r = portal_->Post(Path("/members"), body, Bearer(agent_));
    EXPECT_EQ(r.status, 201) << r.body;
    return BodyOf(r).value("member_id", "");
  }

  Json Dossier(const std::string& token) {
    auto r = portal_->Get(Path("/dossier"), Bearer(token));
    EXPECT_EQ(r.status, 200) << r.body;
    return BodyOf(r);
  }

  static const Json& MemberOf(const Json& dossier, const std::string& id) {
    for (const auto& m : dossier["members"]) {
      if (m["id"] == id) return m;
    }
    static const Json kNone;
    return kNone;
  }

  // Adds the guardian Alice (address, bank) and two children; returns their ids.
  void GivenMembers() {
    guardian_ =
        AddMember({{"kind", "guardian"},
                   {"sections",
                    {{"basic", {{"first_name", "Alice"}, {"last_name", "Martin"}}},
                     {"address",
                      {{"street", "1 rue de la Paix"}, {"postal_code", "69001"}, {"city", "Lyon"}}},
                     {"bank", {{"account_holder", "Alice Martin"}, {"iban", kIban}}}}}});
    child_ = AddMember(
        {{"kind", "child"},
         {"sections",
          {{"general", {{"first_name", "Léa"}, {"last_name", "Martin"}, {"class", "CE1"}}},
           {"health", {{"allergies", "arachide"}, {"pai", true}}}}}});
    child2_ =
        AddMember({{"kind", "child"},
                   {"sections", {{"general", {{"first_name", "Hugo"}, {"last_name", "Martin"}}}}}});
  }

  std::unique_ptr<Portal> portal_;
  std::string agent_, family_, code_, parent_;
  std::string guardian_, child_, child2_;
};

TEST_F(DossierTest, ProposalsArePendingUntilTheTownDecides) {
  GivenMembers();
  auto first = portal_->Get(Path("/dossier"), Bearer(parent_));
  ASSERT_EQ(first.status, 200) << first.body;
  std::string etag = first.headers["etag"];
  EXPECT_EQ(etag, "\"9\"");  // 9 events on the file's stream: 3 members and their sections
  Json dossier = BodyOf(first);
  EXPECT_EQ(MemberOf(dossier, child_)["colour"], "#e6194b");
  EXPECT_EQ(MemberOf(dossier, child2_)["colour"], "#3cb44b");
  EXPECT_EQ(MemberOf(dossier, child_)["sections"]["health"]["pai"]["value"], true);

  // The parent proposes an address change and a health change.
  auto address =
      Patch(parent_, guardian_, "address", {{"city", "Paris"}, {"postal_code", "75011"}}, etag);
  ASSERT_EQ(address.status, 202) << address.body;
  std::string address_change = BodyOf(address)["change_id"];
  auto health = Patch(parent_, child_, "health", {{"diet", {"sans_porc"}}});
  ASSERT_EQ(health.status, 202) << health.body;
  std::string health_change = BodyOf(health)["change_id"];

  dossier = Dossier(parent_);
  const Json& city = MemberOf(dossier, guardian_)["sections"]["address"]["city"];
  EXPECT_EQ(city["value"], "Lyon");
  EXPECT_EQ(city["pending"]["value"], "Paris");
  EXPECT_EQ(city["pending"]["change_id"], address_change);
  EXPECT_EQ(city["pending"]["proposed_by"]["name"], "Alice Martin");
  EXPECT_EQ(MemberOf(dossier, child_)["sections"]["health"]["diet"]["pending"]["value"],
            Json::array({"sans_porc"}));
  EXPECT_EQ(dossier["pending_changes"].size(), 2u);

  // The agent approves one and rejects the other.
  auto approved = portal_->Post(Path("/changes/" + address_change + "/approve"), Json::object(),
                                Bearer(agent_));
  ASSERT_EQ(approved.status, 200) << approved.body;
  auto rejected = portal_->Post(Path("/changes/" + health_change + "/reject"),
                                {{"reason", "Merci de joindre le certificat."}}, Bearer(agent_));
  ASSERT_EQ(rejected.status, 200) << rejected.body;

  dossier = Dossier(parent_);
  const Json& address_now = MemberOf(dossier, guardian_)["sections"]["address"];
  EXPECT_EQ(address_now["city"]["value"], "Paris");
  EXPECT_EQ(address_now["postal_code"]["value"], "75011");
  EXPECT_FALSE(address_now["city"].contains("pending"));
  EXPECT_TRUE(MemberOf(dossier, child_)["sections"]["health"]["diet"]["value"].is_null());
  EXPECT_TRUE(dossier["pending_changes"].empty());

  // The history tells who did what, when, and why.
  auto history = portal_->Get(Path("/dossier/history?member=" + child_), Bearer(parent_));
  ASSERT_EQ(history.status, 200) << history.body;
  Json entries = BodyOf(history)["history"];
  std::vector<std::string> types;
  for (const auto& e : entries) types.push_back(e["type"]);
  EXPECT_EQ(types, (std::vector<std::string>{"member_added", "section_updated", "section_updated",
                                             "change_proposed", "change_rejected"}));
  const Json& rejection = entries.back();
  EXPECT_EQ(rejection["reason"], "Merci de joindre le certificat.");
  EXPECT_EQ(rejection["by"]["name"], "Agent Mairie");
  EXPECT_FALSE(rejection["at"].get<std::string>().empty());
}

TEST_F(DossierTest, TwoParentsEditingAtOnceGetAClearConflict) {
  GivenMembers();
  std::string bob = SubscribedParent("bob@example.org", "Bob");
  std::string etag = portal_->Get(Path("/dossier"), Bearer(parent_)).headers["etag"];
  ASSERT_EQ(etag, portal_->Get(Path("/dossier"), Bearer(bob)).headers["etag"]);
  auto first = Patch(parent_, guardian_, "address", {{"city", "Paris"}}, etag);
  ASSERT_EQ(first.status, 202) << first.body;
  EXPECT_NE(first.headers["etag"], etag);
  auto second = Patch(bob, guardian_, "address", {{"city", "Nice"}}, etag);
  ExpectError(second, 412, "precondition_failed");
  EXPECT_NE(BodyOf(second)["error"]["message"].get<std::string>().find("reload"),
            std::string::npos);
  // With the new ETag, Bob's proposal goes through and supersedes Alice's.
  auto retried = Patch(bob, guardian_, "address", {{"city", "Nice"}}, first.headers["etag"]);
  ASSERT_EQ(retried.status, 202) << retried.body;
  Json dossier = Dossier(parent_);
  EXPECT_EQ(MemberOf(dossier, guardian_)["sections"]["address"]["city"]["pending"]["value"],
            "Nice");
  ASSERT_EQ(dossier["pending_changes"].size(), 1u);
  // An unchanged file answers 304 to a conditional GET.
  std::string now = portal_->Get(Path("/dossier"), Bearer(parent_)).headers["etag"];
  Headers conditional = Bearer(parent_);
  conditional.emplace_back("If-None-Match", now);
  EXPECT_EQ(portal_->Get(Path("/dossier"), conditional).status, 304);
}

TEST_F(DossierTest, SensitiveDataIsForSubscribedAccountsAndAgentsOnly) {
  GivenMembers();
  Json dossier = Dossier(parent_);
  EXPECT_EQ(MemberOf(dossier, guardian_)["sections"]["bank"]["iban"]["value"],
            "FR76 **** **** **** **** ***0 189");
  auto bank = portal_->Get(Path("/members/" + guardian_ + "/bank"), Bearer(parent_));
  ASSERT_EQ(bank.status, 200) << bank.body;
  EXPECT_EQ(BodyOf(bank)["fields"]["iban"], kIban);
  EXPECT_EQ(portal_->Get(Path("/members/" + guardian_ + "/bank"), Bearer(agent_)).status, 200);

  portal_->CreateStaff("audit@mairie.fr", kAgentPassword, schema::Role::Auditor);
  std::string auditor = portal_->Login("audit@mairie.fr", kAgentPassword);
  auto audited = portal_->Get(Path("/dossier"), Bearer(auditor));
  ASSERT_EQ(audited.status, 200);
  EXPECT_EQ(audited.body.find("arachide"), std::string::npos);
  EXPECT_EQ(audited.body.find("\"bank\""), std::string::npos);
  EXPECT_EQ(audited.body.find("\"health\""), std::string::npos);
  EXPECT_EQ(BodyOf(audited)["redacted"], true);
  ExpectError(portal_->Get(Path("/members/" + guardian_ + "/bank"), Bearer(auditor)), 403,
              "forbidden");
  auto audited_history = portal_->Get(Path("/dossier/history"), Bearer(auditor));
  EXPECT_EQ(audited_history.body.find("arachide"), std::string::npos);
  EXPECT_EQ(audited_history.body.find("0189"), std::string::npos);
  // The parent's and agent's history shows values, IBANs masked.
  auto history = portal_->Get(Path("/dossier/history"), Bearer(parent_));
  EXPECT_NE(history.body.find("arachide"), std::string::npos);
  EXPECT_EQ(history.body.find(kIban), std::string::npos);
}

TEST_F(DossierTest, AReadAfterAChangeGetsTheNewFileAndETagNotAKeptOne) {
  GivenMembers();
  auto first = portal_->Get(Path("/dossier"), Bearer(parent_));
  ASSERT_EQ(first.status, 200) << first.body;
  auto again = portal_->Get(Path("/dossier"), Bearer(parent_));
  EXPECT_EQ(again.headers["etag"], first.headers["etag"]);
  EXPECT_EQ(again.body, first.body);
  // Another family's change moves the log, not this file.
  auto [other_family, other_code] = portal_->CreateFamily(agent_, "Famille Dubois");
  auto other =
      portal_->Post("/api/v1/families/" + other_family + "/members",
                    {{"kind", "child"},
                     {"sections", {{"general", {{"first_name", "Zoé"}, {"last_name", "Dubois"}}}}}},
                    Bearer(agent_));
  ASSERT_EQ(other.status, 201) << other.body;
  auto unmoved = portal_->Get(Path("/dossier"), Bearer(parent_));
  EXPECT_EQ(unmoved.headers["etag"], first.headers["etag"]);
  EXPECT_EQ(unmoved.body, first.body);

  auto edited = Patch(agent_, child2_, "general", {{"school", "Jean Jaurès"}});
  ASSERT_EQ(edited.status, 200) << edited.body;
  auto after = portal_->Get(Path("/dossier"), Bearer(parent_));
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(after.headers["etag"], edited.headers["etag"]);
  EXPECT_NE(after.headers["etag"], first.headers["etag"]);
  EXPECT_EQ(MemberOf(BodyOf(after), child2_)["sections"]["general"]["school"]["value"],
            "Jean Jaurès");
  EXPECT_EQ(BodyOf(after)["version"], std::stoi(after.headers["etag"].substr(1)));

  // The old ETag no longer matches; the new one does.
  Headers old_copy = Bearer(parent_);
  old_copy.emplace_back("If-None-Match", first.headers["etag"]);
  auto refreshed = portal_->Get(Path("/dossier"), old_copy);
  EXPECT_EQ(refreshed.status, 200);
  EXPECT_EQ(refreshed.body, after.body);
  Headers new_copy = Bearer(parent_);
  new_copy.emplace_back("If-None-Match", after.headers["etag"]);
  auto unchanged = portal_->Get(Path("/dossier"), new_copy);
  EXPECT_EQ(unchanged.status, 304);
  EXPECT_EQ(unchanged.headers["etag"], after.headers["etag"]);
  EXPECT_TRUE(unchanged.body.empty());

  // A family's proposal changes the file too: its pending value shows at once.
  auto proposed = Patch(parent_, child2_, "general", {{"school", "Voltaire"}});
  ASSERT_EQ(proposed.status, 202) << proposed.body;
  Json dossier = Dossier(parent_);
  EXPECT_EQ(MemberOf(dossier, child2_)["sections"]["general"]["school"]["pending"]["value"],
            "Voltaire");
  EXPECT_EQ(dossier["version"], std::stoi(proposed.headers["etag"].substr(1)));
}

TEST_F(DossierTest, TheRedactedFileStaysRedactedBesideTheFullOneAsBothChange) {
  GivenMembers();
  portal_->CreateStaff("audit@mairie.fr", kAgentPassword, schema::Role::Auditor);
  std::string auditor = portal_->Login("audit@mairie.fr", kAgentPassword);
  for (int round = 0; round < 2; ++round) {
    // The full file and the redacted one, each read twice, in both orders.
    for (int read = 0; read < 2; ++read) {
      auto full = portal_->Get(Path("/dossier"), Bearer(read == 0 ? parent_ : agent_));
      auto audited = portal_->Get(Path("/dossier"), Bearer(auditor));
      ASSERT_EQ(full.status, 200) << full.body;
      ASSERT_EQ(audited.status, 200) << audited.body;
      EXPECT_EQ(full.headers["etag"], audited.headers["etag"]);
      EXPECT_NE(full.body.find("\"health\""), std::string::npos);
      EXPECT_NE(full.body.find("\"bank\""), std::string::npos);
      EXPECT_FALSE(BodyOf(full).contains("redacted"));
      EXPECT_EQ(audited.body.find("\"health\""), std::string::npos);
      EXPECT_EQ(audited.body.find("\"bank\""), std::string::npos);
      EXPECT_EQ(audited.body.find("arachide"), std::string::npos);
      EXPECT_EQ(BodyOf(audited)["redacted"], true);
    }
    auto edited = Patch(agent_, child_, "health", {{"allergies", "gluten et arachide"}});
    ASSERT_EQ(edited.status, 200) << edited.body;
  }
  auto full = portal_->Get(Path("/dossier"), Bearer(parent_));
  EXPECT_NE(full.body.find("gluten et arachide"), std::string::npos);
  EXPECT_EQ(portal_->Get(Path("/dossier"), Bearer(auditor)).body.find("gluten"), std::string::npos);
}

TEST_F(DossierTest, AnotherFamilysFileDoesNotExistForAParent) {
  GivenMembers();
  auto [other_family, other_code] = portal_->CreateFamily(agent_, "Famille Dubois");
  std::string stranger = portal_->RegisterActivateLogin("eve@example.org", kPassword, "Eve");
  portal_->Post("/api/v1/me/subscriptions", {{"subscriber_code", other_code}}, Bearer(stranger));
  uint64_t head = portal_->app().services().store->HeadPosition();
  Headers eve = Bearer(stranger);
  ExpectError(portal_->Get(Path("/dossier"), eve), 404, "not_found");
  ExpectError(portal_->Get(Path("/dossier/history"), eve), 404, "not_found");
  ExpectError(portal_->Get(Path("/members/" + guardian_ + "/bank"), eve), 404, "not_found");
  ExpectError(Patch(stranger, guardian_, "address", {{"city", "Paris"}}), 404, "not_found");
  ExpectError(portal_->Post(Path("/members"), {{"kind", "child"}}, eve), 404, "not_found");
  ExpectError(portal_->Post(Path("/changes/x/withdraw"), Json::object(), eve), 404, "not_found");
  ExpectError(
      portal_->Send("PUT", Path("/members/" + child_ + "/photo"), Png(4, 4),
                    {{"Authorization", "Bearer " + stranger}, {"Content-Type", "image/png"}}),
      404, "not_found");
  // Without a session, nothing.
  ExpectError(portal_->Get(Path("/dossier")), 401, "unauthenticated");
  ExpectError(portal_->Get("/api/v1/agent/changes"), 401, "unauthenticated");
  EXPECT_EQ(portal_->app().services().store->HeadPosition(), head);
}

TEST_F(DossierTest, EachRoleDoesOnlyItsPart) {
  GivenMembers();
  auto change = Patch(parent_, guardian_, "address", {{"city", "Paris"}});
  std::string id = BodyOf(change)["change_id"];
  Headers parent = Bearer(parent_);
  ExpectError(portal_->Post(Path("/changes/" + id + "/approve"), Json::object(), parent), 403,
              "forbidden");
  ExpectError(portal_->Post(Path("/changes/" + id + "/reject"), {{"reason", "x"}}, parent), 403,
              "forbidden");
  ExpectError(portal_->Delete(Path("/members/" + child_), parent), 403, "forbidden");
  ExpectError(portal_->Get("/api/v1/agent/changes", parent), 403, "forbidden");
  ExpectError(portal_->Post(Path("/changes/" + id + "/withdraw"), Json::object(), Bearer(agent_)),
              403, "forbidden");
  ExpectError(portal_->Post(Path("/members"),
                            {{"kind", "guardian"},
                             {"sections", {{"basic", {{"first_name", "X"}, {"last_name", "Y"}}}}}},
                            parent),
              403, "forbidden");
  portal_->CreateStaff("audit@mairie.fr", kAgentPassword, schema::Role::Auditor);
  std::string auditor = portal_->Login("audit@mairie.fr", kAgentPassword);
  ExpectError(Patch(auditor, guardian_, "address", {{"city", "Nice"}}), 403, "forbidden");
  ExpectError(portal_->Post(Path("/changes/" + id + "/approve"), Json::object(), Bearer(auditor)),
              403, "forbidden");
  ExpectError(portal_->Get("/api/v1/agent/changes", Bearer(auditor)), 403, "forbidden");
  // The family withdraws its own change; then nobody can decide it.
  auto withdrawn = portal_->Post(Path("/changes/" + id + "/withdraw"), Json::object(), parent);
  ASSERT_EQ(withdrawn.status, 200) << withdrawn.body;
  ExpectError(portal_->Post(Path("/changes/" + id + "/approve"), Json::object(), Bearer(agent_)),
              409, "conflict");
  ExpectError(portal_->Post(Path("/changes/nope/approve"), Json::object(), Bearer(agent_)), 404,
              "not_found");
}

TEST_F(DossierTest, BadValuesAreNamedFieldByFieldAndChangeNothing) {
  GivenMembers();
  uint64_t head = portal_->app().services().store->HeadPosition();
  auto basic = Patch(agent_, guardian_, "basic",
                     {{"mobile_phone", "12345"},
                      {"email", "alice@"},
                      {"birth_date", "2199-01-01"},
                      {"civility", "Dr"},
                      {"nickname", "Al"},
                      {"last_name", nullptr}});
  ExpectError(basic, 400, "invalid");
  EXPECT_EQ(Fields(basic),
            (std::set<std::string>{"basic.mobile_phone", "basic.email", "basic.birth_date",
                                   "basic.civility", "basic.nickname", "basic.last_name"}));
  auto bank =
      Patch(agent_, guardian_, "bank", {{"iban", "FR7630006000011234567890188"}, {"bic", "12"}});
  EXPECT_EQ(Fields(bank), (std::set<std::string>{"bank.iban", "bank.bic"}));
  auto address = Patch(parent_, guardian_, "address", {{"postal_code", "7501"}, {"city", 12.5}});
  EXPECT_EQ(Fields(address), (std::set<std::string>{"address.postal_code"}));
  auto fiscal = Patch(agent_, guardian_, "fiscal", {{"tax_shares", 0.1}, {"caf_number", "12a"}});
  EXPECT_EQ(Fields(fiscal), (std::set<std::string>{"fiscal.tax_shares", "fiscal.caf_number"}));
  auto health = Patch(parent_, child_, "health", {{"diet", {"halal"}}, {"pai", "maybe"}});
  EXPECT_EQ(Fields(health), (std::set<std::string>{"health.diet", "health.pai"}));
  auto typed = Patch(agent_, child_, "general", {{"first_name", {{"nested", 1}}}});
  EXPECT_EQ(Fields(typed), (std::set<std::string>{"general.first_name"}));
  ExpectError(Patch(agent_, child_, "bank", {{"iban", kIban}}), 400, "invalid");
  ExpectError(Patch(agent_, "no-such-member", "basic", {{"first_name", "X"}}), 404, "not_found");
  ExpectError(Patch(agent_, guardian_, "basic", {{"first_name", "X"}}, "\"abc\""), 400, "invalid");
  ExpectError(portal_->Post(Path("/members"), {{"kind", "alien"}, {"sections", 3}}, Bearer(agent_)),
              400, "invalid");
  ExpectError(portal_->Get("/api/v1/families/nope/dossier", Bearer(agent_)), 404, "not_found");
  // Malformed, mistyped and oversized bodies.
  Headers agent = Bearer(agent_);
  std::string target = Path("/members/" + guardian_ + "/sections/basic");
  ExpectError(portal_->Send("PATCH", target, "{\"city\": ", agent), 400, "invalid");
  ExpectError(portal_->Send("PATCH", target, "[1]", agent), 400, "invalid");
  Headers text = agent;
  text.emplace_back("Content-Type", "text/plain");
  ExpectError(portal_->Send("PATCH", target, "{}", text), 415, "unsupported_media_type");
  Json big = {{"profession", std::string(70 * 1024, 'a')}};
  ExpectError(portal_->Send("PATCH", target, big.dump(), agent), 413, "payload_too_large");
  ExpectError(portal_->Post(Path("/changes/x/reject"), Json::object(), agent), 400, "invalid");
  EXPECT_EQ(portal_->app().services().store->HeadPosition(), head);
}

TEST_F(DossierTest, FamiliesProposeNewMembersThroughTheAgentsQueue) {
  GivenMembers();
  auto child =
      portal_->Post(Path("/members"),
                    {{"kind", "child"},
                     {"sections", {{"general", {{"first_name", "Zoé"}, {"last_name", "Martin"}}}}}},
                    Bearer(parent_));
  ASSERT_EQ(child.status, 202) << child.body;
  auto adult = portal_->Post(Path("/members"),
                             {{"kind", "authorised_adult"},
                              {"child_id", child_},
                              {"sections",
                               {{"contact",
                                 {{"first_name", "Jeanne"},
                                  {"last_name", "Durand"},
                                  {"link", "grand-mère"},
                                  {"mobile_phone", "06 11 22 33 44"}}}}}},
                             Bearer(parent_));
  ASSERT_EQ(adult.status, 202) << adult.body;
  auto health = Patch(parent_, child_, "health", {{"doctor_name", "Dr Roux"}});
  ASSERT_EQ(health.status, 202);

  auto queue = portal_->Get("/api/v1/agent/changes", Bearer(agent_));
  ASSERT_EQ(queue.status, 200) << queue.body;
  Json changes = BodyOf(queue)["changes"];
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0]["change_id"], BodyOf(child)["change_id"]);  // oldest first
  EXPECT_EQ(changes[0]["family_name"], "Famille Martin");
  EXPECT_EQ(changes[2]["diff"][0], (Json{{"section", "health"},
                                         {"field", "doctor_name"},
                                         {"current", nullptr},
                                         {"proposed", "Dr Roux"}}));
  auto filtered = BodyOf(portal_->Get("/api/v1/agent/changes?section=health", Bearer(agent_)));
  ASSERT_EQ(filtered["changes"].size(), 1u);
  auto paged = BodyOf(portal_->Get("/api/v1/agent/changes?limit=2", Bearer(agent_)));
  ASSERT_EQ(paged["changes"].size(), 2u);
  auto rest = BodyOf(portal_->Get(
      "/api/v1/agent/changes?limit=2&after=" + paged["next"].get<std::string>(), Bearer(agent_)));
  ASSERT_EQ(rest["changes"].size(), 1u);
  EXPECT_EQ(rest["changes"][0]["change_id"], BodyOf(health)["change_id"]);
  ExpectError(portal_->Get("/api/v1/agent/changes?section=tattoos", Bearer(agent_)), 400,
              "invalid");
  ExpectError(portal_->Get("/api/v1/agent/changes?limit=0", Bearer(agent_)), 400, "invalid");

  std::string zoe_change = BodyOf(child)["change_id"];
  ASSERT_EQ(
      portal_->Post(Path("/changes/" + zoe_change + "/approve"), Json::object(), Bearer(agent_))
          .status,
      200);
  Json dossier = Dossier(parent_);
  const Json& zoe = MemberOf(dossier, BodyOf(child)["member_id"]);
  EXPECT_EQ(zoe["name"], "Zoé Martin");
  EXPECT_EQ(zoe["colour"], "#4363d8");
  EXPECT_EQ(BodyOf(portal_->Get("/api/v1/agent/changes", Bearer(agent_)))["changes"].size(), 2u);
}

TEST_F(DossierTest, PhotosAreCheckedStoredOnceAndServedToTheFamily) {
  GivenMembers();
  std::string png = Png(40, 30);
  Headers upload = {{"Authorization", "Bearer " + agent_}, {"Content-Type", "image/png"}};
  std::string target = Path("/members/" + child_ + "/photo");
  auto stored = portal_->Send("PUT", target, png, upload);
  ASSERT_EQ(stored.status, 200) << stored.body;
  std::string photo = MemberOf(Dossier(parent_), child_)["sections"]["photo"]["photo"]["value"];
  ASSERT_EQ(photo.size(), 68u);
  EXPECT_TRUE(photo.ends_with(".png"));
  auto served = portal_->Get(Path("/photos/" + photo), Bearer(parent_));
  ASSERT_EQ(served.status, 200);
  EXPECT_EQ(served.headers["content-type"], "image/png");
  EXPECT_EQ(served.body, png);
  // The same bytes for another child are stored once.
  ASSERT_EQ(portal_->Send("PUT", Path("/members/" + child2_ + "/photo"), png, upload).status, 200);
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(portal_->data_dir() + "/photos")) {
    files += entry.is_regular_file() ? 1 : 0;
  }
  EXPECT_EQ(files, 1u);

  uint64_t head = portal_->app().services().store->HeadPosition();
  Headers jpeg = {{"Authorization", "Bearer " + agent_}, {"Content-Type", "image/jpeg"}};
  ExpectError(portal_->Send("PUT", target, "this is not a picture at all", jpeg), 400, "invalid");
  ExpectError(portal_->Send("PUT", target, Png(0, 30), upload), 400, "invalid");
  std::string huge = Png(4000, 3000);
  huge.insert(huge.size() - 12, std::string((2 << 20) + 1, 'z'));
  ExpectError(portal_->Send("PUT", target, huge, upload), 413, "payload_too_large");
  Headers gif = {{"Authorization", "Bearer " + agent_}, {"Content-Type", "image/gif"}};
  ExpectError(portal_->Send("PUT", target, "GIF89a", gif), 415, "unsupported_media_type");
  EXPECT_EQ(portal_->app().services().store->HeadPosition(), head);

  // A family's photo is a proposal like any change; unknown photo names are not served.
  Headers parent = {{"Authorization", "Bearer " + parent_}, {"Content-Type", "image/png"}};
  auto proposed = portal_->Send("PUT", target, Png(10, 10, 'y'), parent);
  ASSERT_EQ(proposed.status, 202) << proposed.body;
  ExpectError(portal_->Get(Path("/photos/" + std::string(64, 'a') + ".png"), Bearer(parent_)), 404,
              "not_found");
}

TEST_F(DossierTest, NoPersonalValueReachesTheServerLog) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  spdlog::default_logger()->sinks().push_back(sink);
  GivenMembers();
  Patch(parent_, guardian_, "bank", {{"iban", "DE89370400440532013000"}});
  Patch(parent_, guardian_, "basic", {{"mobile_phone", "12"}});  // rejected: logged as a 400
  portal_->Get(Path("/dossier"), Bearer(parent_));
  spdlog::default_logger()->flush();
  spdlog::default_logger()->sinks().pop_back();
  std::string log = captured.str();
  EXPECT_NE(log.find("/sections/{section}"), std::string::npos) << log;  // requests were logged
  for (std::string secret : {"DE89370400440532013000", "FR7630006000011234567890189", "arachide",
                             "Léa", "Lyon", "alice@example.org"}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << secret;
  }
}

}  // namespace
}  // namespace portail::testing

namespace portail::testing {
namespace {

TEST(DemoTown, TheParentSeesItsFamilyFileAndTheAgentItsFamilies) {
  Portal portal;
  auto text = server::SeedDemoTown(portal.app(), portal.data_dir());
  ASSERT_TRUE(text.has_value()) << text.error().message;
  std::string parent = portal.Login("alice@demo.portail.test", "demo parent password");
  ASSERT_FALSE(parent.empty());
  Json me = BodyOf(portal.Get("/api/v1/me", Bearer(parent)));
  ASSERT_EQ(me["subscriptions"].size(), 1u) << me.dump();
  std::string family = me["subscriptions"][0]["family_id"];
  auto dossier = portal.Get("/api/v1/families/" + family + "/dossier", Bearer(parent));
  ASSERT_EQ(dossier.status, 200) << dossier.body;
  Json members = BodyOf(dossier)["members"];
  std::map<std::string, int> kinds;
  for (const auto& m : members) kinds[m["kind"]]++;
  EXPECT_EQ(kinds,
            (std::map<std::string, int>{{"authorised_adult", 1}, {"child", 3}, {"guardian", 2}}));
  // Seeding again (a restart) keeps the same town.
  auto again = server::SeedDemoTown(portal.app(), portal.data_dir());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *text);
}

}  // namespace
}  // namespace portail::testing
