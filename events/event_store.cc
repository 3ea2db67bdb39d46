// EventStore on RocksDB. Column families: events (position -> record), streams (stream id, version
// -> position), commands (command id -> positions), meta, and one "view.<name>" per projection.
#include "events/event_store.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <sodium.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <unordered_map>

#include "events/log.h"
#include "events/view_rows.h"

namespace portail::events {
namespace {

using internal::FromRocks;

using internal::BatchViewWriter;
using internal::DbViewReader;
using internal::kCheckpointKey;
using internal::kViewPrefix;

constexpr char kEventsCf[] = "events";
constexpr char kStreamsCf[] = "streams";
constexpr char kCommandsCf[] = "commands";
constexpr char kMetaCf[] = "meta";
constexpr char kMetaFormatKey[] = "format_version";
constexpr char kMetaFormatVersion[] = "1";
constexpr char kMetaChainHeadKey[] = "chain_head";
// Per view: "view_format.<name>" -> the projection's format_version() its rows were written with,
// in decimal. Absent: 1 (stores from before views had versions).
constexpr char kMetaViewFormatPrefix[] = "view_format.";
constexpr size_t kMaxCachedStreamHeads = 1 << 20;
constexpr uint64_t kCatchUpBatch = 10000;

using Hash = std::array<uint8_t, 32>;

std::string StreamKey(std::string_view stream, uint64_t version) {
  std::string key;
  key.reserve(stream.size() + 9);
  key.append(stream);
  key.push_back('\0');
  key.append(EncodeBigEndian64(version));
  return key;
}

std::string StreamPrefix(std::string_view stream) {
  std::string prefix(stream);
  prefix.push_back('\0');
  return prefix;
}

std::string EncodePositions(const std::vector<uint64_t>& positions) {
  std::string out;
  out.reserve(positions.size() * 8);
  for (uint64_t p : positions) out.append(EncodeBigEndian64(p));
  return out;
}

std::vector<uint64_t> DecodePositions(std::string_view bytes) {
  std::vector<uint64_t> out;
  for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
    out.push_back(DecodeBigEndian64(bytes.substr(i, 8)));
  }
  return out;
}

// BLAKE2b-256 over prev_hash || position || record bytes (with the hash field zeroed).
Hash ChainHash(const Hash& prev, uint64_t position, std::string_view record) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  crypto_generichash_update(&state, prev.data(), prev.size());
  std::string pos = EncodeBigEndian64(position);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(pos.data()), 8);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(record.data()),
                            record.size());
  Hash out;
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

Hash ToHash(const schema::Digest* d) {
  Hash h{};
  if (d != nullptr) std::memcpy(h.data(), d, h.size());
  return h;
}

// Byte offset of the record's `hash` struct inside its buffer, or npos when it is absent.
size_t HashOffset(std::string_view bytes) {
  const auto* record = flatbuffers::GetRoot<schema::EventRecord>(bytes.data());
  const auto* hash = record->hash();
  if (hash == nullptr) return std::string_view::npos;
  return reinterpret_cast<const char*>(hash) - bytes.data();
}

// Recomputes the hash of a stored record; nullopt when it has no hash field.
std::optional<Hash> RecomputeHash(const Hash& prev, uint64_t position, std::string_view bytes) {
  size_t offset = HashOffset(bytes);
  if (offset == std::string_view::npos || offset + 32 > bytes.size()) return std::nullopt;
  std::string zeroed(bytes);
  std::memset(zeroed.data() + offset, 0, 32);
  return ChainHash(prev, position, zeroed);
}

bool VerifyRecordBytes(std::string_view bytes) {
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return schema::VerifyEventRecordBuffer(verifier);
}

}  // namespace

std::string EncodeBigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

uint64_t DecodeBigEndian64(std::string_view bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < bytes.size(); ++i) {
    v = (v << 8) | static_cast<uint8_t>(bytes[i]);
  }
  return v;
}

class EventStore::Impl {
 public:
  struct ViewCf {
    Projection* projection;
    rocksdb::ColumnFamilyHandle* cf;
    std::unique_ptr<DbViewReader> reader;
  };

  StoreOptions options;
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::ColumnFamilyHandle* events = nullptr;
  rocksdb::ColumnFamilyHandle* streams = nullptr;
  rocksdb::ColumnFamilyHandle* commands = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  std::vector<ViewCf> views;

