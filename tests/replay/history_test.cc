// The auditor's history: selection by account, family and family member, --as-of, time windows,
// hidden secrets and sensitive values, nested values, Paris times across daylight saving, and the
// three formats.
#include "tools/replay/history.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/replay/town.h"
#include "tests/support/temp_dir.h"

namespace portail::replay {
namespace {

namespace town = portail::testing;
using portail::testing::kDayUs;
using portail::testing::kTownStartUs;

// The text of field `name` of `row` ("" when it has none).
std::string Field(const HistoryRow& row, const std::string& name) {
  for (const auto& [field, value] : row.fields) {
    if (field == name) return ValueText(value);
  }
  return "";
}

// Every row as one line: its type and its fields' text.
std::string Lines(const std::vector<HistoryRow>& rows) {
  std::string out;
  for (const auto& row : rows) {
    out += row.type;
    for (const auto& [name, value] : row.fields) out += " " + name + "=" + ValueText(value);
    out += "\n";
  }
  return out;
}

class HistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    events::StoreOptions options;
    options.path = dir_.path();
    options.projections = views_.All();
    auto store = events::EventStore::Open(std::move(options));
    ASSERT_TRUE(store.has_value()) << store.error().message;
    store_ = std::move(*store);
    ASSERT_TRUE(portail::testing::PopulateTown(*store_, 2, 6));
    ASSERT_TRUE(portail::testing::PopulateDossier(*store_));
  }

  std::vector<std::string> Types(const std::vector<HistoryRow>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.type);
    return out;
  }

  portail::testing::TempDir dir_;
  portail::testing::ServerViews views_;
  std::unique_ptr<events::EventStore> store_;
};

TEST_F(HistoryTest, AnAccountsHistoryHasItsStreamItsEmailClaimAndItsMailsInLogOrder) {
  auto rows = History(*store_, HistoryQuery{.account_id = "a1"});
  ASSERT_TRUE(rows.has_value()) << rows.error().message;
  auto types = Types(*rows);
  ASSERT_GE(types.size(), 5u);
  EXPECT_EQ(types[0], "AccountRegistered");
  EXPECT_NE(std::find(types.begin(), types.end(), "EmailClaimed"), types.end());
  EXPECT_NE(std::find(types.begin(), types.end(), "MailQueued"), types.end());
  EXPECT_NE(std::find(types.begin(), types.end(), "SessionStarted"), types.end());
  for (size_t i = 1; i < rows->size(); ++i) {
    EXPECT_LT((*rows)[i - 1].position, (*rows)[i].position);
  }
  for (const auto& row : *rows) {
    for (const auto& [name, value] : row.fields) {
      std::string text = ValueText(value);
      if (name.ends_with("_hash") && !text.empty()) {
        EXPECT_EQ(text, "(hidden)") << name;
      }
      EXPECT_EQ(text.find("$argon2id"), std::string::npos);
    }
  }
  // Nothing of another account.
  for (const auto& row : *rows) EXPECT_EQ(row.stream.find("account-a2"), std::string::npos);
}

TEST_F(HistoryTest, AFamilysHistoryHasItsRegistrationCodeClaimAndSubscriptions) {
  auto rows = History(*store_, HistoryQuery{.family_id = "f0"});
  ASSERT_TRUE(rows.has_value()) << rows.error().message;
  auto types = Types(*rows);
  ASSERT_GE(types.size(), 3u);
  EXPECT_EQ(types[0], "FamilyRegistered");
  EXPECT_EQ(types[1], "SubscriberCodeClaimed");
  EXPECT_NE(std::find(types.begin(), types.end(), "Subscribed"), types.end());
  EXPECT_EQ((*rows)[0].fields[1], (HistoryField{"name", HistoryValue::Text("Famille 0")}));
}

