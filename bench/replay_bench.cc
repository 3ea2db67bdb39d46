// Benchmarks rebuilding views from the whole log (RebuildView) against a raw RocksDB scan of it.
#include <rocksdb/db.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "bench/raw_rocksdb.h"
#include "events/event_store.h"
#include "events/view_digest.h"
#include "events/view_rebuild.h"
#include "projections/accounts_view.h"
#include "projections/event_counts.h"
#include "projections/families_view.h"
#include "projections/outbox_view.h"
#include "projections/registry.h"

namespace portail::bench {
namespace {

struct Config {
  std::filesystem::path dir;
  uint64_t events = 1'000'000;
  uint64_t families = 1000;
  uint64_t requests_per_batch = 100;
  int rounds = 3;
};

[[noreturn]] void Die(const std::string& what) { bench::Die("replay_bench", what); }

// The four projections the server registers (server/app.cc).
struct ServerViews {
  projections::EventCounts event_counts;
  projections::AccountsView accounts;
  projections::FamiliesView families;
  projections::OutboxView outbox;
  std::vector<events::Projection*> All() { return {&event_counts, &accounts, &families, &outbox}; }
};

std::filesystem::path LogDir(const Config& config) { return config.dir / "log"; }

std::unique_ptr<events::EventStore> OpenStore(const Config& config, ServerViews& views, bool sync) {
  events::StoreOptions options;
  options.path = LogDir(config).string();
  options.sync = sync;
  options.projections = views.All();
  auto store = events::EventStore::Open(options);
  if (!store) Die("cannot open the store: " + store.error().message);
  return std::move(*store);
}

template <class T>
schema::PayloadUnion Payload(T event) {
  schema::PayloadUnion payload;
  payload.Set(std::move(event));
  return payload;
}

// One account's life, as the deciders shape it (commands/accounts.cc), in three requests and 8
// events: registration (account, e-mail claim, activation mail), delivery, then activation with
// a session and a subscription.
void AccountRequests(uint64_t n, uint64_t families, int64_t at,
                     std::vector<events::AppendRequest>& out) {
  std::string id = "a" + std::to_string(n);
  std::string email = "parent" + std::to_string(n) + "@bench.test";
  auto request = [&](std::vector<events::StreamAppend> streams) {
    events::AppendRequest r;
    r.actor = "bench";
    r.recorded_at_us = at;
    r.streams = std::move(streams);
    out.push_back(std::move(r));
  };
  schema::AccountRegisteredT registered;
  registered.account_id = id;
  registered.email = email;
  registered.first_name = "Parent";
  registered.last_name = std::to_string(n);
  registered.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$bench$" + id;
  schema::ActivationIssuedT issued;
  issued.token_id = "tok-" + id;
  issued.token_hash = "hash-tok-" + id;
  issued.expires_at_us = at + 48LL * 3600 * 1'000'000;
  schema::EmailClaimedT claimed;
  claimed.account_id = id;
  schema::MailQueuedT mail;
  mail.mail_id = "mail-" + id;
  mail.kind = "activation";
  mail.to = email;
  mail.account_id = id;
  mail.first_name = "Parent";
  mail.token_id = issued.token_id;
  mail.expires_at_us = issued.expires_at_us;
  request({{"account-" + id, {}, {Payload(registered), Payload(issued)}},
           {"email-" + email, {}, {Payload(claimed)}},
           {"outbox", {}, {Payload(mail)}}});
  schema::MailDeliveredT delivered;
  delivered.mail_id = mail.mail_id;
  delivered.via = "file";
  request({{"outbox", {}, {Payload(delivered)}}});
  schema::AccountActivatedT activated;
  activated.token_hash = issued.token_hash;
  schema::SessionStartedT session;
  session.session_hash = "session-" + id;
  session.expires_at_us = at + 12LL * 3600 * 1'000'000;
  session.client = "127.0.0.1";
  schema::SubscribedT subscribed;
  subscribed.family_id = "f" + std::to_string(n % families);
  request({{"account-" + id, {}, {Payload(activated), Payload(session), Payload(subscribed)}}});
}

// Fills the log with config.families families, then accounts until config.events events, by
// unsynced AppendBatch calls (the four views written inline, as on the server).
void Populate(const Config& config) {
  FreshDirectory(config.dir);
  ServerViews views;
  auto store = OpenStore(config, views, /*sync=*/false);
  auto start = SteadyClock::now();
  int64_t at = 1'735'722'000'000'000;
  std::vector<events::AppendRequest> batch;
  auto write = [&] {
    for (auto& result : store->AppendBatch(batch)) {
      if (!result) Die("populating: " + result.error().message);
    }
    batch.clear();
  };
  for (uint64_t f = 0; f < config.families; ++f) {
    schema::FamilyRegisteredT registered;
    registered.family_id = "f" + std::to_string(f);
    registered.name = "Famille " + std::to_string(f);
    registered.code_hash = "code-" + registered.family_id;
    events::AppendRequest r;
    r.recorded_at_us = at;
    r.streams.push_back({"family-" + registered.family_id, {}, {Payload(registered)}});
    batch.push_back(std::move(r));
    if (batch.size() >= config.requests_per_batch) write();
  }
  write();
  uint64_t planned = store->HeadPosition();
  for (uint64_t n = 0; planned + 8 <= config.events; ++n, planned += 8) {
    AccountRequests(n, config.families, at + static_cast<int64_t>(n) * 60'000'000, batch);
    if (batch.size() >= config.requests_per_batch) write();
  }
  write();
  uint64_t appended = store->HeadPosition();
  double seconds = SecondsSince(start);
  store->Close();
  std::printf("populated %llu events in %.1f s (%.0f events/s, four views inline, unsynced)\n",
              static_cast<unsigned long long>(appended), seconds, appended / seconds);
}

// RebuildView of `name` into a fresh directory, removed afterwards; checks the digest against
// the live view on `check_digest`.
Pass RebuildPass(const Config& config, const std::string& name, bool check_digest) {
  ServerViews live;
  auto store = OpenStore(config, live, /*sync=*/true);
  std::unique_ptr<events::Projection> projection = projections::MakeView(name);
  std::filesystem::path out = config.dir / ("rebuilt-" + name);
  std::filesystem::remove_all(out);
  auto start = SteadyClock::now();
  auto report = events::RebuildView(*store, *projection, out.string(), {});
  double seconds = SecondsSince(start);  // digest of the rebuilt rows included
  if (!report) Die("rebuilding " + name + ": " + report.error().message);
  if (check_digest && report->digest != events::ViewDigest(*store->View(name))) {
    Die("the rebuilt " + name + " differs from the live view");
  }
  std::filesystem::remove_all(out);
  return Pass{.events = report->events_applied, .seconds = seconds};
}

void Record(Series& series, const Pass& pass, uint64_t expected) {
  bench::Record("replay_bench", series, pass, expected, 22);
}

}  // namespace
}  // namespace portail::bench

