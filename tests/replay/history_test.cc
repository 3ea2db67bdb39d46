// The auditor's history: selection by account and family, --as-of, time windows, hidden
// secrets, Paris times across daylight saving, and the three formats.
#include "tools/replay/history.h"

#include <gtest/gtest.h>

#include "tests/replay/town.h"
#include "tests/support/temp_dir.h"

namespace portail::replay {
namespace {

using portail::testing::kDayUs;
using portail::testing::kTownStartUs;

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
      if (name.ends_with("_hash") && !value.empty()) EXPECT_EQ(value, "(hidden)") << name;
      EXPECT_EQ(value.find("$argon2id"), std::string::npos);
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
  EXPECT_EQ((*rows)[0].fields[1], (std::pair<std::string, std::string>{"name", "Famille 0"}));
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
  auto both = History(*store_, HistoryQuery{.account_id = "a1", .family_id = "f0"});
  ASSERT_FALSE(both.has_value());
  EXPECT_EQ(both.error().code, ErrorCode::kInvalid);
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
                                   {{"name", "Famille \"Dupont\""}, {"code_hash", "(hidden)"}}}};
  std::string jsonl = FormatJsonLines(rows);
  EXPECT_NE(jsonl.find("\"position\":7"), std::string::npos);
  EXPECT_NE(jsonl.find("\"time\":\"2026-01-01 00:00:00 CET\""), std::string::npos);
  EXPECT_NE(jsonl.find("Famille \\\"Dupont\\\""), std::string::npos);
  std::string csv = FormatCsv(rows);
  EXPECT_EQ(csv,
            "position,time,actor,stream,type,fields\n"
            "7,\"2026-01-01 00:00:00 CET\",\"agent-1\",\"family-f\",\"FamilyRegistered\","
            "\"name=Famille \"\"Dupont\"\"; code_hash=(hidden)\"\n");
  EXPECT_NE(FormatTable(rows).find("1 events"), std::string::npos);
}

}  // namespace
}  // namespace portail::replay
