// RebuildView: a projection replayed over the whole log into its own fresh RocksDB directory.
#include "events/view_rebuild.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "events/view_digest.h"
#include "events/view_rows.h"

namespace portail::events {
namespace {

using internal::FromRocks;

using internal::DbViewReader;
using internal::kCheckpointKey;
using internal::kViewPrefix;

constexpr uint64_t kRebuildBatch = 10000;

// An open RocksDB with its column family handles, closed on destruction.
struct OpenDb {
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;

  OpenDb() = default;
  OpenDb(const OpenDb&) = delete;
  OpenDb& operator=(const OpenDb&) = delete;
  ~OpenDb() {
    if (db == nullptr) return;
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    rocksdb::Status ignored = db->Close();  // a close failure leaves nothing more to do
    (void)ignored;
    delete db;
  }
};

// The default column family and the view's, with a bloom filter for the projection's point
// lookups, as the event store sets its views up.
std::vector<rocksdb::ColumnFamilyDescriptor> Descriptors(const rocksdb::Options& options,
                                                         std::string_view name) {
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions view(options);
  view.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return {rocksdb::ColumnFamilyDescriptor(rocksdb::kDefaultColumnFamilyName,
                                          rocksdb::ColumnFamilyOptions(options)),
          rocksdb::ColumnFamilyDescriptor(std::string(kViewPrefix) + std::string(name), view)};
}

rocksdb::ReadOptions LatestState(DbViewReader::Pin*) { return rocksdb::ReadOptions(); }

// Like BatchViewWriter, but keeps only each key's last write of the batch and hands those to the
// WriteBatch in Flush(): a rebuild writes every row once per batch, not once per event (the
// event counts' rows change on every event). Reads see the batch's writes before the database.
class CoalescingViewWriter : public ViewWriter {
 public:
  CoalescingViewWriter(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) : db_(db), cf_(cf) {}

  void Put(std::string_view key, std::string_view value) override {
    if (auto found = pending_.find(key); found != pending_.end()) {
      found->second = std::string(value);
    } else {
      pending_.emplace(std::string(key), std::string(value));
    }
  }
  void Delete(std::string_view key) override {
    if (auto found = pending_.find(key); found != pending_.end()) {
      found->second = std::nullopt;
    } else {
      pending_.emplace(std::string(key), std::nullopt);
    }
  }
  std::optional<std::string> Get(std::string_view key) override {
    if (auto found = pending_.find(key); found != pending_.end()) return found->second;
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), cf_, rocksdb::Slice(key.data(), key.size()), &value);
    if (!s.ok()) return std::nullopt;
    return value;
  }
  // Moves the batch's last writes into `batch` and forgets them.
  void Flush(rocksdb::WriteBatch& batch) {
    for (const auto& [key, value] : pending_) {
      if (value) {
        batch.Put(cf_, key, *value);
      } else {
        batch.Delete(cf_, key);
      }
    }
    pending_.clear();
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  std::unordered_map<std::string, std::optional<std::string>, Hash, std::equal_to<>> pending_;
};

}  // namespace

Result<RebuildReport> RebuildView(
    const EventStore& source, Projection& projection, const std::string& out_dir,
    const std::function<void(uint64_t done, uint64_t total)>& progress) {
  std::error_code ec;
  bool exists = std::filesystem::exists(out_dir, ec);
  if (ec) return Fail(ErrorCode::kIoError, "cannot look at " + out_dir + ": " + ec.message());
  if (exists) return Fail(ErrorCode::kAlreadyExists, out_dir + " already exists");
  auto start = std::chrono::steady_clock::now();
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.error_if_exists = true;
  options.max_background_jobs = 2;
  OpenDb out;
  rocksdb::Status s = rocksdb::DB::Open(options, out_dir, Descriptors(options, projection.name()),
                                        &out.handles, &out.db);
  if (!s.ok()) return std::unexpected(FromRocks(s, "creating " + out_dir));
  rocksdb::ColumnFamilyHandle* cf = out.handles[1];

  const uint64_t total = source.HeadPosition();
  rocksdb::WriteBatch batch;
  CoalescingViewWriter writer(out.db, cf);
  RebuildReport report;
  uint64_t in_batch = 0;
  auto flush = [&](bool sync) {
    writer.Flush(batch);
    batch.Put(cf, rocksdb::Slice(kCheckpointKey.data(), kCheckpointKey.size()),
              EncodeBigEndian64(report.checkpoint));
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    rocksdb::Status written = out.db->Write(wo, &batch);
    batch.Clear();
    in_batch = 0;
    return written;
  };
  rocksdb::Status write_status;
  auto scanned = source.ScanAll(1, [&](const schema::EventRecord& event) {
    if (event.position() > total) return false;
    projection.Apply(event, writer);
    report.checkpoint = event.position();
    ++report.events_applied;
    if (++in_batch == kRebuildBatch) {
      write_status = flush(false);
      if (!write_status.ok()) return false;
      if (progress) progress(report.events_applied, total);
    }
    return true;
  });
  if (!write_status.ok()) return std::unexpected(FromRocks(write_status, "writing " + out_dir));
  if (!scanned) return std::unexpected(scanned.error());
  if (s = flush(true); !s.ok()) return std::unexpected(FromRocks(s, "writing " + out_dir));
  if (progress) progress(report.events_applied, total);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  DbViewReader reader(out.db, cf, LatestState);
  report.digest = ViewDigest(reader);
  return report;
}

Result<std::string> DigestOfRebuiltView(const std::string& dir, std::string_view name) {
  rocksdb::Options options;
  OpenDb in;
  rocksdb::Status s =
      rocksdb::DB::OpenForReadOnly(options, dir, Descriptors(options, name), &in.handles, &in.db);
  if (!s.ok()) {
    return Fail(ErrorCode::kNotFound,
                "no rebuilt view " + std::string(name) + " in " + dir + ": " + s.ToString());
  }
  DbViewReader reader(in.db, in.handles[1], LatestState);
  return ViewDigest(reader);
}

}  // namespace portail::events