  std::mutex write_mu;
  Hash chain_head{};                                       // guarded by write_mu
  std::unordered_map<std::string, uint64_t> stream_heads;  // guarded by write_mu
  flatbuffers::FlatBufferBuilder fbb{1024};                // guarded by write_mu
  uint64_t written_head = 0;      // last position written, synced or not; guarded by write_mu
  bool poisoned = false;          // a WAL sync failed: no more writes; guarded by write_mu
  std::atomic<uint64_t> head{0};  // last position durable and visible to readers
  // What readers see: a snapshot taken right after the last durable batch was written, so a
  // batch written but not yet synced stays invisible. Null: the latest state.
  mutable std::mutex snapshot_mu;
  std::shared_ptr<const rocksdb::Snapshot> durable_snapshot;  // guarded by snapshot_mu
  mutable std::mutex head_mu;
  mutable std::condition_variable head_cv;

  ~Impl() { Close(); }

  std::shared_ptr<const rocksdb::Snapshot> TakeSnapshot() {
    rocksdb::DB* owner = db;
    return std::shared_ptr<const rocksdb::Snapshot>(
        db->GetSnapshot(), [owner](const rocksdb::Snapshot* s) { owner->ReleaseSnapshot(s); });
  }

  rocksdb::ReadOptions DurableRead(std::shared_ptr<const rocksdb::Snapshot>* pin) const {
    {
      std::lock_guard<std::mutex> lock(snapshot_mu);
      *pin = durable_snapshot;
    }
    rocksdb::ReadOptions ro;
    ro.snapshot = pin->get();
    return ro;
  }

  // Makes the state up to `new_head` visible; never moves readers backwards.
  void Publish(uint64_t new_head, std::shared_ptr<const rocksdb::Snapshot> snapshot) {
    {
      std::lock_guard<std::mutex> lock(snapshot_mu);
      if (new_head < head.load()) return;
      durable_snapshot = std::move(snapshot);
      std::lock_guard<std::mutex> head_lock(head_mu);
      head.store(new_head, std::memory_order_release);
    }
    head_cv.notify_all();
  }

  void Close() {
    if (db == nullptr) return;
    {
      std::lock_guard<std::mutex> lock(snapshot_mu);
      durable_snapshot.reset();
    }
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    handles.clear();
    rocksdb::Status s = db->Close();
    if (!s.ok()) log::warn("closing the event store: {}", s.ToString());
    delete db;
    db = nullptr;
  }

