// Benchmarks durable appends through the CommandBus against raw synced RocksDB Puts, side by side.
#include <rocksdb/db.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "commands/aggregate.h"
#include "commands/clock.h"
#include "commands/command.h"
#include "commands/command_bus.h"
#include "events/event_store.h"
#include "events/log.h"

namespace portail::bench {
namespace {

// One small OperatorNote on the producer's own stream ("note-<n>": an unknown kind, so the bus
// keeps a VersionOnlyState for it).
class NoteCommand : public commands::Command {
 public:
  NoteCommand(std::string stream, std::string text)
      : stream_(std::move(stream)), text_(std::move(text)) {}

  std::vector<std::string> Streams() const override { return {stream_}; }

  Result<commands::Decision> Decide(const commands::States&, commands::Micros) const override {
    schema::OperatorNoteT note;
    note.text = text_;
    schema::PayloadUnion payload;
    payload.Set(std::move(note));
    commands::Decision decision;
    decision.appends.push_back({stream_, events::ExpectedVersion::Any(), {}});
    decision.appends.back().events.push_back(std::move(payload));
    return decision;
  }

 private:
  std::string stream_;
  std::string text_;
};

constexpr char kNoteText[] = "benchmark note";

// Commands carry an idempotency id, as the server's do; --no-command-ids drops it (diagnostic).
bool g_command_ids = true;

std::unique_ptr<NoteCommand> MakeCommand(int producer, uint64_t seq) {
  auto command = std::make_unique<NoteCommand>("note-" + std::to_string(producer), kNoteText);
  std::string id = "bench-" + std::to_string(producer) + "-" + std::to_string(seq);
  if (g_command_ids) command->command_id = id;
  command->correlation_id = id;
  command->actor = "agent-bench";
  return command;
}

struct Config {
  std::filesystem::path dir;
  double warmup_seconds = 0.5;
  double seconds = 3;
};

struct Row {
  std::string mode;
  int producers = 0;
  double ops_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  uint64_t errors = 0;
  std::string note;  // extra figures (bus: mean batch size, mean synced write)
};

enum Phase : int { kWarmup = 0, kMeasure = 1, kStop = 2 };

// Per-producer figures; each producer owns one, padded against false sharing.
struct alignas(64) Producer {
  // Completion signal. A mutex and condition variable rather than std::atomic::wait, whose
  // libstdc++ implementation spins on sched_yield and would steal the writer's CPU.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::vector<int64_t> latencies_ns;  // commands completed while measuring
  uint64_t errors = 0;
  std::string first_error;
};

// Runs `work(producer_index)` on `n` threads: a warmup, then the measured window, which
// `on_start` and `on_end` bracket. Returns the measured window's length in seconds.
template <class Work, class OnStart, class OnEnd>
double RunClosedLoop(int n, const Config& config, std::atomic<int>& phase, Work work,
                     OnStart on_start, OnEnd on_end) {
  phase = kWarmup;
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (int p = 0; p < n; ++p) threads.emplace_back([&work, p] { work(p); });
  std::this_thread::sleep_for(std::chrono::duration<double>(config.warmup_seconds));
  on_start();
  auto start = SteadyClock::now();
  phase = kMeasure;
  std::this_thread::sleep_for(std::chrono::duration<double>(config.seconds));
  phase = kStop;
  double elapsed = SecondsSince(start);
  on_end();
  for (auto& t : threads) t.join();
  return elapsed;
}

Row Summarise(std::string mode, int n, double elapsed, std::vector<Producer>& producers) {
  Row row;
  row.mode = std::move(mode);
  row.producers = n;
  std::vector<int64_t> all;
  for (auto& p : producers) {
    all.insert(all.end(), p.latencies_ns.begin(), p.latencies_ns.end());
    row.errors += p.errors;
    if (!p.first_error.empty() && row.note.empty()) row.note = "error: " + p.first_error;
  }
  row.ops_per_second = static_cast<double>(all.size()) / elapsed;
  row.p50_us = QuantileMicros(all, 0.50);
  row.p99_us = QuantileMicros(all, 0.99);
  return row;
}

// Sum and count of a histogram in the bus's Prometheus text.
struct HistogramTotals {
  double sum = 0;
  double count = 0;
};

HistogramTotals ReadHistogram(const std::string& text, const std::string& name) {
  HistogramTotals totals;
  auto value_of = [&text](const std::string& key) {
    size_t at = text.find("\n" + key + " ");
    return at == std::string::npos ? 0.0 : std::stod(text.substr(at + key.size() + 2));
  };
  totals.sum = value_of(name + "_sum");
  totals.count = value_of(name + "_count");
  return totals;
}

Row RunBus(int n, const Config& config) {
  std::filesystem::path dir = config.dir / ("bus-" + std::to_string(n));
  FreshDirectory(dir);
  events::StoreOptions options;
  options.path = dir.string();
  options.sync = true;
  auto store = events::EventStore::Open(options);
  if (!store) {
    std::fprintf(stderr, "cannot open the store: %s\n", store.error().message.c_str());
    std::exit(1);
  }
  commands::AggregateRegistry registry;  // empty: every stream gets a VersionOnlyState
  commands::SystemClock clock;
  commands::CommandBus bus(store->get(), &registry, &clock);

  std::vector<Producer> producers(n);
  std::atomic<int> phase{kWarmup};
  std::string before;
  std::string after;
  auto work = [&](int p) {
    Producer& me = producers[p];
    me.latencies_ns.reserve(1 << 16);
    for (uint64_t seq = 0; phase.load(std::memory_order_relaxed) != kStop; ++seq) {
      auto command = MakeCommand(p, seq);
      auto t0 = SteadyClock::now();
      bus.Submit(std::move(command), [&me, &phase, t0](Result<commands::CommandOutcome> outcome) {
        auto t1 = SteadyClock::now();
        if (!outcome) {
          if (me.errors++ == 0) me.first_error = outcome.error().message;
        } else if (phase.load(std::memory_order_relaxed) == kMeasure) {
          me.latencies_ns.push_back(NanosBetween(t0, t1));
        }
        std::lock_guard<std::mutex> lock(me.mu);
        me.done = true;
        me.cv.notify_one();
      });
      std::unique_lock<std::mutex> lock(me.mu);
      me.cv.wait(lock, [&me] { return me.done; });
      me.done = false;
    }
  };
  // Bus metrics are snapshotted around the measured window only.
  double elapsed = RunClosedLoop(
      n, config, phase, work, [&] { bus.metrics().Render(&before, 0); },
      [&] { bus.metrics().Render(&after, 0); });
  bus.Stop();
  (*store)->Close();

  Row row = Summarise("bus", n, elapsed, producers);
  auto b0 = ReadHistogram(before, "portail_batch_commands");
  auto b1 = ReadHistogram(after, "portail_batch_commands");
  auto w0 = ReadHistogram(before, "portail_batch_write_seconds");
  auto w1 = ReadHistogram(after, "portail_batch_write_seconds");
  double batches = b1.count - b0.count;
  if (batches > 0 && row.note.empty()) {
    char buf[128];
    std::snprintf(buf, sizeof(buf), "%.1f cmds/batch, synced write %.0f us, %.0f batches/s",
                  (b1.sum - b0.sum) / batches, (w1.sum - w0.sum) / batches * 1e6,
                  batches / elapsed);
    row.note = buf;
  }
  return row;
}

// The size of the record the bus writes for one NoteCommand, read back from a scratch store.
size_t BusRecordSize(const Config& config) {
  std::filesystem::path dir = config.dir / "probe";
  FreshDirectory(dir);
  size_t size = 0;
  {
    events::StoreOptions options;
    options.path = dir.string();
    auto store = events::EventStore::Open(options);
    if (!store) std::exit(1);
    commands::AggregateRegistry registry;
    commands::SystemClock clock;
    commands::CommandBus bus(store->get(), &registry, &clock);
    // A mid-run sequence number, so the command id has its typical length.
    auto outcome = bus.Execute(MakeCommand(7, 12345));
    bus.Stop();
    auto read = (*store)->ReadAll(1, 1);
    if (!outcome || !read || read->empty()) std::exit(1);
    size = read->front().bytes().size();
  }
  std::filesystem::remove_all(dir);
  return size;
}

Row RunRaw(int n, const Config& config, size_t value_size) {
  std::filesystem::path dir = config.dir / ("raw-" + std::to_string(n));
  FreshDirectory(dir);
  rocksdb::Options options;
  options.create_if_missing = true;
  options.max_background_jobs = 2;  // as the event store
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir.string(), &raw);
  if (!s.ok()) {
    std::fprintf(stderr, "cannot open raw RocksDB: %s\n", s.ToString().c_str());
    std::exit(1);
  }
  std::unique_ptr<rocksdb::DB> db(raw);

