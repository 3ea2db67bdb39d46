// Tests of the family file view: hand-made events applied to rows in memory, the file read back.
#include "projections/dossier_view.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "commands/command.h"
#include "schemas/dossier_catalogue.h"
#include "tests/support/memory_rows.h"

namespace portail::projections {
namespace {

using commands::MakePayload;
using Json = nlohmann::json;
using portail::testing::MemoryRows;
using Fields = std::vector<std::pair<std::string, std::string>>;

constexpr char kIban[] = "FR7630006000011234567890189";
constexpr int64_t kStartUs = 1'790'000'000'000'000;

// Records the keys an Apply writes, over rows in memory.
class RecordingRows : public events::ViewWriter {
 public:
  explicit RecordingRows(MemoryRows* rows) : rows_(rows) {}
  void Put(std::string_view key, std::string_view value) override {
    written.emplace(key);
    rows_->Put(key, value);
  }
  void Delete(std::string_view key) override {
    written.emplace(key);
    rows_->Delete(key);
  }
  std::optional<std::string> Get(std::string_view key) override { return rows_->Get(key); }
  std::set<std::string> written;

 private:
  MemoryRows* rows_;
};

std::vector<std::unique_ptr<schema::FieldValueT>> FieldList(const Fields& fields) {
  std::vector<std::unique_ptr<schema::FieldValueT>> out;
  for (const auto& [name, value] : fields) {
    auto f = std::make_unique<schema::FieldValueT>();
    f->name = name;
    f->value = value;
    out.push_back(std::move(f));
  }
  return out;
}

class DossierViewTest : public ::testing::Test {
 protected:
  // Applies `payload` as the next event of the log, on the file of `family`; returns the keys
  // the event wrote.
  std::set<std::string> Append(const std::string& family, const schema::PayloadUnion& payload,
                               const std::string& actor = "agent-1") {
    flatbuffers::FlatBufferBuilder fbb;
    auto stream_off = fbb.CreateString("dossier-" + family);
    auto actor_off = fbb.CreateString(actor);
    auto payload_off = payload.Pack(fbb);
    ++position_;
    auto root =
        schema::CreateEventRecord(fbb, position_, stream_off, ++versions_[family],
                                  kStartUs + static_cast<int64_t>(position_) * 60'000'000,
                                  actor_off, 0, 0, nullptr, nullptr, payload.type, payload_off);
    fbb.Finish(root);
    RecordingRows recording(&rows_);
    view_.Apply(*flatbuffers::GetRoot<schema::EventRecord>(fbb.GetBufferPointer()), recording);
    return recording.written;
  }

  void AddMember(const std::string& family, const std::string& member, schema::MemberKind kind,
                 const std::string& child = "", const std::string& change = "") {
    schema::MemberAddedT e;
    e.family_id = family;
    e.member_id = member;
    e.kind = kind;
    e.child_id = child;
    e.change_id = change;
    e.by_name = "Agent Martin";
    Append(family, MakePayload(std::move(e)));
  }

  std::set<std::string> Update(const std::string& family, const std::string& member,
                               const std::string& section, const Fields& fields,
                               const std::string& change = "") {
    schema::SectionUpdatedT e;
    e.family_id = family;
    e.member_id = member;
    e.section = section;
    e.fields = FieldList(fields);
    e.change_id = change;
    e.by_name = "Agent Martin";
    return Append(family, MakePayload(std::move(e)));
  }

  // A family's proposal of `sections` for `member`; `superseded`: (change, section, field).
  void Propose(const std::string& family, const std::string& change, const std::string& member,
               std::map<std::string, Fields> sections,
               std::vector<std::array<std::string, 3>> superseded = {},
               schema::ChangeKind kind = schema::ChangeKind::Update,
               schema::MemberKind member_kind = schema::MemberKind::Child,
               const std::string& child = "") {
    schema::ChangeProposedT e;
    e.family_id = family;
    e.change_id = change;
    e.kind = kind;
    e.member_id = member;
    e.member_kind = member_kind;
    e.child_id = child;
    for (auto& [name, fields] : sections) {
      auto s = std::make_unique<schema::SectionValuesT>();
      s->section = name;
      s->fields = FieldList(fields);
      e.sections.push_back(std::move(s));
    }
    for (auto& [old, section, field] : superseded) {
      auto ref = std::make_unique<schema::FieldRefT>();
      ref->change_id = old;
      ref->section = section;
      ref->field = field;
      e.superseded.push_back(std::move(ref));
    }
    e.by_name = "Alice Martin";
    Append(family, MakePayload(std::move(e)), "account-a1");
  }