  Status LoadHead() {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), events));
    it->SeekToLast();
    if (!it->status().ok()) return std::unexpected(FromRocks(it->status(), "reading the head"));
    if (!it->Valid()) {
      head = 0;
      written_head = 0;
      chain_head = Hash{};
      return {};
    }
    std::string_view bytes(it->value().data(), it->value().size());
    if (!VerifyRecordBytes(bytes)) {
      return Fail(ErrorCode::kCorruption, "the last record of the log does not decode");
    }
    head = DecodeBigEndian64(std::string_view(it->key().data(), it->key().size()));
    written_head = head;
    chain_head = ToHash(flatbuffers::GetRoot<schema::EventRecord>(bytes.data())->hash());
    return {};
  }

  // Current version of `stream` as stored (ignores the in-memory cache).
  Result<uint64_t> StoredStreamVersion(std::string_view stream) const {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), streams));
    std::string last = StreamKey(stream, ~uint64_t{0});
    it->SeekForPrev(last);
    if (!it->status().ok()) return std::unexpected(FromRocks(it->status(), "reading a stream"));
    if (!it->Valid()) return uint64_t{0};
    std::string_view key(it->key().data(), it->key().size());
    std::string prefix = StreamPrefix(stream);
    if (!key.starts_with(prefix) || key.size() != prefix.size() + 8) return uint64_t{0};
    return DecodeBigEndian64(key.substr(prefix.size()));
  }

  // Current version of `stream`, through the cache. Caller holds write_mu.
  Result<uint64_t> CachedStreamVersion(const std::string& stream) {
    auto found = stream_heads.find(stream);
    if (found != stream_heads.end()) return found->second;
    auto version = StoredStreamVersion(stream);
    if (!version) return version;
    if (stream_heads.size() >= kMaxCachedStreamHeads) stream_heads.clear();
    stream_heads.emplace(stream, *version);
    return version;
  }

  // Serialises one record with `hash` computed and patched in. Caller holds write_mu.
  std::string BuildRecord(uint64_t position, std::string_view stream, uint64_t version,
                          const AppendRequest& request, const Hash& prev,
                          const schema::PayloadUnion& payload, Hash* hash_out) {
    fbb.Clear();
    schema::Digest prev_digest;
    std::memcpy(static_cast<void*>(&prev_digest), prev.data(), 32);
    schema::Digest zero_digest{};
    auto stream_off = fbb.CreateString(stream.data(), stream.size());
    auto actor_off = fbb.CreateString(request.actor);
    auto command_off = fbb.CreateString(request.command_id);
    auto correlation_off = fbb.CreateString(request.correlation_id);
    auto payload_off = payload.Pack(fbb);
    auto root = schema::CreateEventRecord(
        fbb, position, stream_off, version, request.recorded_at_us, actor_off, command_off,
        correlation_off, &prev_digest, &zero_digest, payload.type, payload_off);
    fbb.Finish(root);
    std::string bytes(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
    Hash hash = ChainHash(prev, position, bytes);
    std::memcpy(bytes.data() + HashOffset(bytes), hash.data(), hash.size());
    *hash_out = hash;
    return bytes;
  }

  // Replaces every row of view `name` by the rows rebuilt in `dir`, checkpoint included, in one
  // synced batch (so a crash leaves the old view or the new one, never a mix).
  Status ReplaceViewRows(const std::string& name, const std::string& dir) {
    ViewCf* view = nullptr;
    for (auto& v : views) {
      if (v.projection->name() == name) view = &v;
    }
    if (view == nullptr) return Fail(ErrorCode::kNotFound, "no view named " + name);
    std::string cf_name = std::string(kViewPrefix) + name;
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
        {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
        {cf_name, rocksdb::ColumnFamilyOptions()}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* rebuilt = nullptr;
    rocksdb::Status s =
        rocksdb::DB::OpenForReadOnly(rocksdb::Options(), dir, descriptors, &handles, &rebuilt);
    if (!s.ok()) return std::unexpected(FromRocks(s, "opening the rebuilt view in " + dir));
    rocksdb::WriteBatch batch;
    bool has_checkpoint = false;
    {
      std::unique_ptr<rocksdb::Iterator> live(db->NewIterator(rocksdb::ReadOptions(), view->cf));
      for (live->SeekToFirst(); live->Valid(); live->Next()) batch.Delete(view->cf, live->key());
      std::unique_ptr<rocksdb::Iterator> it(
          rebuilt->NewIterator(rocksdb::ReadOptions(), handles[1]));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (it->key() == rocksdb::Slice(kCheckpointKey.data(), kCheckpointKey.size())) {
          has_checkpoint = true;
        }
        batch.Put(view->cf, it->key(), it->value());
      }
      s = it->status();
    }
    for (auto* h : handles) rebuilt->DestroyColumnFamilyHandle(h);
    delete rebuilt;
    if (!s.ok()) return std::unexpected(FromRocks(s, "reading the rebuilt view"));
    if (!has_checkpoint) return Fail(ErrorCode::kInvalid, dir + " holds no finished rebuild");
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db->Write(wo, &batch);
    if (!s.ok()) return std::unexpected(FromRocks(s, "swapping view " + name));
    log::info("view '{}' replaced by the rows rebuilt in {}", name, dir);
    return {};
  }

  std::string ViewFormatKey(const ViewCf& view) const {
    return kMetaViewFormatPrefix + std::string(view.projection->name());
  }

  // The format version the view's rows were written with (1 when none was recorded).
  Result<uint32_t> StoredViewFormat(const ViewCf& view) const {
    std::string value;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, ViewFormatKey(view), &value);
    if (s.IsNotFound()) return uint32_t{1};
    if (!s.ok()) return std::unexpected(FromRocks(s, "reading a view's format version"));
    uint32_t version = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return Fail(ErrorCode::kCorruption, "bad view format " + value);
      version = version * 10 + static_cast<uint32_t>(c - '0');
    }
    return version;
  }

  // Records the view's current format version; with `drop_rows`, deletes every row of the view
  // (checkpoint included) in the same synced batch, so the view is rebuilt from position 1.
  Status ResetViewFormat(ViewCf& view, bool drop_rows) {
    rocksdb::WriteBatch batch;
    if (drop_rows) {
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), view.cf));
      for (it->SeekToFirst(); it->Valid(); it->Next()) batch.Delete(view.cf, it->key());
      if (!it->status().ok()) return std::unexpected(FromRocks(it->status(), "reading a view"));
      if (batch.Count() > 0) {
        log::info("view '{}' holds rows of another format, this code writes format {}: rebuilding",
                  view.projection->name(), view.projection->format_version());
      }
    }
    batch.Put(meta, ViewFormatKey(view), std::to_string(view.projection->format_version()));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    rocksdb::Status s = db->Write(wo, &batch);
    if (!s.ok()) return std::unexpected(FromRocks(s, "resetting a view's rows"));
    return {};
  }

  Status CatchUp(ViewCf& view, uint64_t from, uint64_t to) {
    log::info("bringing view '{}' from position {} to {}", view.projection->name(), from - 1, to);
    rocksdb::WriteBatch batch;
    BatchViewWriter writer(&batch, db, view.cf);
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), events));
    uint64_t in_batch = 0;
    uint64_t last = from - 1;
    auto flush = [&](bool sync) -> Status {
      writer.Flush();
      batch.Put(view.cf, rocksdb::Slice(kCheckpointKey.data(), kCheckpointKey.size()),
                EncodeBigEndian64(last));
      rocksdb::WriteOptions wo;
      wo.sync = sync;
      rocksdb::Status s = db->Write(wo, &batch);
      if (!s.ok()) return std::unexpected(FromRocks(s, "writing a view"));
      batch.Clear();
      in_batch = 0;
      return {};
    };
    for (it->Seek(EncodeBigEndian64(from)); it->Valid(); it->Next()) {
      uint64_t position = DecodeBigEndian64(std::string_view(it->key().data(), it->key().size()));
      if (position > to) break;
      const auto& event = *flatbuffers::GetRoot<schema::EventRecord>(it->value().data());
      if (view.projection->Folds(event.payload_type())) view.projection->Apply(event, writer);
      last = position;
      if (++in_batch == kCatchUpBatch) {
        if (auto s = flush(false); !s) return s;
      }
    }
    if (!it->status().ok()) return std::unexpected(FromRocks(it->status(), "reading the log"));
    return flush(true);
  }
};