TEST_F(HistoryTest, AsOfShowsOnlyWhatWasKnownThen) {
  auto all = History(*store_, HistoryQuery{.family_id = "f0"});
  ASSERT_TRUE(all.has_value());
  // Account a_k is registered on day k; as of the start of day 1 only day 0's events count.
  auto early = History(*store_, HistoryQuery{.family_id = "f0", .as_of_us = kTownStartUs + 1});
  ASSERT_TRUE(early.has_value());
  EXPECT_LT(early->size(), all->size());
  for (const auto& row : *early) EXPECT_LE(row.recorded_at_us, kTownStartUs + 1);
  auto windowed = History(*store_, HistoryQuery{.family_id = "f0",
                                                .from_us = kTownStartUs + kDayUs,
                                                .to_us = kTownStartUs + 3 * kDayUs});
  ASSERT_TRUE(windowed.has_value());
  for (const auto& row : *windowed) {
    EXPECT_GE(row.recorded_at_us, kTownStartUs + kDayUs);
    EXPECT_LE(row.recorded_at_us, kTownStartUs + 3 * kDayUs);
  }
}

TEST_F(HistoryTest, AnUnknownIdIsNotFound) {
  auto rows = History(*store_, HistoryQuery{.account_id = "nobody"});
  ASSERT_FALSE(rows.has_value());
  EXPECT_EQ(rows.error().code, ErrorCode::kNotFound);
  auto child = History(*store_, HistoryQuery{.member_id = "c-nobody"});
  ASSERT_FALSE(child.has_value());
  EXPECT_EQ(child.error().code, ErrorCode::kNotFound);
  EXPECT_NE(child.error().message.find("c-nobody"), std::string::npos) << child.error().message;
  auto both = History(*store_, HistoryQuery{.account_id = "a1", .family_id = "f0"});
  ASSERT_FALSE(both.has_value());
  EXPECT_EQ(both.error().code, ErrorCode::kInvalid);
  auto family_and_child =
      History(*store_, HistoryQuery{.family_id = "dupont", .member_id = town::kChildLeo});
  ASSERT_FALSE(family_and_child.has_value());
  EXPECT_EQ(family_and_child.error().code, ErrorCode::kInvalid);
}

TEST_F(HistoryTest, AFamilysHistoryIncludesItsFileInLogOrder) {
  auto rows = History(*store_, HistoryQuery{.family_id = town::kDossierFamily});
  ASSERT_TRUE(rows.has_value()) << rows.error().message;
  auto types = Types(*rows);
  ASSERT_EQ(types.size(), 20u) << Lines(*rows);
  EXPECT_EQ(types[0], "FamilyRegistered");
  EXPECT_EQ(types[1], "SubscriberCodeClaimed");
  EXPECT_EQ(types[2], "MemberAdded");
  EXPECT_EQ((*rows)[2].stream, "dossier-dupont");
  EXPECT_EQ(Field((*rows)[2], "member_id"), town::kGuardian);
  for (size_t i = 1; i < rows->size(); ++i) {
    EXPECT_LT((*rows)[i - 1].position, (*rows)[i].position);
  }
  for (const char* type :
       {"MemberAdded", "SectionUpdated", "ChangeProposed", "ChangeApproved", "ChangeRejected"}) {
    EXPECT_NE(std::find(types.begin(), types.end(), type), types.end()) << type;
  }
  for (const auto& row : *rows) {
    EXPECT_TRUE(row.stream == "family-dupont" || row.stream == "dossier-dupont" ||
                row.stream == "subcode-code-dupont")
        << row.stream;
  }
}

