// Benchmarks reading the whole log (ReadAll, ScanAll) against a raw RocksDB iterator, side by side.
#include <rocksdb/db.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "bench/raw_rocksdb.h"
#include "events/event_store.h"
#include "events/log.h"

namespace portail::bench {
namespace {

// The readahead EventStore::ScanAll asks RocksDB for (event_store.cc).
constexpr size_t kScanAllReadahead = 2 << 20;

struct Config {
  std::filesystem::path dir;
  uint64_t events = 1'000'000;
  uint64_t streams = 1000;
  uint64_t events_per_request = 100;
  uint64_t requests_per_batch = 10;
  size_t read_chunk = 10'000;
  int rounds = 5;
};

// What one pass over the log saw; `checksum` keeps the compiler from skipping the reads.
[[noreturn]] void Die(const std::string& what) { bench::Die("scan_bench", what); }

std::unique_ptr<events::EventStore> OpenStore(const Config& config, bool sync) {
  events::StoreOptions options;
  options.path = config.dir.string();
  options.sync = sync;
  auto store = events::EventStore::Open(options);
  if (!store) Die("cannot open the store: " + store.error().message);
  return std::move(*store);
}

// Appends config.events small OperatorNotes round-robin over config.streams streams, many events
// per request and many requests per unsynced batch.
void Populate(const Config& config) {
  FreshDirectory(config.dir);
  auto store = OpenStore(config, /*sync=*/false);
  auto start = SteadyClock::now();
  uint64_t appended = 0;
  uint64_t request_no = 0;
  std::vector<events::AppendRequest> batch;
  while (appended < config.events) {
    batch.clear();
    for (uint64_t r = 0; r < config.requests_per_batch && appended < config.events; ++r) {
      events::AppendRequest request;
      request.command_id = "populate-" + std::to_string(request_no);
      request.correlation_id = request.command_id;
      request.actor = "agent-bench";
      request.recorded_at_us = 1'700'000'000'000'000 + static_cast<int64_t>(appended);
      events::StreamAppend append;
      append.stream = "note-" + std::to_string(request_no % config.streams);
      for (uint64_t e = 0; e < config.events_per_request && appended < config.events; ++e) {
        schema::OperatorNoteT note;
        note.text = "scan note " + std::to_string(appended++);
        schema::PayloadUnion payload;
        payload.Set(std::move(note));
        append.events.push_back(std::move(payload));
      }
      request.streams.push_back(std::move(append));
      batch.push_back(std::move(request));
      ++request_no;
    }
    for (auto& result : store->AppendBatch(batch)) {
      if (!result) Die("populating: " + result.error().message);
    }
  }
  double seconds = SecondsSince(start);
  store->Close();
  std::printf(
      "populated %llu events in %.1f s (%.0f events/s, unsynced batches of %llu)\n",
      static_cast<unsigned long long>(appended), seconds, appended / seconds,
      static_cast<unsigned long long>(config.events_per_request * config.requests_per_batch));
}

Pass ReadAllPass(const events::EventStore& store, size_t chunk) {
  Pass pass;
  auto start = SteadyClock::now();
  uint64_t from = 1;
  for (;;) {
    auto read = store.ReadAll(from, chunk);
    if (!read) Die("ReadAll: " + read.error().message);
    for (const auto& event : *read) {
      std::string_view bytes = event.bytes();
      pass.checksum += bytes.size() + static_cast<uint8_t>(bytes[0]);
    }
    pass.events += read->size();
    if (read->size() < chunk) break;
    from = read->back().position() + 1;
  }
  pass.seconds = SecondsSince(start);
  return pass;
}

Pass ScanAllPass(const events::EventStore& store) {
  Pass pass;
  auto start = SteadyClock::now();
  auto scanned = store.ScanAll(1, [&pass](const schema::EventRecord& record) {
    pass.checksum += record.position();
    ++pass.events;
    return true;
  });
  if (!scanned) Die("ScanAll: " + scanned.error().message);
  pass.seconds = SecondsSince(start);
  return pass;
}

void Record(Series& series, const Pass& pass, uint64_t expected) {
  bench::Record("scan_bench", series, pass, expected, 8);
}

}  // namespace
}  // namespace portail::bench

int main(int argc, char** argv) {
  using namespace portail::bench;
  CLI::App app{"Reading the whole log: ReadAll, ScanAll and a raw RocksDB iterator"};
  Config config;
  std::string dir = "/tmp/portail-bench/scan";
  bool reuse = false;
  bool keep = false;
  app.add_option("--dir", dir, "Directory of the store (emptied first unless --reuse)");
  app.add_option("--events", config.events, "Events in the log");
  app.add_option("--rounds", config.rounds, "Measured rounds (each reads the log three ways)");
  app.add_option("--chunk", config.read_chunk, "Events per ReadAll call");
  app.add_flag("--reuse", reuse, "Reuse the store in --dir if it holds --events events");
  app.add_flag("--keep", keep, "Keep the store after the run");
  CLI11_PARSE(app, argc, argv);
  config.dir = dir;
  portail::log::SetLevel("warn");

  bool populated = false;
  if (reuse && std::filesystem::exists(config.dir / "CURRENT")) {
    auto store = OpenStore(config, false);
    populated = store->HeadPosition() == config.events;
  }
  if (!populated) Populate(config);
  Settle("scan_bench", config.dir, true);

  // One unmeasured raw pass so every measured pass finds the files in the page cache.
  Pass warm = RawScan("scan_bench", config.dir);
  std::printf(
      "average record size: %.0f bytes\n",
      static_cast<double>(warm.bytes) / static_cast<double>(std::max<uint64_t>(warm.events, 1)));

  Series raw{"raw", {}};
  Series read_all{"ReadAll", {}};
  Series scan_all{"ScanAll", {}};
  Series raw_readahead{"raw-ra", {}};  // context: the raw iterator with ScanAll's readahead
  for (int round = 0; round < config.rounds; ++round) {
    std::printf("round %d\n", round + 1);
    auto store_passes = [&] {
      auto store = OpenStore(config, true);
      Record(read_all, ReadAllPass(*store, config.read_chunk), config.events);
      Record(scan_all, ScanAllPass(*store), config.events);
      store->Close();
    };
    auto raw_passes = [&] {
      Record(raw, RawScan("scan_bench", config.dir), config.events);
      Record(raw_readahead, RawScan("scan_bench", config.dir, kScanAllReadahead), config.events);
    };
    if (round % 2 == 0) {
      store_passes();
      raw_passes();
    } else {
      raw_passes();
      store_passes();
    }
  }

  std::printf("\n%llu events, %d rounds, ReadAll chunks of %zu\n",
              static_cast<unsigned long long>(config.events), config.rounds, config.read_chunk);
  std::printf("%-8s %14s %14s %12s %12s\n", "method", "best ev/s", "median ev/s", "best/raw",
              "median/raw");
  for (const Series* s : {&raw, &raw_readahead, &read_all, &scan_all}) {
    std::printf("%-8s %14.0f %14.0f %11.0f%% %11.0f%%\n", s->name.c_str(), s->best(), s->median(),
                100 * s->best() / raw.best(), 100 * s->median() / raw.median());
  }
  double scan_ratio = scan_all.median() / raw.median();
  double read_ratio = read_all.median() / raw.median();
  std::printf("\ntarget >= 50%% of raw (median): ScanAll %s, ReadAll %s\n",
              scan_ratio >= 0.5 ? "met" : "NOT met", read_ratio >= 0.5 ? "met" : "NOT met");
  if (!keep) std::filesystem::remove_all(config.dir);
  return 0;
}