EventStore::EventStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventStore::~EventStore() = default;

void EventStore::Close() { impl_->Close(); }

Result<std::unique_ptr<EventStore>> EventStore::Open(StoreOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  const std::string& path = impl->options.path;

  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 4;

  std::set<std::string> names = {rocksdb::kDefaultColumnFamilyName, kEventsCf, kStreamsCf,
                                 kCommandsCf, kMetaCf};
  for (Projection* p : impl->options.projections) {
    names.insert(std::string(kViewPrefix) + std::string(p->name()));
  }
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, path, &existing).ok()) {
    names.insert(existing.begin(), existing.end());
  } else if (impl->options.read_only) {
    return Fail(ErrorCode::kNotFound, "no event store at " + path);
  }
  if (impl->options.read_only) {
    // A secondary cannot create column families: a view the writer never had stays absent
    // (View() is nullptr, Checkpoint() kNotFound) instead of failing the open.
    std::set<std::string> present(existing.begin(), existing.end());
    std::erase_if(names, [&present](const std::string& name) {
      return name.starts_with(kViewPrefix) && !present.contains(name);
    });
  }
  // Point lookups (stream heads, command ids, view rows) skip files with a bloom filter; the
  // event log itself is only scanned or read by position.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions point_lookups(db_options);
  point_lookups.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names) {
    descriptors.emplace_back(
        name, name == kEventsCf ? rocksdb::ColumnFamilyOptions(db_options) : point_lookups);
  }

  rocksdb::Status s;
  if (impl->options.read_only) {
    db_options.max_open_files = -1;
    std::string secondary =
        impl->options.secondary_path.empty() ? path + "/.secondary" : impl->options.secondary_path;
    s = rocksdb::DB::OpenAsSecondary(db_options, path, secondary, descriptors, &impl->handles,
                                     &impl->db);
  } else {
    s = rocksdb::DB::Open(db_options, path, descriptors, &impl->handles, &impl->db);
  }
  if (!s.ok()) return std::unexpected(FromRocks(s, "opening the event store at " + path));

  for (auto* h : impl->handles) {
    const std::string& name = h->GetName();
    if (name == kEventsCf) impl->events = h;
    if (name == kStreamsCf) impl->streams = h;
    if (name == kCommandsCf) impl->commands = h;
    if (name == kMetaCf) impl->meta = h;
    for (Projection* p : impl->options.projections) {
      if (name == std::string(kViewPrefix) + std::string(p->name())) {
        Impl* raw = impl.get();
        impl->views.push_back(
            {p, h, std::make_unique<DbViewReader>(impl->db, h, [raw](DbViewReader::Pin* pin) {
               return raw->DurableRead(pin);
             })});
      }
    }
  }
  if (auto loaded = impl->LoadHead(); !loaded) return std::unexpected(loaded.error());

  if (!impl->options.read_only) {
    std::string format;
    s = impl->db->Get(rocksdb::ReadOptions(), impl->meta, kMetaFormatKey, &format);
    if (s.IsNotFound()) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      s = impl->db->Put(wo, impl->meta, kMetaFormatKey, kMetaFormatVersion);
      if (!s.ok()) return std::unexpected(FromRocks(s, "writing the format version"));
    } else if (!s.ok()) {
      return std::unexpected(FromRocks(s, "reading the format version"));
    } else if (format != kMetaFormatVersion) {
      return Fail(ErrorCode::kCorruption, "unsupported store format version " + format);
    }
    std::set<std::string, std::less<>> replaced;
    for (const auto& [name, dir] : impl->options.replace_views) {
      if (auto swapped = impl->ReplaceViewRows(name, dir); !swapped) {
        return std::unexpected(swapped.error());
      }
      replaced.insert(name);
    }
    // A view whose rows were written in another format is emptied and rebuilt from the log (a
    // view just replaced by a rebuild holds rows of this code's format).
    for (auto& view : impl->views) {
      auto stored = impl->StoredViewFormat(view);
      if (!stored) return std::unexpected(stored.error());
      bool rebuilt = replaced.contains(view.projection->name());
      if (*stored == view.projection->format_version() && !rebuilt) continue;
      bool drop = *stored != view.projection->format_version() && !rebuilt;
      if (auto reset = impl->ResetViewFormat(view, drop); !reset) {
        return std::unexpected(reset.error());
      }
    }
    // A view added since the last run, or rebuilt empty, catches up with the log before use.
    uint64_t head = impl->head.load();
    for (auto& view : impl->views) {
      std::string cp;
      uint64_t checkpoint = 0;
      if (impl->db
              ->Get(rocksdb::ReadOptions(), view.cf,
                    rocksdb::Slice(kCheckpointKey.data(), kCheckpointKey.size()), &cp)
              .ok()) {
        checkpoint = DecodeBigEndian64(cp);
      }
      if (checkpoint < head) {
        if (auto caught = impl->CatchUp(view, checkpoint + 1, head); !caught) {
          return std::unexpected(caught.error());
        }
      }
    }
  }
  return std::unique_ptr<EventStore>(new EventStore(std::move(impl)));
}