TEST_F(HistoryTest, AChildsHistoryHasItsEventsItsChangesAndTheirOutcomeOnly) {
  auto rows = History(*store_, HistoryQuery{.member_id = town::kChildLeo});
  ASSERT_TRUE(rows.has_value()) << rows.error().message;
  EXPECT_EQ(Types(*rows), (std::vector<std::string>{
                              "MemberAdded", "SectionUpdated", "SectionUpdated", "ChangeProposed",
                              "ChangeApproved", "SectionUpdated", "ChangeProposed",
                              "ChangeApproved", "MemberAdded", "SectionUpdated"}))
      << Lines(*rows);
  EXPECT_EQ(Field((*rows)[0], "member_id"), town::kChildLeo);
  EXPECT_EQ(Field((*rows)[4], "change_id"), town::kHealthChange);
  EXPECT_EQ(Field((*rows)[5], "change_id"), town::kHealthChange);
  // The authorised adult proposed for Léo, approved, then added with Léo as its child.
  EXPECT_EQ(Field((*rows)[6], "child_id"), town::kChildLeo);
  EXPECT_EQ(Field((*rows)[7], "change_id"), town::kAdultChange);
  EXPECT_EQ(Field((*rows)[8], "member_id"), town::kAdultGrandma);
  // Nothing of Mia, her proposal and its rejection, nor of the guardian.
  std::string all = Lines(*rows);
  EXPECT_EQ(all.find(town::kChildMia), std::string::npos) << all;
  EXPECT_EQ(all.find(town::kSchoolChange), std::string::npos) << all;
  EXPECT_EQ(all.find(town::kGuardian), std::string::npos) << all;
  EXPECT_EQ(all.find("ChangeRejected"), std::string::npos) << all;

  auto mia = History(*store_, HistoryQuery{.member_id = town::kChildMia});
  ASSERT_TRUE(mia.has_value()) << mia.error().message;
  EXPECT_EQ(Types(*mia), (std::vector<std::string>{"MemberAdded", "SectionUpdated",
                                                   "ChangeProposed", "ChangeRejected"}))
      << Lines(*mia);
}

TEST_F(HistoryTest, HealthValuesAreHiddenWithoutIncludeSensitiveButTheirNamesStay) {
  auto hidden = History(*store_, HistoryQuery{.member_id = town::kChildLeo});
  ASSERT_TRUE(hidden.has_value()) << hidden.error().message;
  EXPECT_EQ(Field((*hidden)[2], "section"), "health");
  EXPECT_EQ(Field((*hidden)[2], "fields"), "allergies=(hidden); pai=(hidden)");
  EXPECT_EQ(Field((*hidden)[3], "sections"), "health{allergies=(hidden)}");
  // Other sections stay readable.
  EXPECT_EQ(Field((*hidden)[1], "fields"), "colour=#e6194b; first_name=Léo; last_name=Dupont");
  for (const std::string& text :
       {FormatTable(*hidden), FormatJsonLines(*hidden), FormatCsv(*hidden)}) {
    EXPECT_EQ(text.find(town::kLeoAllergiesBefore), std::string::npos) << text;
    EXPECT_NE(text.find("allergies"), std::string::npos) << text;
  }

  auto shown =
      History(*store_, HistoryQuery{.member_id = town::kChildLeo, .include_sensitive = true});
  ASSERT_TRUE(shown.has_value()) << shown.error().message;
  EXPECT_EQ(Field((*shown)[2], "fields"), "allergies=arachides; pai=true");
  EXPECT_EQ(Field((*shown)[3], "sections"), "health{allergies=arachides, kiwi}");
  EXPECT_EQ(Field((*shown)[5], "fields"), "allergies=arachides, kiwi");
}

TEST_F(HistoryTest, AnIbanIsNeverShownWithoutIncludeSensitive) {
  auto hidden = History(*store_, HistoryQuery{.family_id = town::kDossierFamily});
  ASSERT_TRUE(hidden.has_value()) << hidden.error().message;
  for (const std::string& text :
       {FormatTable(*hidden), FormatJsonLines(*hidden), FormatCsv(*hidden)}) {
    EXPECT_EQ(text.find("FR76"), std::string::npos) << text;
    EXPECT_EQ(text.find("0189"), std::string::npos) << text;
    EXPECT_NE(text.find("iban"), std::string::npos) << text;
  }
  auto shown =
      History(*store_, HistoryQuery{.family_id = town::kDossierFamily, .include_sensitive = true});
  ASSERT_TRUE(shown.has_value()) << shown.error().message;
  EXPECT_NE(FormatTable(*shown).find(std::string("iban=") + town::kIban), std::string::npos)
      << FormatTable(*shown);
}

