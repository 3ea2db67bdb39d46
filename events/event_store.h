// The event log on RocksDB: atomic multi-stream appends with expected versions, idempotent
// commands, a BLAKE2b hash chain, and the projections written in the same batch.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/error.h"
#include "events/projection.h"
#include "events/stored_event.h"

namespace portail::events {

struct StoreOptions {
  // The data directory; created if missing.
  std::string path;
  // Projections written inline with every append. Not owned; they must outlive the store.
  std::vector<Projection*> projections;
  // Every acknowledged write is synced. Only benchmarks of the raw engine and replay's bulk
  // rebuilds may turn this off.
  bool sync = true;
  // Open without taking the write lock, as a RocksDB secondary instance that follows the
  // primary (for the replay tool next to a live server). Appends then fail.
  bool read_only = false;
  // Scratch directory for the secondary instance's own info log (read_only only).
  std::string secondary_path;
  // Views to replace on open by rows rebuilt elsewhere (`replay rebuild`): view name -> the
  // rebuilt directory. Each view's rows and checkpoint are swapped in one synced batch, then the
  // view catches up with events appended since its rebuild. Primary (not read_only) only.
  std::vector<std::pair<std::string, std::string>> replace_views;
};

// What Verify() found. `first_bad_position` is set when the log does not verify.
struct VerifyReport {
  uint64_t events_checked = 0;
  uint64_t head_position = 0;
  std::optional<uint64_t> first_bad_position;
  std::string problem;

  bool ok() const { return !first_bad_position.has_value() && problem.empty(); }
};

// Figures of one AppendBatch() call, for metrics.
struct BatchStats {
  size_t requests_written = 0;
  size_t events_written = 0;
  int64_t write_micros = 0;  // the synced RocksDB write, fsync included
};

// A batch written to RocksDB but not yet synced nor visible to readers (pipelined appends).
struct UnsyncedBatch {
  std::vector<Result<AppendResult>> results;  // per request, as AppendBatch gives them
  BatchStats stats;
  uint64_t head = 0;                     // the log's last position once this batch is durable
  std::shared_ptr<const void> snapshot;  // what readers see once it is published; null: nothing
};

class EventStore {
 public:
  // Opens (creating if needed) the store at options.path, brings every projection up to the head
  // of the log, and returns it. Errors: kIoError when RocksDB fails, kCorruption when the log's
  // metadata is unreadable.
  static Result<std::unique_ptr<EventStore>> Open(StoreOptions options);

  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;
  ~EventStore();

  // Appends `request` atomically with one synced write. A wrong expected version is kConflict
  // naming the stream and both versions, and nothing is written. A command id seen before returns
  // the original positions with duplicate=true. Thread-safe.
  Result<AppendResult> Append(const AppendRequest& request);

  // Appends several independent requests in one synced write (group commit). Each request is
  // checked on its own (against the log and the requests before it in the batch); a failed one
  // writes nothing and does not affect the others. Results are in request order. Thread-safe.
  std::vector<Result<AppendResult>> AppendBatch(std::span<const AppendRequest> requests,
                                                BatchStats* stats = nullptr);

  // The pipelined form of AppendBatch for a single writer (the command bus): writes without
  // syncing, so the next batch can be prepared while SyncAndPublish() waits for the disk.
  // Readers of views and HeadPosition() do not see the batch until it is published. Requests
  // are checked against every batch written before, synced or not.
  UnsyncedBatch WriteUnsynced(std::span<const AppendRequest> requests);

  // Syncs the log (every batch written so far) and makes `last` visible to readers, which
  // must be the latest batch written before this call started. A failed sync stops all
  // further writes (kUnavailable): the unsynced batches may be lost.
  Status SyncAndPublish(UnsyncedBatch& last, int64_t* sync_micros = nullptr);

  // Up to `max` events of `stream` from `from_version` (1-based) on, in version order.
  Result<std::vector<StoredEvent>> ReadStream(std::string_view stream, uint64_t from_version,
                                              size_t max) const;

  // Up to `max` events from global position `from_position` (1-based) on, in log order.
  Result<std::vector<StoredEvent>> ReadAll(uint64_t from_position, size_t max) const;

  // Calls `fn` on each record from `from_position` on, without copying, until it returns false.
  // The record is valid only during the call.
  Status ScanAll(uint64_t from_position,
                 const std::function<bool(const schema::EventRecord&)>& fn) const;
  // ScanAll() handing over each record's bytes (a flatbuffer EventRecord), e.g. to copy them.
  Status ScanRecords(uint64_t from_position,
                     const std::function<bool(std::string_view record)>& fn) const;

  // The positions a command id appended, or nullopt when it was never applied.
  Result<std::optional<std::vector<uint64_t>>> CommandPositions(std::string_view command_id) const;

  // The current version of `stream` (0 when it does not exist).
  Result<uint64_t> StreamVersion(std::string_view stream) const;

  // Position of the last durable event (0 when the log is empty). Thread-safe, lock-free.
  uint64_t HeadPosition() const;

  // Blocks until the head is beyond `position` or `timeout` passes; returns the head then.
  uint64_t WaitForHead(uint64_t position, std::chrono::milliseconds timeout) const;

  // Read access to a projection's durable rows; nullptr for an unknown name.
  const ViewReader* View(std::string_view projection_name) const;

  // The last position a projection has applied (its checkpoint).
  Result<uint64_t> Checkpoint(std::string_view projection_name) const;

  // Walks the whole log: gap-free positions, decodable records, the hash chain, the stream index
  // and the chain head. Names the first bad position. kIoError only when reading fails.
  Result<VerifyReport> Verify() const;

  // For a read-only (secondary) store: catches up with the primary's latest writes.
  Status Refresh();

  // Flushes memtables and closes RocksDB cleanly; further calls fail. Called by the destructor.
  void Close();

  class Impl;

 private:
  explicit EventStore(std::unique_ptr<Impl> impl);
  UnsyncedBatch Write(std::span<const AppendRequest> requests, bool sync);
  std::unique_ptr<Impl> impl_;
};

// Encodes `v` as 8 big-endian bytes (the key order of positions and versions).
std::string EncodeBigEndian64(uint64_t v);
uint64_t DecodeBigEndian64(std::string_view bytes);

}  // namespace portail::events
