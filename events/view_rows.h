// Internal to events/: a view's rows on RocksDB, written through a batch and read back.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "events/error.h"
#include "events/projection.h"

namespace portail::events::internal {

// A RocksDB status as the store's error: kCorruption or kIoError, with what was being done.
inline Error FromRocks(const rocksdb::Status& s, std::string_view what) {
  return Error(s.IsCorruption() ? ErrorCode::kCorruption : ErrorCode::kIoError,
               std::string(what) + ": " + s.ToString());
}

// A view's column family is "view.<name>"; its checkpoint (last applied position, 8 bytes
// big-endian) is the row under kCheckpointKey, which sorts before every other key.
inline constexpr char kViewPrefix[] = "view.";
inline constexpr std::string_view kCheckpointKey("\0checkpoint", 11);

// A view's writes within one batch: kept in an overlay (which its reads see before the
// database's latest state) and handed to the shared WriteBatch by Flush(), each key's last write
// only: a view that rewrites a row for every event of a batch (a request's counters, a period's
// days) writes it once.
class BatchViewWriter : public ViewWriter {
 public:
  BatchViewWriter(rocksdb::WriteBatch* batch, rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf)
      : batch_(batch), db_(db), cf_(cf) {}

  void Put(std::string_view key, std::string_view value) override {
    if (auto found = overlay_.find(key); found != overlay_.end()) {
      found->second = std::string(value);
    } else {
      overlay_.emplace(std::string(key), std::string(value));
    }
  }
  void Delete(std::string_view key) override {
    if (auto found = overlay_.find(key); found != overlay_.end()) {
      found->second = std::nullopt;
    } else {
      overlay_.emplace(std::string(key), std::nullopt);
    }
  }
  std::optional<std::string> Get(std::string_view key) override {
    if (auto found = overlay_.find(key); found != overlay_.end()) return found->second;
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), cf_, rocksdb::Slice(key.data(), key.size()), &value);
    if (!s.ok()) return std::nullopt;
    return value;
  }
  // Adds the overlay's writes to the batch and forgets them; call before writing the batch.
  void Flush() {
    for (const auto& [key, value] : overlay_) {
      if (value) {
        batch_->Put(cf_, key, *value);
      } else {
        batch_->Delete(cf_, key);
      }
    }
    overlay_.clear();
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  rocksdb::WriteBatch* batch_;
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  std::unordered_map<std::string, std::optional<std::string>, Hash, std::equal_to<>> overlay_;
};

// Reads a view's rows (never the checkpoint row) with the read options `read_options` gives; the
// store passes the snapshot of the last durable batch (see EventStore::Impl::durable_snapshot).
class DbViewReader : public ViewReader {
 public:
  using Pin = std::shared_ptr<const rocksdb::Snapshot>;
  DbViewReader(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
               std::function<rocksdb::ReadOptions(Pin*)> read_options)
      : db_(db), cf_(cf), read_options_(std::move(read_options)) {}

  std::optional<std::string> Get(std::string_view key) const override {
    std::string value;
    Pin pin;
    rocksdb::Status s =
        db_->Get(read_options_(&pin), cf_, rocksdb::Slice(key.data(), key.size()), &value);
    if (!s.ok()) return std::nullopt;
    return value;
  }
  void Scan(std::string_view prefix,
            const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    Pin pin;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options_(&pin), cf_));
    for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
      std::string_view key(it->key().data(), it->key().size());
      if (!key.starts_with(prefix)) break;
      if (key == kCheckpointKey) continue;
      if (!fn(key, std::string_view(it->value().data(), it->value().size()))) break;
    }
  }

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  std::function<rocksdb::ReadOptions(Pin*)> read_options_;
};

}  // namespace portail::events::internal