TEST_F(HistoryTest, AsOfBeforeAnApprovalShowsThePendingChangeAndAfterItItsOutcome) {
  HistoryQuery before{.member_id = town::kChildLeo,
                      .as_of_us = town::kHealthApprovedUs - 1,
                      .include_sensitive = true};
  auto pending = History(*store_, before);
  ASSERT_TRUE(pending.has_value()) << pending.error().message;
  ASSERT_EQ(Types(*pending), (std::vector<std::string>{"MemberAdded", "SectionUpdated",
                                                       "SectionUpdated", "ChangeProposed"}))
      << Lines(*pending);
  EXPECT_EQ(Field(pending->back(), "change_id"), town::kHealthChange);
  // The current allergies as known then: the values from before the change.
  EXPECT_EQ(Field((*pending)[2], "fields"), "allergies=arachides; pai=true");

  HistoryQuery after = before;
  after.as_of_us = town::kHealthApprovedUs;
  auto approved = History(*store_, after);
  ASSERT_TRUE(approved.has_value()) << approved.error().message;
  ASSERT_EQ(approved->size(), 6u) << Lines(*approved);
  EXPECT_EQ((*approved)[4].type, "ChangeApproved");
  EXPECT_EQ((*approved)[5].type, "SectionUpdated");
  EXPECT_EQ(Field((*approved)[5], "fields"), "allergies=arachides, kiwi");
  for (const auto& row : *approved) EXPECT_LE(row.recorded_at_us, town::kHealthApprovedUs);

  // A window after the proposal still follows it to its approval.
  auto later = History(*store_, HistoryQuery{.member_id = town::kChildLeo,
                                             .from_us = town::kHealthApprovedUs,
                                             .to_us = town::kHealthApprovedUs});
  ASSERT_TRUE(later.has_value()) << later.error().message;
  EXPECT_EQ(Types(*later), (std::vector<std::string>{"ChangeApproved", "SectionUpdated"}));
}

TEST_F(HistoryTest, JsonLinesHaveNestedObjectsForFieldsAndSections) {
  auto rows =
      History(*store_, HistoryQuery{.member_id = town::kChildLeo, .include_sensitive = true});
  ASSERT_TRUE(rows.has_value()) << rows.error().message;
  std::istringstream lines(FormatJsonLines(*rows));
  std::vector<nlohmann::json> parsed;
  for (std::string line; std::getline(lines, line);) parsed.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(parsed.size(), rows->size());
  EXPECT_EQ(
      parsed[1]["fields"]["fields"],
      (nlohmann::json{{"colour", "#e6194b"}, {"first_name", "Léo"}, {"last_name", "Dupont"}}));
  EXPECT_EQ(parsed[3]["type"], "ChangeProposed");
  EXPECT_EQ(parsed[3]["fields"]["sections"],
            (nlohmann::json{{"health", {{"allergies", "arachides, kiwi"}}}}));
  EXPECT_EQ(parsed[3]["fields"]["superseded"], nlohmann::json::array());
  EXPECT_EQ(parsed[3]["fields"]["kind"], "Update");

  auto hidden = History(*store_, HistoryQuery{.member_id = town::kChildLeo});
  ASSERT_TRUE(hidden.has_value());
  std::istringstream again(FormatJsonLines(*hidden));
  std::string line;
  for (int i = 0; i <= 3; ++i) std::getline(again, line);
  EXPECT_EQ(nlohmann::json::parse(line)["fields"]["sections"],
            (nlohmann::json{{"health", {{"allergies", "(hidden)"}}}}));
}

TEST(ParisTimeTest, FollowsDaylightSavingBothWays) {
  // 2026-03-29 00:30 UTC is 01:30 CET; 01:30 UTC is 03:30 CEST.
  EXPECT_EQ(ParisTime(1774744200LL * 1000000), "2026-03-29 01:30:00 CET");
  EXPECT_EQ(ParisTime(1774747800LL * 1000000), "2026-03-29 03:30:00 CEST");
  EXPECT_EQ(ParseParisTime("2026-03-29T03:30"), std::optional<int64_t>(1774747800LL * 1000000));
  EXPECT_EQ(ParseParisTime("2026-01-01"), std::optional<int64_t>(1767222000LL * 1000000));
  EXPECT_FALSE(ParseParisTime("yesterday").has_value());
}

