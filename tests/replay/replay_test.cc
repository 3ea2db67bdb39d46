// Tests of view digests and rebuilds: a view replayed from the log holds exactly the live rows.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "events/event_store.h"
#include "events/view_digest.h"
#include "events/view_rebuild.h"
#include "projections/registry.h"
#include "tests/replay/town.h"
#include "tests/support/memory_rows.h"
#include "tests/support/notes.h"
#include "tests/support/temp_dir.h"

namespace portail::events {
namespace {

using portail::testing::TempDir;

using Rows = std::map<std::string, std::string>;

// A view held in memory, for the digest's own tests.
using MapRows = portail::testing::MemoryRows;

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions options;
    options.path = dir_.Sub("log");
    options.projections = views_.All();
    auto store = EventStore::Open(options);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    ASSERT_TRUE(portail::testing::PopulateTown(*store_, /*families=*/12, /*accounts=*/40));
    ASSERT_TRUE(portail::testing::PopulateDossier(*store_));
    ASSERT_GT(store_->HeadPosition(), 300u);
  }

  TempDir dir_;
  portail::testing::ServerViews views_;
  std::unique_ptr<EventStore> store_;
};

TEST(ViewDigestTest, IsTheSameForTheSameRowsAndHex) {
  MapRows a(Rows{{"k1", "v1"}, {"k2", "v2"}});
  MapRows b(Rows{{"k2", "v2"}, {"k1", "v1"}});
  EXPECT_EQ(ViewDigest(a), ViewDigest(b));
  EXPECT_EQ(ViewDigest(a).size(), 64u);
  EXPECT_EQ(ViewDigest(a).find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(ViewDigestTest, IsBlake2b256OfLengthPrefixedKeysAndValuesInKeyOrder) {
  // Expected values from Python: hashlib.blake2b(data, digest_size=32).hexdigest().
  MapRows rows(Rows{{"k2", ""}, {"k", "v1"}});
  EXPECT_EQ(ViewDigest(rows), "b074ee56b158b90890dbb93d92389453dddd39b0149bb7ddadf742c9a3688af6");
  MapRows empty(Rows{});
  EXPECT_EQ(ViewDigest(empty), "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

TEST(ViewDigestTest, ChangesWhenOneValueDiffers) {
  MapRows a(Rows{{"k1", "v1"}, {"k2", "v2"}});
  MapRows b(Rows{{"k1", "v1"}, {"k2", "v3"}});
  EXPECT_NE(ViewDigest(a), ViewDigest(b));
}

TEST(ViewDigestTest, SeparatesKeysFromValues) {
  MapRows a(Rows{{"ab", "c"}});
  MapRows b(Rows{{"a", "bc"}});
  EXPECT_NE(ViewDigest(a), ViewDigest(b));
}

TEST(ViewDigestTest, OfAnEmptyViewDiffersFromAViewWithAnEmptyRow) {
  MapRows empty(Rows{});
  MapRows one_empty_row(Rows{{"", ""}});
  EXPECT_NE(ViewDigest(empty), ViewDigest(one_empty_row));
}

TEST(ViewRegistryTest, MakesEveryServerViewByItsNameAndNothingElse) {
  const auto& names = projections::ViewNames();
  ASSERT_GE(names.size(), 5u);
  EXPECT_EQ(
      std::vector<std::string>(names.begin(), names.begin() + 5),
      (std::vector<std::string>{"event_counts", "accounts", "families", "outbox", "dossier"}));
  std::string text;
  for (const auto& name : names) {
    auto view = projections::MakeView(name);
    ASSERT_NE(view, nullptr) << name;
    EXPECT_EQ(view->name(), name);
    text += (text.empty() ? "" : ", ") + name;
  }
  EXPECT_EQ(projections::MakeView("nope"), nullptr);
  EXPECT_EQ(projections::ViewNamesText(), text);
}

TEST_F(ReplayTest, EveryRebuiltViewHasTheLiveViewsDigest) {
  for (Projection* projection : views_.All()) {
    std::string name(projection->name());
    const ViewReader* live = store_->View(name);
    ASSERT_NE(live, nullptr) << name;
    std::string out = dir_.Sub("rebuilt-" + name);
    auto report = RebuildView(*store_, *projection, out, {});
    ASSERT_TRUE(report) << name << ": " << report.error().message;
    EXPECT_EQ(report->events_applied, store_->HeadPosition()) << name;
    EXPECT_EQ(report->checkpoint, store_->HeadPosition()) << name;
    EXPECT_EQ(report->digest, ViewDigest(*live)) << name;
    auto reread = DigestOfRebuiltView(out, name);
    ASSERT_TRUE(reread) << reread.error().message;
    EXPECT_EQ(*reread, report->digest) << name;
  }
}

TEST_F(ReplayTest, LiveViewsOfTheTownAreNotEmpty) {
  // Guards the digest comparisons above against views that stayed empty on both sides (the
  // views the town's events feed).
  MapRows empty(Rows{});
  for (std::string name : {"event_counts", "accounts", "families", "outbox", "dossier"}) {
    EXPECT_NE(ViewDigest(*store_->View(name)), ViewDigest(empty)) << name;
  }
}

TEST_F(ReplayTest, RebuildReportsProgressUpToTheHead) {
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  auto report =
      RebuildView(*store_, views_.Get("event_counts"), dir_.Sub("counts"),
                  [&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); });
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back().first, store_->HeadPosition());
  EXPECT_EQ(calls.back().second, store_->HeadPosition());
}

TEST_F(ReplayTest, RebuildIntoAnExistingDirectoryIsAlreadyExistsAndTouchesNothing) {
  std::string out = dir_.Sub("taken");
  std::filesystem::create_directories(out);
  std::filesystem::path marker = std::filesystem::path(out) / "keep.txt";
  { std::ofstream(marker) << "mine"; }
  auto report = RebuildView(*store_, views_.Get("accounts"), out, {});
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kAlreadyExists);
  EXPECT_TRUE(std::filesystem::exists(marker));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(out), {}), 1);
}