Result<AppendResult> EventStore::Append(const AppendRequest& request) {
  auto results = AppendBatch(std::span<const AppendRequest>(&request, 1));
  return std::move(results.front());
}

std::vector<Result<AppendResult>> EventStore::AppendBatch(std::span<const AppendRequest> requests,
                                                          BatchStats* stats) {
  UnsyncedBatch written = Write(requests, impl_->options.sync);
  if (stats != nullptr) *stats = written.stats;
  if (written.snapshot) {
    impl_->Publish(written.head,
                   std::static_pointer_cast<const rocksdb::Snapshot>(std::move(written.snapshot)));
  }
  return std::move(written.results);
}

UnsyncedBatch EventStore::WriteUnsynced(std::span<const AppendRequest> requests) {
  return Write(requests, false);
}

Status EventStore::SyncAndPublish(UnsyncedBatch& last, int64_t* sync_micros) {
  Impl& im = *impl_;
  auto start = std::chrono::steady_clock::now();
  rocksdb::Status s = im.db == nullptr ? rocksdb::Status::Aborted("closed") : im.db->SyncWAL();
  if (sync_micros != nullptr) {
    *sync_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  }
  if (!s.ok()) {
    log::error("syncing the log failed, no more writes are accepted: {}", s.ToString());
    std::lock_guard<std::mutex> lock(im.write_mu);
    im.poisoned = true;
    return std::unexpected(FromRocks(s, "syncing the log"));
  }
  if (last.snapshot) {
    im.Publish(last.head,
               std::static_pointer_cast<const rocksdb::Snapshot>(std::move(last.snapshot)));
  }
  return {};
}