TEST(HistoryFormatTest, JsonLinesAndCsvCarryEveryRow) {
  std::vector<HistoryRow> rows = {{7,
                                   1767222000LL * 1000000,
                                   "agent-1",
                                   "family-f",
                                   "FamilyRegistered",
                                   {{"name", HistoryValue::Text("Famille \"Dupont\"")},
                                    {"code_hash", HistoryValue::Text("(hidden)")}}}};
  std::string jsonl = FormatJsonLines(rows);
  EXPECT_NE(jsonl.find("\"position\":7"), std::string::npos);
  EXPECT_NE(jsonl.find("\"time\":\"2026-01-01 00:00:00 CET\""), std::string::npos);
  EXPECT_NE(jsonl.find("Famille \\\"Dupont\\\""), std::string::npos);
  std::string csv = FormatCsv(rows);
  EXPECT_EQ(csv,
            "position,time,actor,stream,type,fields\n"
            "7,\"2026-01-01 00:00:00 CET\",\"agent-1\",\"family-f\",\"FamilyRegistered\","
            "\"name=Famille \"\"Dupont\"\", code_hash=(hidden)\"\n");
  EXPECT_NE(FormatTable(rows).find("1 events"), std::string::npos);
}

// A table of the given fields.
HistoryValue Table(std::vector<std::pair<std::string, HistoryValue>> fields) {
  HistoryValue table{.kind = HistoryValue::Kind::kTable};
  for (auto& [name, value] : fields) {
    table.names.push_back(name);
    table.items.push_back(std::move(value));
  }
  return table;
}

HistoryValue Vector(std::vector<HistoryValue> items) {
  return HistoryValue{.kind = HistoryValue::Kind::kVector, .items = std::move(items)};
}

HistoryValue Pair(std::string name, std::string value) {
  return Table({{"name", HistoryValue::Text(std::move(name))},
                {"value", HistoryValue::Text(std::move(value))}});
}

TEST(HistoryFormatTest, NestedValuesReadAsNameValueListsSectionsAndBrackets) {
  HistoryValue fields = Vector({Pair("city", "Paris"), Pair("postal_code", "75011")});
  EXPECT_EQ(ValueText(fields), "city=Paris; postal_code=75011");
  HistoryValue sections =
      Vector({Table({{"section", HistoryValue::Text("address")}, {"fields", fields}}),
              Table({{"section", HistoryValue::Text("basic")},
                     {"fields", Vector({Pair("first_name", "Alice")})}})});
  EXPECT_EQ(ValueText(sections), "address{city=Paris; postal_code=75011} basic{first_name=Alice}");
  HistoryValue refs = Vector({Table({{"change_id", HistoryValue::Text("c1")},
                                     {"section", HistoryValue::Text("general")},
                                     {"field", HistoryValue::Text("school")}})});
  EXPECT_EQ(ValueText(refs), "[{change_id=c1; section=general; field=school}]");
  EXPECT_EQ(ValueText(Vector({})), "");

  std::vector<HistoryRow> rows = {{1,
                                   0,
                                   "agent-1",
                                   "dossier-f",
                                   "ChangeProposed",
                                   {{"sections", sections}, {"superseded", refs}}}};
  auto line = nlohmann::json::parse(FormatJsonLines(rows));
  EXPECT_EQ(line["fields"]["sections"],
            (nlohmann::json{{"address", {{"city", "Paris"}, {"postal_code", "75011"}}},
                            {"basic", {{"first_name", "Alice"}}}}));
  EXPECT_EQ(line["fields"]["superseded"],
            (nlohmann::json::array(
                {{{"change_id", "c1"}, {"section", "general"}, {"field", "school"}}})));
  EXPECT_NE(FormatCsv(rows).find("\"sections=address{city=Paris; postal_code=75011} "
                                 "basic{first_name=Alice}, superseded=[{change_id=c1; "
                                 "section=general; field=school}]\""),
            std::string::npos)
      << FormatCsv(rows);
}

TEST(HistoryFormatTest, RepeatedNamesStayAnArrayInJson) {
  std::vector<HistoryRow> rows = {
      {1, 0, "a", "s", "T", {{"fields", Vector({Pair("x", "1"), Pair("x", "2")})}}}};
  auto line = nlohmann::json::parse(FormatJsonLines(rows));
  ASSERT_TRUE(line["fields"]["fields"].is_array()) << line.dump();
  EXPECT_EQ(line["fields"]["fields"].size(), 2u);
}

}  // namespace
}  // namespace portail::replay