  void Approve(const std::string& family, const std::string& change) {
    schema::ChangeApprovedT e;
    e.family_id = family;
    e.change_id = change;
    e.by_name = "Agent Martin";
    Append(family, MakePayload(std::move(e)));
  }

  void Reject(const std::string& family, const std::string& change, const std::string& reason) {
    schema::ChangeRejectedT e;
    e.family_id = family;
    e.change_id = change;
    e.reason = reason;
    e.by_name = "Agent Martin";
    Append(family, MakePayload(std::move(e)));
  }

  void Withdraw(const std::string& family, const std::string& change) {
    schema::ChangeWithdrawnT e;
    e.family_id = family;
    e.change_id = change;
    e.by_name = "Alice Martin";
    Append(family, MakePayload(std::move(e)), "account-a1");
  }

  void Supersede(const std::string& family, const std::string& change, const std::string& by) {
    schema::ChangeSupersededT e;
    e.family_id = family;
    e.change_id = change;
    e.by_change_id = by;
    Append(family, MakePayload(std::move(e)));
  }

  void Remove(const std::string& family, const std::string& member, const std::string& reason) {
    schema::MemberRemovedT e;
    e.family_id = family;
    e.member_id = member;
    e.reason = reason;
    e.by_name = "Agent Martin";
    Append(family, MakePayload(std::move(e)));
  }

  // The Martin family's file through every kind of event, and a second family's pending change.
  void PopulateTwoFamilies() {
    AddMember("martin", "g1", schema::MemberKind::Guardian);
    Update("martin", "g1", "basic", {{"first_name", "Alice"}, {"last_name", "Martin"}});
    Update("martin", "g1", "bank", {{"account_holder", "Alice Martin"}, {"iban", kIban}});
    Update("martin", "g1", "fiscal", {{"reference_income", "32000"}, {"tax_shares", "2.5"}});
    AddMember("martin", "c1", schema::MemberKind::Child);
    Update("martin", "c1", "general",
           {{"first_name", "Léo"}, {"last_name", "Martin"}, {"colour", "#3366ff"}});
    Update("martin", "c1", "health",
           {{"allergies", "arachides"}, {"diet", "no_pork,vegetarian"}, {"pai", "true"}});
    Update("martin", "c1", "photo", {{"photo", "aaaa.png"}});
    AddMember("martin", "c2", schema::MemberKind::Child);
    Update("martin", "c2", "general", {{"first_name", "Mia"}, {"last_name", "Martin"}});
    Update("martin", "c2", "general", {{"school", "Voltaire"}, {"first_name", ""}});
    Propose("martin", "ch1", "c1", {{"health", {{"allergies", "aucune"}, {"pai", "false"}}}});
    Propose("martin", "ch2", "c1", {{"health", {{"allergies", "gluten"}}}},
            {{"ch1", "health", "allergies"}});
    Propose("martin", "ch3", "g1", {{"bank", {{"iban", "FR7612345000010000000000185"}}}}, {},
            schema::ChangeKind::Update, schema::MemberKind::Guardian);
    Propose("martin", "ch4", "c2", {{"general", {{"school", "Jaurès"}}}});
    Propose("martin", "ch5", "c2", {{"photo", {{"photo", "bbbb.jpg"}}}});
    Propose("martin", "ch6", "a1", {{"contact", {{"first_name", "Jeanne"}, {"link", "mamie"}}}}, {},
            schema::ChangeKind::AddMember, schema::MemberKind::AuthorisedAdult, "c1");
    Propose("martin", "ch7", "c1", {{"general", {{"colour", "#ff0000"}}}});
    Propose("martin", "ch8", "c1", {{"health", {{"pai", "true"}}}}, {{"ch1", "health", "pai"}});
    Supersede("martin", "ch1", "ch8");
    Approve("martin", "ch2");
    Update("martin", "c1", "health", {{"allergies", "gluten"}}, "ch2");
    Reject("martin", "ch4", "pas dans cette école");
    Withdraw("martin", "ch7");
    Approve("martin", "ch6");
    AddMember("martin", "a1", schema::MemberKind::AuthorisedAdult, "c1", "ch6");
    Update("martin", "a1", "contact", {{"first_name", "Jeanne"}, {"link", "mamie"}}, "ch6");
    AddMember("martin", "g2", schema::MemberKind::Guardian);
    Update("martin", "g2", "basic", {{"first_name", "Bob"}});
    Remove("martin", "g2", "parti");
    Update("martin", "zz", "basic", {{"first_name", "Nobody"}});
    // Values that JSON escapes, a repeated field name, numbers written unusually.
    Update("martin", "c2", "health",
           {{"allergies", "\"lait\"\tet\n\\œufs\x01"}, {"pai", "false"}, {"pai", "true"}});
    Update("martin", "g1", "fiscal", {{"tax_shares", "3"}, {"reference_income", "007"}});
    Update("martin", "g1", "fiscal", {{"caf_number", "0123"}, {"quotient_familial", "x1"}});
    AddMember("durand", "d1", schema::MemberKind::Child);
    Update("durand", "d1", "general", {{"first_name", "Zoé"}});
    Propose("durand", "dch1", "d1", {{"general", {{"school", "Curie"}}}});
  }

