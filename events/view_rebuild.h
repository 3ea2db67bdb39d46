// Rebuilding views from the whole log, each into a fresh directory of its own, beside the live
// store: one scan of the log feeds every view, each on a thread of its own, and each view's rows
// are folded in memory and written out as sorted table files.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "events/error.h"
#include "events/event_store.h"
#include "events/projection.h"

namespace portail::events {

// What a rebuild did for one view.
struct RebuildReport {
  uint64_t events_applied = 0;
  uint64_t checkpoint = 0;  // the last position applied (0 for an empty log)
  double seconds = 0;       // from the start of the rebuild until the view's rows were on disk
                            // (creating the directory, applying, writing, syncing); not the digest
  uint64_t spills = 0;      // times rows were written out before the end (they outgrew memory)
  std::string digest;       // ViewDigest() of the rebuilt rows
};

// One view to rebuild: `projection` (a fresh object, used by the rebuild only) into `out_dir`.
struct RebuildTarget {
  Projection* projection = nullptr;
  std::string out_dir;
};

struct RebuildOptions {
  // The rows one view keeps in memory (keys, values and bookkeeping, approximately). Past it, the
  // rows are written out as a sorted table file and later reads of them go to disk (0: after
  // every event that wrote a row).
  uint64_t memory_per_view = uint64_t{512} << 20;
  // From this many rows, a view's rows are sorted and written in two halves on two threads (two
  // table files ingested together): at the end of a rebuild the lighter views are done.
  uint64_t split_write_rows = 50000;
};

// Applies every event of `source` up to its head (as seen when the call starts) through each
// target's projection into a new RocksDB at its `out_dir` holding one column family
// "view.<name>" and its checkpoint. The log is scanned once; each view applies it on a thread of
// its own into an in-memory table of its rows (reads see the view's own earlier writes, as the
// same Apply() sees them inline); the rows are then written in key order as table files, synced
// and ingested. `progress(done, total)` is called from the calling thread as the slowest view
// advances and once at the end; it may be empty. Errors: kInvalid for an empty or repeated
// target, kAlreadyExists when an `out_dir` exists (nothing is touched), kIoError when reading or
// writing fails (what was written stays in the directories, for the caller to remove). `source`
// is only read; it may be a read-only store beside a running server. Reports are in target order.
Result<std::vector<RebuildReport>> RebuildViews(
    const EventStore& source, std::span<const RebuildTarget> targets, const RebuildOptions& options,
    const std::function<void(uint64_t done, uint64_t total)>& progress);

// RebuildViews() of one view with the default options.
Result<RebuildReport> RebuildView(
    const EventStore& source, Projection& projection, const std::string& out_dir,
    const std::function<void(uint64_t done, uint64_t total)>& progress);

// The digest of the view `name` rebuilt at `dir` by RebuildViews() (opened read-only).
// kNotFound when there is no such rebuilt view.
Result<std::string> DigestOfRebuiltView(const std::string& dir, std::string_view name);

}  // namespace portail::events