  std::vector<Producer> producers(n);
  std::atomic<int> phase{kWarmup};
  std::atomic<uint64_t> next_key{1};
  const std::string value(value_size, 'v');
  auto work = [&](int p) {
    Producer& me = producers[p];
    me.latencies_ns.reserve(1 << 16);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    while (phase.load(std::memory_order_relaxed) != kStop) {
      std::string key = events::EncodeBigEndian64(next_key.fetch_add(1));
      auto t0 = SteadyClock::now();
      rocksdb::Status put = db->Put(wo, key, value);
      auto t1 = SteadyClock::now();
      if (!put.ok()) {
        if (me.errors++ == 0) me.first_error = put.ToString();
      } else if (phase.load(std::memory_order_relaxed) == kMeasure) {
        me.latencies_ns.push_back(NanosBetween(t0, t1));
      }
    }
  };
  double elapsed = RunClosedLoop(
      n, config, phase, work, [] {}, [] {});
  s = db->Close();
  if (!s.ok()) std::fprintf(stderr, "closing raw RocksDB: %s\n", s.ToString().c_str());
  return Summarise("raw", n, elapsed, producers);
}

void PrintTable(const std::vector<Row>& rows) {
  std::printf("\n%-5s %9s %12s %10s %10s %7s  %s\n", "mode", "producers", "ops/s", "p50 us",
              "p99 us", "errors", "notes");
  for (const Row& r : rows) {
    std::printf("%-5s %9d %12.0f %10.1f %10.1f %7" PRIu64 "  %s\n", r.mode.c_str(), r.producers,
                r.ops_per_second, r.p50_us, r.p99_us, r.errors, r.note.c_str());
  }
}

}  // namespace
}  // namespace portail::bench