  Json DocumentOf(const std::string& family, bool redacted) {
    auto doc = DossierView::Document(rows_, family, redacted);
    EXPECT_TRUE(doc.has_value());
    return doc ? Json::parse(doc->body) : Json();
  }

  DossierView view_;
  MemoryRows rows_;
  uint64_t position_ = 0;
  std::map<std::string, uint64_t> versions_;
};

TEST_F(DossierViewTest, TheFileListsMembersInTheOrderTheyJoinedAndLeavesOutRemovedOnes) {
  PopulateTwoFamilies();
  Json doc = DocumentOf("martin", false);
  std::vector<std::string> ids;
  for (const auto& m : doc["members"]) ids.push_back(m["id"]);
  EXPECT_EQ(ids, (std::vector<std::string>{"g1", "c1", "c2", "a1"}));
  EXPECT_EQ(doc["version"], versions_["martin"]);
  EXPECT_EQ(doc["members"][1]["name"], "Léo Martin");
  EXPECT_EQ(doc["members"][1]["colour"], "#3366ff");
  EXPECT_EQ(doc["members"][2]["name"], "Martin");  // the first name was cleared
  EXPECT_EQ(doc["members"][3]["child_id"], "c1");
  EXPECT_EQ(doc["members"][0]["sections"]["bank"]["iban"]["value"],
            schema::dossier::MaskIban(kIban));
}

TEST_F(DossierViewTest, PendingValuesShowBesideCurrentOnesUntilDecided) {
  PopulateTwoFamilies();
  Json doc = DocumentOf("martin", false);
  std::vector<std::string> pending;
  for (const auto& c : doc["pending_changes"]) pending.push_back(c["id"]);
  EXPECT_EQ(pending, (std::vector<std::string>{"ch3", "ch5", "ch8"}));
  const Json& health = doc["members"][1]["sections"]["health"];
  EXPECT_EQ(health["allergies"]["value"], "gluten");
  EXPECT_EQ(health["pai"]["value"], true);
  EXPECT_EQ(health["pai"]["pending"]["change_id"], "ch8");
  EXPECT_FALSE(health["allergies"].contains("pending"));  // ch1's allergies were superseded

  auto bank = DossierView::BankSection(rows_, "martin", "g1");
  ASSERT_TRUE(bank.has_value());
  Json b = Json::parse(*bank);
  EXPECT_EQ(b["fields"]["iban"], kIban);
  ASSERT_EQ(b["pending"].size(), 1u);
  EXPECT_EQ(b["pending"][0]["change_id"], "ch3");
  EXPECT_FALSE(DossierView::BankSection(rows_, "martin", "c1").has_value());
}

TEST_F(DossierViewTest, TheRedactedFileLeavesOutSensitiveSections) {
  PopulateTwoFamilies();
  std::string redacted = DossierView::Document(rows_, "martin", true)->body;
  EXPECT_EQ(redacted.find("arachides"), std::string::npos);
  EXPECT_EQ(redacted.find("gluten"), std::string::npos);
  EXPECT_EQ(redacted.find("FR76"), std::string::npos);
  Json doc = Json::parse(redacted);
  EXPECT_EQ(doc["redacted"], true);
  EXPECT_FALSE(doc["members"][0]["sections"].contains("bank"));
  EXPECT_TRUE(doc["members"][0]["sections"].contains("basic"));
}

TEST_F(DossierViewTest, TheVersionIsTheLastEventsAndReadsAloneFromOneRow) {
  EXPECT_EQ(DossierView::Version(rows_, "martin"), 0u);
  EXPECT_FALSE(DossierView::Document(rows_, "martin", false).has_value());
  PopulateTwoFamilies();
  EXPECT_EQ(DossierView::Version(rows_, "martin"), versions_["martin"]);
  EXPECT_EQ(DossierView::Version(rows_, "durand"), versions_["durand"]);
  EXPECT_EQ(DossierView::Document(rows_, "durand", false)->version, versions_["durand"]);
  // An update of an unknown member changes nothing in the file but its version.
  Update("durand", "nobody", "general", {{"first_name", "X"}});
  EXPECT_EQ(DossierView::Version(rows_, "durand"), versions_["durand"]);
}

TEST_F(DossierViewTest, AnEditWritesItsMemberTheVersionAndTheHistoryOnly) {
  PopulateTwoFamilies();
  auto written = Update("martin", "c2", "general", {{"school", "Curie"}});
  ASSERT_EQ(written.size(), 3u);
  auto it = written.begin();
  EXPECT_EQ(*it++, "f/martin/m/c2");
  EXPECT_EQ(*it++, "f/martin/v");
  EXPECT_TRUE(it->starts_with("h/martin/"));
}

TEST_F(DossierViewTest, TheQueueHoldsPendingChangesOfEveryFamilyInOrder) {
  PopulateTwoFamilies();
  auto queue = DossierView::Queue(rows_, "", 0, 10);
  std::vector<std::string> ids;
  for (const auto& c : queue) ids.push_back(Json::parse(c.json)["change_id"]);
  EXPECT_EQ(ids, (std::vector<std::string>{"ch3", "ch5", "ch8", "dch1"}));
  auto general = DossierView::Queue(rows_, "general", 0, 10);
  ASSERT_EQ(general.size(), 1u);
  EXPECT_EQ(general[0].family_id, "durand");
  Json diff = Json::parse(general[0].json)["diff"];
  EXPECT_EQ(diff[0]["current"], nullptr);
  EXPECT_EQ(diff[0]["proposed"], "Curie");
  EXPECT_EQ(DossierView::Queue(rows_, "", queue[2].position, 10).size(), 1u);
}

TEST_F(DossierViewTest, PhotosOfTheFileAreKnownCurrentOrPending) {
  PopulateTwoFamilies();
  EXPECT_TRUE(DossierView::HasPhoto(rows_, "martin", "aaaa.png"));
  EXPECT_TRUE(DossierView::HasPhoto(rows_, "martin", "bbbb.jpg"));
  EXPECT_FALSE(DossierView::HasPhoto(rows_, "martin", "cccc.png"));
  EXPECT_FALSE(DossierView::HasPhoto(rows_, "durand", "aaaa.png"));
}

TEST_F(DossierViewTest, HistoryKeepsEveryChangeAndHidesSensitiveValuesWhenRedacted) {
  PopulateTwoFamilies();
  Json all = Json::parse(DossierView::History(rows_, "martin", "", false));
  Json redacted = Json::parse(DossierView::History(rows_, "martin", "", true));
  ASSERT_EQ(all.size(), redacted.size());
  EXPECT_EQ(all.size(), versions_["martin"] - 1);  // the update of an unknown member is not kept
  EXPECT_NE(all.dump().find("arachides"), std::string::npos);
  EXPECT_EQ(redacted.dump().find("arachides"), std::string::npos);
  Json c2 = Json::parse(DossierView::History(rows_, "martin", "c2", false));
  EXPECT_EQ(c2.size(), 7u);  // added, 3 edits, 2 proposals, the rejection
}

}  // namespace
}  // namespace portail::projections