TEST_F(ReplayTest, DigestOfAMissingRebuiltViewIsNotFound) {
  auto digest = DigestOfRebuiltView(dir_.Sub("nothing-here"), "accounts");
  ASSERT_FALSE(digest);
  EXPECT_EQ(digest.error().code, ErrorCode::kNotFound);
}

TEST_F(ReplayTest, OneMoreLiveEventMakesTheOldRebuildDiffer) {
  auto report = RebuildView(*store_, views_.Get("accounts"), dir_.Sub("accounts"), {});
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_EQ(report->digest, ViewDigest(*store_->View("accounts")));

  schema::SessionStartedT session;
  session.session_hash = "one-more";
  session.expires_at_us = portail::testing::kTownStartUs + 1000 * portail::testing::kDayUs;
  AppendRequest request;
  request.recorded_at_us = portail::testing::kTownStartUs + 999 * portail::testing::kDayUs;
  request.streams.push_back(
      {"account-a1", ExpectedVersion::Any(), {portail::testing::Payload(session)}});
  ASSERT_TRUE(store_->Append(request));

  EXPECT_NE(report->digest, ViewDigest(*store_->View("accounts")));
  auto again = RebuildView(*store_, views_.Get("accounts"), dir_.Sub("accounts-again"), {});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->digest, ViewDigest(*store_->View("accounts")));
}

TEST_F(ReplayTest, AnEventNoViewReadsChangesOnlyTheEventCounts) {
  std::map<std::string, std::string> before;
  for (Projection* p : views_.All())
    before[std::string(p->name())] = ViewDigest(*store_->View(p->name()));
  AppendRequest request;
  request.streams.push_back({"notes", ExpectedVersion::Any(), {portail::testing::Note("hello")}});
  ASSERT_TRUE(store_->Append(request));
  for (Projection* p : views_.All()) {
    std::string name(p->name());
    if (name == "event_counts") {
      EXPECT_NE(ViewDigest(*store_->View(name)), before[name]);
    } else {
      EXPECT_EQ(ViewDigest(*store_->View(name)), before[name]) << name;
    }
  }
}

