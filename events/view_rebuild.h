// Rebuilding a view from the whole log into a fresh directory of its own, beside the live store.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "events/error.h"
#include "events/event_store.h"
#include "events/projection.h"

namespace portail::events {

// What RebuildView() did.
struct RebuildReport {
  uint64_t events_applied = 0;
  uint64_t checkpoint = 0;  // the last position applied (0 for an empty log)
  double seconds = 0;       // creating the directory, applying, the final sync; not the digest
  std::string digest;       // ViewDigest() of the rebuilt rows
};

// Applies every event of `source` up to its head (as seen when the call starts) through
// `projection` into a new RocksDB at `out_dir` holding one column family "view.<name>" and its
// checkpoint, written in unsynced batches and synced at the end. `progress(done, total)` is
// called after each batch and once at the end; it may be empty. Errors: kAlreadyExists when
// `out_dir` exists (nothing is touched), kIoError when reading or writing fails (what was written
// stays in `out_dir`, for the caller to remove). Each key's last write of a batch is written once
// (the batch reads its own writes first). `source` is only read; it may be a read-only store
// beside a running server. Not thread-safe for one `projection`.
Result<RebuildReport> RebuildView(
    const EventStore& source, Projection& projection, const std::string& out_dir,
    const std::function<void(uint64_t done, uint64_t total)>& progress);

// The digest of the view `name` rebuilt at `dir` by RebuildView() (opened read-only).
// kNotFound when there is no such rebuilt view.
Result<std::string> DigestOfRebuiltView(const std::string& dir, std::string_view name);

}  // namespace portail::events