UnsyncedBatch EventStore::Write(std::span<const AppendRequest> requests, bool sync) {
  Impl& im = *impl_;
  UnsyncedBatch out;
  std::vector<Result<AppendResult>>& results = out.results;
  results.reserve(requests.size());
  std::lock_guard<std::mutex> lock(im.write_mu);
  if (im.db == nullptr || im.options.read_only || im.poisoned) {
    for (size_t i = 0; i < requests.size(); ++i) {
      results.push_back(Fail(ErrorCode::kUnavailable, "the event store is not open for writing"));
    }
    return out;
  }

  rocksdb::WriteBatch batch;
  std::vector<BatchViewWriter> writers;
  writers.reserve(im.views.size());
  for (auto& view : im.views) writers.emplace_back(&batch, im.db, view.cf);

  std::unordered_map<std::string, uint64_t> pending_heads;
  std::unordered_map<std::string, size_t> pending_commands;  // command id -> result index
  uint64_t next_position = im.written_head + 1;
  Hash prev = im.chain_head;
  size_t written = 0;
  size_t events_written = 0;

  for (const AppendRequest& request : requests) {
    // Idempotency: a command id applied before (or earlier in this batch) writes nothing.
    if (!request.command_id.empty()) {
      if (auto found = pending_commands.find(request.command_id); found != pending_commands.end()) {
        const auto& original = results[found->second];
        if (original) {
          results.push_back(AppendResult{original->positions, true});
        } else {
          results.push_back(std::unexpected(original.error()));
        }
        continue;
      }
      std::string value;
      rocksdb::Status s =
          im.db->Get(rocksdb::ReadOptions(), im.commands, request.command_id, &value);
      if (s.ok()) {
        results.push_back(AppendResult{DecodePositions(value), true});
        continue;
      }
      if (!s.IsNotFound()) {
        results.push_back(std::unexpected(FromRocks(s, "reading a command id")));
        continue;
      }
    }

    // Expected versions, against the log and the requests before this one in the batch.
    std::optional<Error> error;
    std::vector<uint64_t> current(request.streams.size());
    std::set<std::string_view> seen;
    for (size_t i = 0; i < request.streams.size() && !error; ++i) {
      const StreamAppend& append = request.streams[i];
      if (append.stream.empty() || append.stream.find('\0') != std::string::npos) {
        error.emplace(ErrorCode::kInvalid, "a stream id must be non-empty text");
        break;
      }
      if (!seen.insert(append.stream).second) {
        error.emplace(ErrorCode::kInvalid, "stream " + append.stream + " appears twice");
        break;
      }
      if (auto pending = pending_heads.find(append.stream); pending != pending_heads.end()) {
        current[i] = pending->second;
      } else if (auto stored = im.CachedStreamVersion(append.stream); stored) {
        current[i] = *stored;
      } else {
        error.emplace(stored.error());
        break;
      }
      if (!append.expected.is_any() && append.expected.version() != current[i]) {
        error.emplace(ErrorCode::kConflict, "stream " + append.stream + " is at version " +
                                                std::to_string(current[i]) + ", expected version " +
                                                std::to_string(append.expected.version()));
      }
    }
    if (error) {
      results.push_back(std::unexpected(std::move(*error)));
      continue;
    }

    AppendResult result;
    for (size_t i = 0; i < request.streams.size(); ++i) {
      const StreamAppend& append = request.streams[i];
      uint64_t version = current[i];
      for (const auto& payload : append.events) {
        uint64_t position = next_position++;
        ++version;
        Hash hash;
        std::string record =
            im.BuildRecord(position, append.stream, version, request, prev, payload, &hash);
        prev = hash;
        std::string position_key = EncodeBigEndian64(position);
        batch.Put(im.events, position_key, record);
        batch.Put(im.streams, StreamKey(append.stream, version), position_key);
        const auto& view_record = *flatbuffers::GetRoot<schema::EventRecord>(record.data());
        for (size_t v = 0; v < im.views.size(); ++v) {
          Projection& projection = *im.views[v].projection;
          if (projection.Folds(view_record.payload_type()))
            projection.Apply(view_record, writers[v]);
        }
        result.positions.push_back(position);
        ++events_written;
      }
      pending_heads[append.stream] = version;
    }
    if (!request.command_id.empty()) {
      batch.Put(im.commands, request.command_id, EncodePositions(result.positions));
      pending_commands.emplace(request.command_id, results.size());
    }
    ++written;
    results.push_back(std::move(result));
  }

  uint64_t new_head = next_position - 1;
  if (written > 0) {
    for (auto& writer : writers) writer.Flush();
    batch.Put(im.meta, kMetaChainHeadKey,
              rocksdb::Slice(reinterpret_cast<const char*>(prev.data()), prev.size()));
    for (auto& view : im.views) {
      batch.Put(view.cf, rocksdb::Slice(kCheckpointKey.data(), kCheckpointKey.size()),
                EncodeBigEndian64(new_head));
    }
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    auto start = std::chrono::steady_clock::now();
    rocksdb::Status s = im.db->Write(wo, &batch);
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
    out.stats.write_micros = micros;
    out.stats.requests_written = s.ok() ? written : 0;
    out.stats.events_written = s.ok() ? events_written : 0;
    if (!s.ok()) {
      log::error("append of {} requests failed: {}", written, s.ToString());
      im.stream_heads.clear();
      for (auto& r : results) {
        if (r && !r->duplicate) r = std::unexpected(FromRocks(s, "appending to the log"));
      }
      return out;
    }
    im.chain_head = prev;
    im.written_head = new_head;
    for (auto& [stream, version] : pending_heads) im.stream_heads[stream] = version;
    out.head = new_head;
    out.snapshot = im.TakeSnapshot();
  }
  return out;
}