TEST(RebuildTest, AViewSpanningSeveralBatchesMatchesTheLiveOne) {
  // More than one rebuild batch (10,000 events), so rows written by an earlier batch are read
  // back from the new database rather than from the batch's overlay.
  TempDir dir;
  portail::testing::ServerViews views;
  StoreOptions options;
  options.path = dir.Sub("log");
  options.projections = views.All();
  options.sync = false;
  auto store = EventStore::Open(options);
  ASSERT_TRUE(store) << store.error().message;
  ASSERT_TRUE(portail::testing::PopulateTown(**store, /*families=*/50, /*accounts=*/2500));
  ASSERT_GT((*store)->HeadPosition(), 20000u);
  for (Projection* projection : views.All()) {
    portail::testing::ServerViews fresh;
    Projection* same = nullptr;
    for (Projection* p : fresh.All()) {
      if (p->name() == projection->name()) same = p;
    }
    auto report = RebuildView(**store, *same, dir.Sub(std::string(projection->name())), {});
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(report->digest, ViewDigest(*(*store)->View(projection->name())))
        << projection->name();
  }
}

TEST(RebuildTest, AViewOfAnEmptyLogIsEmptyAtCheckpointZero) {
  TempDir dir;
  portail::testing::ServerViews views;
  StoreOptions options;
  options.path = dir.Sub("log");
  options.projections = views.All();
  auto store = EventStore::Open(options);
  ASSERT_TRUE(store) << store.error().message;
  auto report = RebuildView(**store, views.Get("accounts"), dir.Sub("accounts"), {});
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->events_applied, 0u);
  EXPECT_EQ(report->checkpoint, 0u);
  EXPECT_EQ(report->digest, ViewDigest(MapRows(Rows{})));
  EXPECT_EQ(report->digest, ViewDigest(*(*store)->View("accounts")));
}

TEST_F(ReplayTest, RebuildReadsAReadOnlyStoreBesideTheWriter) {
  StoreOptions options;
  options.path = dir_.Sub("log");
  options.read_only = true;
  options.secondary_path = dir_.Sub("secondary");
  options.projections = views_.All();
  auto reader = EventStore::Open(options);
  ASSERT_TRUE(reader) << reader.error().message;
  portail::testing::ServerViews fresh;
  auto report = RebuildView(**reader, fresh.Get("families"), dir_.Sub("families"), {});
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->events_applied, store_->HeadPosition());
  EXPECT_EQ(report->digest, ViewDigest(*(*reader)->View("families")));
  EXPECT_EQ(report->digest, ViewDigest(*store_->View("families")));
}

TEST(SecondaryTest, AViewTheWriterNeverHadIsAbsentRatherThanAnError) {
  // A log written by a server without the dossier view (an older version), then read by the
  // replay tool, which knows every view: a secondary cannot create the missing column family.
  TempDir dir;
  portail::testing::ServerViews views;
  std::vector<Projection*> older;
  for (Projection* p : views.All()) {
    if (p->name() != "dossier") older.push_back(p);
  }
  {
    StoreOptions options;
    options.path = dir.Sub("log");
    options.projections = older;
    auto store = EventStore::Open(options);
    ASSERT_TRUE(store) << store.error().message;
    ASSERT_TRUE(portail::testing::PopulateTown(**store, /*families=*/2, /*accounts=*/3));
    ASSERT_TRUE(portail::testing::PopulateDossier(**store));
  }
  portail::testing::ServerViews fresh;
  StoreOptions options;
  options.path = dir.Sub("log");
  options.read_only = true;
  options.secondary_path = dir.Sub("secondary");
  options.projections = fresh.All();
  auto reader = EventStore::Open(options);
  ASSERT_TRUE(reader) << reader.error().message;
  EXPECT_EQ((*reader)->View("dossier"), nullptr);
  auto checkpoint = (*reader)->Checkpoint("dossier");
  ASSERT_FALSE(checkpoint);
  EXPECT_EQ(checkpoint.error().code, ErrorCode::kNotFound);
  ASSERT_NE((*reader)->View("accounts"), nullptr);
  EXPECT_EQ((*reader)->Checkpoint("accounts").value(), (*reader)->HeadPosition());
  auto verified = (*reader)->Verify();
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_TRUE(verified->ok()) << verified->problem;
  // The absent view can still be rebuilt from the log.
  auto report = RebuildView(**reader, fresh.Get("dossier"), dir.Sub("dossier"), {});
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->events_applied, (*reader)->HeadPosition());
  EXPECT_NE(report->digest, ViewDigest(MapRows(Rows{})));
}

}  // namespace
}  // namespace portail::events