int main(int argc, char** argv) {
  using namespace portail::bench;
  CLI::App app{"Durable appends: CommandBus (sync=true) versus raw RocksDB synced Puts"};
  Config config;
  std::string dir = "/tmp/portail-bench/append";
  std::string producer_list = "1,8,64";
  std::string modes = "bus,raw";
  bool keep = false;
  bool no_command_ids = false;
  app.add_option("--dir", dir, "Scratch directory for the stores (emptied first)");
  app.add_option("--seconds", config.seconds, "Measured time per configuration");
  app.add_option("--warmup", config.warmup_seconds, "Unmeasured time before each measurement");
  app.add_option("--producers", producer_list, "Comma-separated producer counts");
  app.add_option("--modes", modes, "bus, raw or bus,raw");
  app.add_flag("--keep", keep, "Keep the stores after the run");
  app.add_flag("--no-command-ids", no_command_ids,
               "Submit commands without an idempotency id (diagnostic)");
  CLI11_PARSE(app, argc, argv);
  config.dir = dir;
  g_command_ids = !no_command_ids;
  portail::log::SetLevel("warn");

  const bool run_bus = modes.find("bus") != std::string::npos;
  const bool run_raw = modes.find("raw") != std::string::npos;
  size_t value_size = BusRecordSize(config);
  std::printf("record size written by the bus: %zu bytes (raw puts use the same value size)\n",
              value_size);
  std::printf("each configuration: %.1f s warmup + %.1f s measured, data under %s\n",
              config.warmup_seconds, config.seconds, config.dir.c_str());

  std::vector<Row> bus_rows;
  std::vector<Row> raw_rows;
  for (int n : ParseList(producer_list)) {
    if (run_bus) {
      bus_rows.push_back(RunBus(n, config));
      std::fprintf(stderr, "bus %d: %.0f ops/s\n", n, bus_rows.back().ops_per_second);
    }
    if (run_raw) {
      raw_rows.push_back(RunRaw(n, config, value_size));
      std::fprintf(stderr, "raw %d: %.0f ops/s\n", n, raw_rows.back().ops_per_second);
    }
  }
  // The single-put baseline is the ratio's denominator and the most sensitive to a disk shared
  // with other work: it is measured again last, and the faster of the two is used.
  std::vector<int> counts = ParseList(producer_list);
  if (run_raw && std::find(counts.begin(), counts.end(), 1) != counts.end()) {
    raw_rows.push_back(RunRaw(1, config, value_size));
    raw_rows.back().note = "repeated last (disk stability check)";
  }
  std::vector<Row> rows = bus_rows;
  rows.insert(rows.end(), raw_rows.begin(), raw_rows.end());
  PrintTable(rows);

  uint64_t errors = 0;
  for (const Row& r : rows) errors += r.errors;
  const Row* bus_max = nullptr;
  std::vector<double> raw_one;
  for (const Row& r : bus_rows) {
    if (bus_max == nullptr || r.producers > bus_max->producers) bus_max = &r;
  }
  for (const Row& r : raw_rows) {
    if (r.producers == 1) raw_one.push_back(r.ops_per_second);
  }
  if (bus_max != nullptr && !raw_one.empty()) {
    double base = *std::max_element(raw_one.begin(), raw_one.end());
    double low = *std::min_element(raw_one.begin(), raw_one.end());
    double ratio = base > 0 ? bus_max->ops_per_second / base : 0;
    std::printf(
        "\nbus@%d / raw@1 = %.2fx (raw@1 = %.0f ops/s, the faster of its runs; target >= "
        "10x: %s)\n",
        bus_max->producers, ratio, base, ratio >= 10 ? "met" : "NOT met");
    if (low < 0.8 * base) {
      std::printf("warning: the raw@1 runs differ by %.0f%%; the disk was busy, rerun\n",
                  100 * (1 - low / base));
    }
  }
  if (!keep) std::filesystem::remove_all(config.dir);
  return errors == 0 ? 0 : 1;
}