Result<std::vector<StoredEvent>> EventStore::ReadStream(std::string_view stream,
                                                        uint64_t from_version, size_t max) const {
  const Impl& im = *impl_;
  if (im.db == nullptr) return Fail(ErrorCode::kUnavailable, "the event store is closed");
  std::vector<StoredEvent> out;
  std::string prefix = StreamPrefix(stream);
  std::unique_ptr<rocksdb::Iterator> it(im.db->NewIterator(rocksdb::ReadOptions(), im.streams));
  for (it->Seek(StreamKey(stream, std::max<uint64_t>(from_version, 1)));
       it->Valid() && out.size() < max; it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    if (!key.starts_with(prefix) || key.size() != prefix.size() + 8) break;
    std::string value;
    rocksdb::Status s = im.db->Get(rocksdb::ReadOptions(), im.events, it->value(), &value);
    if (!s.ok()) return std::unexpected(FromRocks(s, "reading an event of " + prefix));
    out.emplace_back(std::move(value));
  }
  if (!it->status().ok()) return std::unexpected(FromRocks(it->status(), "reading a stream"));
  return out;
}

Result<std::vector<StoredEvent>> EventStore::ReadAll(uint64_t from_position, size_t max) const {
  std::vector<StoredEvent> out;
  out.reserve(std::min<size_t>(max, 4096));
  const Impl& im = *impl_;
  if (im.db == nullptr) return Fail(ErrorCode::kUnavailable, "the event store is closed");
  rocksdb::ReadOptions ro;
  ro.readahead_size = 2 << 20;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(im.db->NewIterator(ro, im.events));
  for (it->Seek(EncodeBigEndian64(std::max<uint64_t>(from_position, 1)));
       it->Valid() && out.size() < max; it->Next()) {
    out.emplace_back(it->value().ToString());
  }
  if (!it->status().ok()) return std::unexpected(FromRocks(it->status(), "reading the log"));
  return out;
}

Status EventStore::ScanAll(uint64_t from_position,
                           const std::function<bool(const schema::EventRecord&)>& fn) const {
  return ScanRecords(from_position, [&fn](std::string_view record) {
    return fn(*flatbuffers::GetRoot<schema::EventRecord>(record.data()));
  });
}

Status EventStore::ScanRecords(uint64_t from_position,
                               const std::function<bool(std::string_view record)>& fn) const {
  const Impl& im = *impl_;
  if (im.db == nullptr) return Fail(ErrorCode::kUnavailable, "the event store is closed");
  rocksdb::ReadOptions ro;
  ro.readahead_size = 2 << 20;
  ro.fill_cache = false;  // a full scan would only evict the hot blocks
  std::unique_ptr<rocksdb::Iterator> it(im.db->NewIterator(ro, im.events));
  for (it->Seek(EncodeBigEndian64(std::max<uint64_t>(from_position, 1))); it->Valid(); it->Next()) {
    if (!fn(std::string_view(it->value().data(), it->value().size()))) break;
  }
  if (!it->status().ok()) return std::unexpected(FromRocks(it->status(), "reading the log"));
  return {};
}

Result<std::optional<std::vector<uint64_t>>> EventStore::CommandPositions(
    std::string_view command_id) const {
  if (impl_->db == nullptr) return Fail(ErrorCode::kUnavailable, "the event store is closed");
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->commands,
                                     rocksdb::Slice(command_id.data(), command_id.size()), &value);
  if (s.IsNotFound()) return std::optional<std::vector<uint64_t>>();
  if (!s.ok()) return std::unexpected(FromRocks(s, "reading a command id"));
  return std::optional<std::vector<uint64_t>>(DecodePositions(value));
}

Result<uint64_t> EventStore::StreamVersion(std::string_view stream) const {
  if (impl_->db == nullptr) return Fail(ErrorCode::kUnavailable, "the event store is closed");
  return impl_->StoredStreamVersion(stream);
}

uint64_t EventStore::HeadPosition() const { return impl_->head.load(std::memory_order_acquire); }

uint64_t EventStore::WaitForHead(uint64_t position, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->head_mu);
  impl_->head_cv.wait_for(lock, timeout, [&] { return impl_->head.load() > position; });
  return impl_->head.load();
}

const ViewReader* EventStore::View(std::string_view projection_name) const {
  for (const auto& view : impl_->views) {
    if (view.projection->name() == projection_name) return view.reader.get();
  }
  return nullptr;
}

Result<uint64_t> EventStore::Checkpoint(std::string_view projection_name) const {
  for (const auto& view : impl_->views) {
    if (view.projection->name() != projection_name) continue;
    std::string cp;
    rocksdb::Status s =
        impl_->db->Get(rocksdb::ReadOptions(), view.cf,
                       rocksdb::Slice(kCheckpointKey.data(), kCheckpointKey.size()), &cp);
    if (s.IsNotFound()) return uint64_t{0};
    if (!s.ok()) return std::unexpected(FromRocks(s, "reading a checkpoint"));
    return DecodeBigEndian64(cp);
  }
  return Fail(ErrorCode::kNotFound, "no view named " + std::string(projection_name));
}