namespace portail::events {
namespace {

// A damaged live view is replaced by its rebuild on open, and catches up with later events.
TEST_F(ReplayTest, ASwappedInRebuildReplacesADamagedViewAndCatchesUp) {
  auto report = RebuildView(*store_, views_.Get("accounts"), dir_.Sub("rebuilt"), {});
  ASSERT_TRUE(report) << report.error().message;
  const std::string healthy = ViewDigest(*store_->View("accounts"));
  // Damage: a projection that writes a stray row, run inline over one more event.
  store_.reset();
  // (Same format version as the real view, so the reopened store keeps its rows.)
  class Vandal : public Projection {
   public:
    explicit Vandal(uint32_t format) : format_(format) {}
    std::string_view name() const override { return "accounts"; }
    uint32_t format_version() const override { return format_; }
    void Apply(const schema::EventRecord&, ViewWriter& rows) override { rows.Put("zz", "x"); }

   private:
    uint32_t format_;
  } vandal(views_.Get("accounts").format_version());
  {
    StoreOptions options;
    options.path = dir_.Sub("log");
    options.projections = {&vandal};
    auto damaged = EventStore::Open(options);
    ASSERT_TRUE(damaged) << damaged.error().message;
    AppendRequest request;
    request.streams.push_back({"note-1", {}, {portail::testing::Note("after the rebuild")}});
    ASSERT_TRUE((*damaged)->Append(request));
  }
  StoreOptions options;
  options.path = dir_.Sub("log");
  options.projections = views_.All();
  {
    auto reopened = EventStore::Open(options);
    ASSERT_TRUE(reopened);
    EXPECT_TRUE((*reopened)->View("accounts")->Get("zz").has_value());
  }
  options.replace_views = {{"accounts", dir_.Sub("rebuilt")}};
  auto swapped = EventStore::Open(options);
  ASSERT_TRUE(swapped) << swapped.error().message;
  EXPECT_FALSE((*swapped)->View("accounts")->Get("zz").has_value());
  // The note changed nothing in accounts: the swapped view equals the healthy one, and its
  // checkpoint caught up with the event appended after the rebuild.
  EXPECT_EQ(ViewDigest(*(*swapped)->View("accounts")), healthy);
  EXPECT_EQ((*swapped)->Checkpoint("accounts").value(), (*swapped)->HeadPosition());
  auto verified = (*swapped)->Verify();
  ASSERT_TRUE(verified);
  EXPECT_TRUE(verified->ok()) << verified->problem;
}

TEST_F(ReplayTest, SwappingFromADirectoryWithoutARebuildFailsAndChangesNothing) {
  const std::string before = ViewDigest(*store_->View("accounts"));
  store_.reset();
  StoreOptions options;
  options.path = dir_.Sub("log");
  options.projections = views_.All();
  options.replace_views = {{"accounts", dir_.Sub("nothing-here")}};
  auto failed = EventStore::Open(options);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kIoError);
  options.replace_views = {{"no_such_view", dir_.Sub("nothing-here")}};
  failed = EventStore::Open(options);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kNotFound);
  options.replace_views.clear();
  auto unchanged = EventStore::Open(options);
  ASSERT_TRUE(unchanged);
  EXPECT_EQ(ViewDigest(*(*unchanged)->View("accounts")), before);
}

}  // namespace
}  // namespace portail::events
