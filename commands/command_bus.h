// The command bus: one writer thread that decides commands against cached aggregate state and
// appends many of them in one synced write (group commit).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "commands/aggregate.h"
#include "commands/clock.h"
#include "commands/command.h"
#include "commands/metrics.h"
#include "events/event_store.h"

namespace portail::commands {

struct BusOptions {
  // Commands waiting beyond this are refused with kUnavailable ("retry").
  size_t queue_capacity = 16384;
  // Most commands written in one batch (one fsync).
  size_t max_batch = 1024;
  // Aggregate states kept in memory; the cache is emptied when it grows past this.
  size_t max_cached_states = 1 << 20;
};

struct BusMetrics {
  Counter commands_ok;
  Counter commands_duplicate;
  Counter commands_rejected;  // decide or expected-version failures
  Counter commands_failed;    // storage failures, refused for a full queue or a stopped bus
  Counter events_appended;
  Histogram batch_size{Histogram::SizeBounds()};
  Histogram write_seconds{Histogram::LatencyBounds()};  // the batch's RocksDB write (no sync)
  Histogram fsync_seconds{Histogram::LatencyBounds()};  // one WAL sync (covers >= 1 batch)

  // Appends these metrics and `queue_depth` in the Prometheus text format.
  void Render(std::string* out, size_t queue_depth) const;
};

class CommandBus {
 public:
  using Callback = std::function<void(Result<CommandOutcome>)>;

  // Starts the writer thread. `store`, `registry` and `clock` are not owned and must outlive the
  // bus.
  CommandBus(events::EventStore* store, const AggregateRegistry* registry, const Clock* clock,
             BusOptions options = {});
  CommandBus(const CommandBus&) = delete;
  CommandBus& operator=(const CommandBus&) = delete;
  // Stops the bus (see Stop()).
  ~CommandBus();

  // Queues `command`. `done` runs exactly once: on the bus's completion thread after the
  // command's events are durable or it failed, or at once on the caller's thread with kUnavailable
  // when the queue is full or the bus is stopping. `done` must be quick (hand the result to another
  // thread). Thread-safe.
  void Submit(std::unique_ptr<Command> command, Callback done);

  // Submits and waits for the outcome.
  Result<CommandOutcome> Execute(std::unique_ptr<Command> command);

  // Refuses new commands, finishes every queued one, and joins the writer. Idempotent and
  // thread-safe.
  void Stop();

  size_t QueueDepth() const;
  const BusMetrics& metrics() const { return metrics_; }

 private:
  struct Item {
    std::unique_ptr<Command> command;
    Callback done;
  };
  struct Completion {
    Callback done;
    Result<CommandOutcome> result;
  };
  // A batch written without sync, and the callers to answer once it is durable.
  struct SyncJob {
    events::UnsyncedBatch batch;
    std::vector<Completion> after_sync;
  };
  static constexpr size_t kMaxUnsyncedBatches = 8;

  // The writer: decides and writes batches without waiting for the disk.
  void Run();
  // The syncer: one WAL sync for all batches written meanwhile, then their callers are answered.
  void Sync();
  // Answers callers on their own thread, so neither the writer nor the syncer waits on wake-ups.
  void Complete();
  void Hand(std::vector<Completion> completions);
  // Decides `items`; answers refused ones in `completions` and writes the rest into `job`.
  void ProcessBatch(std::vector<Item>& items, std::vector<Completion>& completions, SyncJob& job);
  // The cached state of `stream`, rehydrated from the log on a miss.
  Result<const AggregateState*> CachedState(const std::string& stream);

  events::EventStore* store_;
  const AggregateRegistry* registry_;
  const Clock* clock_;
  BusOptions options_;
  BusMetrics metrics_;

  std::mutex stop_mu_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::thread writer_;

  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::vector<SyncJob> sync_jobs_;  // guarded by sync_mu_
  bool writer_done_ = false;        // guarded by sync_mu_
  std::thread syncer_;

  std::mutex completion_mu_;
  std::condition_variable completion_cv_;
  std::vector<Completion> completed_;  // guarded by completion_mu_
  bool syncer_done_ = false;           // guarded by completion_mu_
  std::thread completer_;

  // Touched by the writer thread only.
  std::unordered_map<std::string, std::unique_ptr<AggregateState>> cache_;
};

}  // namespace portail::commands
