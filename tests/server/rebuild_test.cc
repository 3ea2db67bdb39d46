// A town's life over real HTTP, then every view rebuilt from the log (one scan, in memory, and
// again with rows written out after every event): each rebuilt view equals the live one.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "events/view_digest.h"
#include "events/view_rebuild.h"
#include "projections/registry.h"
#include "tests/support/memory_rows.h"
#include "tests/support/temp_dir.h"
#include "tests/support/town_test.h"

namespace portail::testing {
namespace {

class RebuildTest : public TownTest {
 protected:
  // Requests, decisions, a promotion, messages, a cancellation, reads, family file changes: an
  // event of every kind the planning, requests and dossier views fold.
  void LiveATerm() {
    std::string parent = SubscribedParent("alice@example.org", "Alice");
    std::string canteen = Activity("Cantine", 30);
    std::string centre = Activity("Centre", 1, "automatic");
    Enrol(family_, lea_, canteen);
    Enrol(family_, hugo_, canteen);
    Enrol(family_, lea_, centre);
    Enrol(family_, hugo_, centre);
    std::string base = "/api/v1/families/" + family_;
    auto submit = [&](const std::string& kind, const std::vector<std::string>& children,
                      const std::string& activity, const std::string& from, const std::string& to) {
      auto r = portal_->Post(base + "/requests",
                             {{"kind", kind},
                              {"children", children},
                              {"activities", {activity}},
                              {"from", from},
                              {"to", to}},
                             Bearer(parent));
      EXPECT_EQ(r.status, 201) << r.body;
      return BodyOf(r).value("request_id", "");
    };
    std::string period = submit("reservation", {lea_, hugo_}, canteen, "2026-03-09", "2026-03-20");
    auto decided = portal_->Post("/api/v1/agent/requests/" + period + "/decisions",
                                 {{"decisions",
                                   {{{"child_id", lea_},
                                     {"activity_id", canteen},
                                     {"date", "2026-03-09"},
                                     {"outcome", "accept"}},
                                    {{"child_id", hugo_},
                                     {"activity_id", canteen},
                                     {"date", "2026-03-09"},
                                     {"outcome", "refuse"},
                                     {"reason", "complet"}}}}},
                                 Bearer(agent_));
    ASSERT_EQ(decided.status, 200) << decided.body;
    ASSERT_EQ(
        portal_
            ->Post(base + "/requests/" + period + "/messages", {{"text", "Merci."}}, Bearer(parent))
            .status,
        201);
    ASSERT_EQ(
        portal_
            ->Post(base + "/requests/" + period + "/messages", {{"text", "Noté."}}, Bearer(agent_))
            .status,
        201);
    submit("reservation", {lea_}, centre, "2026-03-16", "2026-03-16");
    std::string waiting = submit("reservation", {hugo_}, centre, "2026-03-16", "2026-03-16");
    submit("absence", {lea_}, centre, "2026-03-16", "2026-03-16");  // promotes Hugo
    std::string cancelled = submit("reservation", {lea_}, canteen, "2026-03-23", "2026-03-27");
    ASSERT_EQ(
        portal_->Post(base + "/requests/" + cancelled + "/cancel", Json::object(), Bearer(parent))
            .status,
        200);
    ASSERT_EQ(portal_->Get(base + "/requests/" + waiting + "/history", Bearer(parent)).status,
              200);  // marks it read
    ASSERT_EQ(portal_->Post("/api/v1/me/requests/read-all", Json::object(), Bearer(parent)).status,
              200);
    for (const char* name : {"Léane", "Lou"}) {
      auto proposed = portal_->Send("PATCH", base + "/members/" + lea_ + "/sections/general",
                                    Json{{"first_name", name}}.dump(), Bearer(parent));
      ASSERT_EQ(proposed.status, 202) << proposed.body;
    }
    auto address = portal_->Send("PATCH", base + "/members/" + hugo_ + "/sections/general",
                                 Json{{"last_name", "Martin-Durand"}}.dump(), Bearer(parent));
    ASSERT_EQ(address.status, 202) << address.body;
    std::string change = BodyOf(address)["change_id"];
    ASSERT_EQ(
        portal_->Post(base + "/changes/" + change + "/approve", Json::object(), Bearer(agent_))
            .status,
        200);
  }

  // Rebuilds every server view with `options`; each must equal the live view.
  void ExpectRebuildsEqualLive(const events::RebuildOptions& options, const std::string& dir) {
    events::EventStore& store = *portal_->app().services().store;
    std::filesystem::create_directories(dir);
    std::vector<std::unique_ptr<events::Projection>> fresh;
    std::vector<events::RebuildTarget> targets;
    for (const auto& name : projections::ViewNames()) {
      fresh.push_back(projections::MakeView(name));
      targets.push_back({fresh.back().get(), dir + "/" + name});
    }
    auto reports = events::RebuildViews(store, targets, options, {});
    ASSERT_TRUE(reports) << reports.error().message;
    ASSERT_EQ(reports->size(), targets.size());
    for (size_t i = 0; i < targets.size(); ++i) {
      std::string name(targets[i].projection->name());
      const events::RebuildReport& report = (*reports)[i];
      EXPECT_EQ(report.events_applied, store.HeadPosition()) << name;
      EXPECT_EQ(report.checkpoint, store.HeadPosition()) << name;
      EXPECT_EQ(report.digest, events::ViewDigest(*store.View(name))) << name;
      auto reread = events::DigestOfRebuiltView(targets[i].out_dir, name);
      ASSERT_TRUE(reread) << reread.error().message;
      EXPECT_EQ(*reread, report.digest) << name;
      if (options.memory_per_view == 1) EXPECT_GT(report.spills, 0u) << name;
    }
  }

  TempDir out_;
};

TEST_F(RebuildTest, EveryViewRebuiltInOneScanEqualsTheLiveOne) {
  ASSERT_NO_FATAL_FAILURE(LiveATerm());
  // The views this journey feeds are not empty (the comparison would prove nothing).
  MemoryRows empty(std::map<std::string, std::string>{});
  for (const char* name : {"planning", "requests", "dossier"}) {
    EXPECT_NE(events::ViewDigest(*portal_->app().services().store->View(name)),
              events::ViewDigest(empty))
        << name;
  }
  ExpectRebuildsEqualLive(events::RebuildOptions(), out_.Sub("in-memory"));
  // Every view's rows sorted and written in two halves, as large views' are.
  events::RebuildOptions halves;
  halves.split_write_rows = 2;
  ExpectRebuildsEqualLive(halves, out_.Sub("halves"));
}

TEST_F(RebuildTest, RowsWrittenOutAfterEveryEventGiveTheSameViews) {
  // A budget of one byte: every event's rows are written out and read back from disk, deletes
  // included (tombstones over rows written before).
  ASSERT_NO_FATAL_FAILURE(LiveATerm());
  events::RebuildOptions options;
  options.memory_per_view = 1;
  ExpectRebuildsEqualLive(options, out_.Sub("spilled"));
  options.split_write_rows = 2;
  ExpectRebuildsEqualLive(options, out_.Sub("spilled-halves"));
}

}  // namespace
}  // namespace portail::testing