int main(int argc, char** argv) {
  using namespace portail::bench;
  CLI::App app{"Rebuilding views from the log (RebuildView) against a raw RocksDB scan"};
  Config config;
  std::string dir = "/tmp/portail-bench/replay";
  std::vector<std::string> views = {"event_counts", "accounts", "families", "outbox"};
  bool reuse = false;
  bool keep = false;
  app.add_option("--dir", dir, "Directory of the store (emptied first unless --reuse)");
  app.add_option("--events", config.events, "Events in the log");
  app.add_option("--rounds", config.rounds, "Measured rounds");
  app.add_option("--views", views, "Views to rebuild")->delimiter(',');
  app.add_flag("--reuse", reuse, "Reuse the store in --dir if it exists");
  app.add_flag("--keep", keep, "Keep the store after the run");
  CLI11_PARSE(app, argc, argv);
  config.dir = dir;
  for (const auto& v : views) {
    if (!portail::projections::MakeView(v)) {
      Die("unknown view " + v + " (known: " + portail::projections::ViewNamesText() + ")");
    }
  }

  if (!reuse || !std::filesystem::exists(config.dir / "log" / "CURRENT")) Populate(config);
  Settle("replay_bench", LogDir(config), false);
  uint64_t expected =
      RawScan("replay_bench", LogDir(config)).events;  // unmeasured: warms the page cache
  std::printf("log of %llu events; %d rounds\n", static_cast<unsigned long long>(expected),
              config.rounds);

  Series raw{"raw", {}};
  std::vector<Series> rebuilds;
  for (const auto& v : views) rebuilds.push_back(Series{"rebuild " + v, {}});
  for (int round = 0; round < config.rounds; ++round) {
    std::printf("round %d\n", round + 1);
    Record(raw, RawScan("replay_bench", LogDir(config)), expected);
    for (size_t i = 0; i < views.size(); ++i) {
      Record(rebuilds[i], RebuildPass(config, views[i], round == 0), expected);
    }
  }

  std::printf("\n| method | best ev/s | median ev/s | median / raw |\n|---|---:|---:|---:|\n");
  std::printf("| raw | %.0f | %.0f | 100 %% |\n", raw.best(), raw.median());
  for (const auto& s : rebuilds) {
    std::printf("| %s | %.0f | %.0f | %.0f %% |\n", s.name.c_str(), s.best(), s.median(),
                100 * s.median() / raw.median());
  }
  if (!keep) std::filesystem::remove_all(config.dir);
  return 0;
}