Result<VerifyReport> EventStore::Verify() const {
  const Impl& im = *impl_;
  if (im.db == nullptr) return Fail(ErrorCode::kUnavailable, "the event store is closed");
  VerifyReport report;
  auto bad = [&report](uint64_t position, std::string problem) {
    report.first_bad_position = position;
    report.problem = std::move(problem);
    return report;
  };
  rocksdb::ReadOptions ro;
  ro.readahead_size = 2 << 20;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(im.db->NewIterator(ro, im.events));
  Hash prev{};
  uint64_t expected = 1;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++expected) {
    std::string_view key(it->key().data(), it->key().size());
    std::string_view bytes(it->value().data(), it->value().size());
    uint64_t position = key.size() == 8 ? DecodeBigEndian64(key) : 0;
    if (position != expected) {
      return bad(expected, "position " + std::to_string(expected) + " is missing");
    }
    if (!VerifyRecordBytes(bytes)) return bad(position, "the record does not decode");
    const auto* record = flatbuffers::GetRoot<schema::EventRecord>(bytes.data());
    if (record->position() != position) {
      return bad(position, "the record names position " + std::to_string(record->position()));
    }
    if (record->stream_id() == nullptr || record->prev_hash() == nullptr) {
      return bad(position, "the record lacks its stream id or previous hash");
    }
    if (ToHash(record->prev_hash()) != prev) {
      return bad(position, "the previous hash does not match the chain");
    }
    auto recomputed = RecomputeHash(prev, position, bytes);
    if (!recomputed || *recomputed != ToHash(record->hash())) {
      return bad(position, "the record's bytes do not match its hash");
    }
    std::string indexed;
    rocksdb::Status s = im.db->Get(
        rocksdb::ReadOptions(), im.streams,
        StreamKey(record->stream_id()->string_view(), record->stream_version()), &indexed);
    if (!s.ok() || indexed.size() != 8 || DecodeBigEndian64(indexed) != position) {
      return bad(position, "the stream index does not point at this record");
    }
    prev = *recomputed;
    ++report.events_checked;
  }
  if (!it->status().ok()) return std::unexpected(FromRocks(it->status(), "reading the log"));
  report.head_position = report.events_checked;

  // Every index entry must name an existing record of that stream and version.
  std::unique_ptr<rocksdb::Iterator> index(im.db->NewIterator(ro, im.streams));
  uint64_t entries = 0;
  for (index->SeekToFirst(); index->Valid(); index->Next()) {
    ++entries;
    std::string_view value(index->value().data(), index->value().size());
    uint64_t position = DecodeBigEndian64(value);
    if (value.size() != 8 || position == 0 || position > report.head_position) {
      return bad(position, "a stream index entry points outside the log");
    }
    std::string bytes;
    if (!im.db->Get(rocksdb::ReadOptions(), im.events, index->value(), &bytes).ok()) {
      return bad(position, "a stream index entry points at a missing record");
    }
    const auto* record = flatbuffers::GetRoot<schema::EventRecord>(bytes.data());
    if (StreamKey(record->stream_id()->string_view(), record->stream_version()) !=
        index->key().ToString()) {
      return bad(position, "a stream index entry names another stream or version");
    }
  }
  if (entries != report.events_checked) {
    return bad(report.head_position, "the stream index has " + std::to_string(entries) +
                                         " entries for " + std::to_string(report.events_checked) +
                                         " records");
  }
  if (report.events_checked > 0) {
    std::string chain_head;
    rocksdb::Status s = im.db->Get(rocksdb::ReadOptions(), im.meta, kMetaChainHeadKey, &chain_head);
    if (!s.ok() || chain_head.size() != 32 ||
        std::memcmp(chain_head.data(), prev.data(), 32) != 0) {
      return bad(report.head_position, "the stored chain head does not match the last record");
    }
  }
  for (const auto& view : im.views) {
    std::string cp;
    uint64_t checkpoint = 0;
    if (im.db
            ->Get(rocksdb::ReadOptions(), view.cf,
                  rocksdb::Slice(kCheckpointKey.data(), kCheckpointKey.size()), &cp)
            .ok()) {
      checkpoint = DecodeBigEndian64(cp);
    }
    if (checkpoint != report.head_position) {
      report.problem = "view " + std::string(view.projection->name()) + " is at position " +
                       std::to_string(checkpoint) + ", the log at " +
                       std::to_string(report.head_position);
      return report;
    }
  }
  return report;
}

Status EventStore::Refresh() {
  if (!impl_->options.read_only) return {};
  rocksdb::Status s = impl_->db->TryCatchUpWithPrimary();
  if (!s.ok()) return std::unexpected(FromRocks(s, "catching up with the primary"));
  return impl_->LoadHead();
}

}  // namespace portail::events
