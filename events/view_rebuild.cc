// RebuildViews: views replayed over the whole log, each into its own fresh RocksDB directory.
//
// The calling thread scans the log once and copies its records into chunks; every view has a
// thread that applies the chunks, in order, into an in-memory table of the view's rows (a hash
// map: a view's Get is a lookup, not a RocksDB read). At the end (or when the rows outgrow their
// memory) the rows are sorted and written as table files, which RocksDB ingests: no memtable,
// no write-ahead log, no compaction of rows that a later event overwrites.
#include "events/view_rebuild.h"

#include <absl/container/flat_hash_map.h>
#include <pthread.h>
#include <rocksdb/db.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <thread>
#include <type_traits>
#include <vector>

#include "events/view_digest.h"
#include "events/view_rows.h"

namespace portail::events {
namespace {

using internal::DbViewReader;
using internal::FromRocks;
using internal::kCheckpointKey;
using internal::kViewPrefix;

// Records per chunk handed to the views, and chunks a view may have waiting before the scan
// waits for it (a few MB of records in flight).
constexpr size_t kChunkRecords = 4096;
constexpr size_t kMaxQueuedChunks = 32;
// What one in-memory row costs beyond its key and value bytes (hash node, two strings'
// headers and heap blocks), approximately.
constexpr uint64_t kRowOverhead = 112;

using Clock = std::chrono::steady_clock;

static_assert(std::is_same_v<std::underlying_type_t<schema::Payload>, uint8_t>,
              "the rebuild keeps a flag per payload type in an array of 256");

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

// The rebuilt view's column family: a staging copy, read in key order by the digest and by
// `replay swap` (which copies the rows into the live store's own column family), so its table
// files are built cheaply: uncompressed, large blocks, no bloom filter.
rocksdb::ColumnFamilyOptions ViewOptions(const rocksdb::Options& options) {
  rocksdb::BlockBasedTableOptions table;
  table.block_size = 64 << 10;
  rocksdb::ColumnFamilyOptions view(options);
  view.compression = rocksdb::kNoCompression;
  view.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return view;
}

std::vector<rocksdb::ColumnFamilyDescriptor> Descriptors(const rocksdb::Options& options,
                                                         std::string_view name) {
  return {rocksdb::ColumnFamilyDescriptor(rocksdb::kDefaultColumnFamilyName,
                                          rocksdb::ColumnFamilyOptions(options)),
          rocksdb::ColumnFamilyDescriptor(std::string(kViewPrefix) + std::string(name),
                                          ViewOptions(options))};
}

rocksdb::ReadOptions LatestState(DbViewReader::Pin*) { return rocksdb::ReadOptions(); }

// Records of the log, copied at 8-byte aligned offsets (flatbuffers reads them in place).
struct Chunk {
  std::string bytes;
  std::vector<size_t> offsets;
  std::vector<schema::Payload> types;  // each record's, read without touching the record
  uint64_t last_position = 0;

  Chunk() {
    bytes.reserve(kChunkRecords * 256);
    offsets.reserve(kChunkRecords);
    types.reserve(kChunkRecords);
  }

  void Add(std::string_view record, const schema::EventRecord& event) {
    size_t at = (bytes.size() + 7) & ~size_t{7};
    bytes.resize(at);
    bytes.append(record);
    offsets.push_back(at);
    types.push_back(event.payload_type());
    last_position = event.position();
  }
  const schema::EventRecord& operator[](size_t i) const {
    return *flatbuffers::GetRoot<schema::EventRecord>(bytes.data() + offsets[i]);
  }
};

// Debian's Abseil has a string_view of its own (ABSL_OPTION_USE_STD_STRING_VIEW is 0).
absl::string_view AbslKey(std::string_view key) { return {key.data(), key.size()}; }

// A view's rows while it is rebuilt: in memory until they outgrow `budget`, then written out as a
// table file ingested into the view's column family; later reads of rows not in memory go there.
class MemoryRows : public ViewWriter {
 public:
  MemoryRows(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, rocksdb::Options table_options,
             std::string dir, const RebuildOptions& options)
      : db_(db),
        cf_(cf),
        table_options_(std::move(table_options)),
        dir_(std::move(dir)),
        budget_(options.memory_per_view),
        split_rows_(options.split_write_rows) {}

  void Put(std::string_view key, std::string_view value) override {
    if (auto found = rows_.find(AbslKey(key)); found != rows_.end()) {
      bytes_ += value.size() - found->second.value.size();
      found->second.value.assign(value);
      found->second.deleted = false;
      return;
    }
    bytes_ += key.size() + value.size() + kRowOverhead;
    rows_.emplace(std::string(key), Row{std::string(value), false});
  }
  void Delete(std::string_view key) override {
    auto found = rows_.find(AbslKey(key));
    if (!on_disk_) {  // nothing below to hide
      if (found != rows_.end()) {
        bytes_ -= found->first.size() + found->second.value.size() + kRowOverhead;
        rows_.erase(found);
      }
      return;
    }
    if (found == rows_.end()) {
      bytes_ += key.size() + kRowOverhead;
      rows_.emplace(std::string(key), Row{std::string(), true});
      return;
    }
    bytes_ -= found->second.value.size();
    found->second.value.clear();
    found->second.deleted = true;
  }
  std::optional<std::string> Get(std::string_view key) override {
    if (auto found = rows_.find(AbslKey(key)); found != rows_.end()) {
      if (found->second.deleted) return std::nullopt;
      return found->second.value;
    }
    if (!on_disk_) return std::nullopt;
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), cf_, rocksdb::Slice(key.data(), key.size()), &value);
    if (s.ok()) return value;
    if (!s.IsNotFound() && read_error_.ok()) read_error_ = s;  // the rebuild fails (Checked())
    return std::nullopt;
  }

  bool full() const { return !rows_.empty() && bytes_ >= budget_; }
  // Fails when a read from disk failed: the rows applied since may be wrong.
  Status Checked() const {
    if (read_error_.ok()) return {};
    return std::unexpected(FromRocks(read_error_, "reading rows written out early"));
  }
  uint64_t files() const { return files_; }

  // Writes the rows in key order as table files, has RocksDB ingest them (synced, atomically),
  // and forgets them. `digest` (null when rows were written out before: the digest must then read
  // them back) gets every row. Many rows are sorted and written in two halves, the second on a
  // thread of its own: at the end of a rebuild the other views are done and a core is free.
  Status WriteOut(ViewDigester* digest) {
    std::vector<SortItem> sorted;
    sorted.reserve(rows_.size());
    for (const auto& row : rows_) sorted.push_back(SortItem::Of(row.first, &row.second));
    std::span<SortItem> all(sorted);
    size_t half =
        sorted.size() >= std::max<uint64_t>(split_rows_, 2) ? sorted.size() / 2 : sorted.size();
    std::span<SortItem> first = all.first(half);
    std::span<SortItem> second = all.subspan(half);
    std::string first_path = dir_ + "/rebuilt-" + std::to_string(files_) + ".sst";
    std::string second_path = dir_ + "/rebuilt-" + std::to_string(files_) + "b.sst";
    if (second.empty()) {
      std::sort(sorted.begin(), sorted.end());
    } else {
      std::thread sorter([second] { std::sort(second.begin(), second.end()); });
      std::sort(first.begin(), first.end());
      sorter.join();
      std::inplace_merge(sorted.begin(), sorted.begin() + half, sorted.end());
    }
    Status second_written;
    std::thread writer;
    if (!second.empty()) {
      writer = std::thread([&] { second_written = WriteTable(second_path, second, nullptr); });
    }
    Status first_written = WriteTable(first_path, first, digest);
    if (digest != nullptr) AddToDigest(second, *digest);
    if (writer.joinable()) writer.join();
    if (!first_written) return first_written;
    if (!second_written) return second_written;
    std::vector<std::string> paths = {first_path};
    if (!second.empty()) paths.push_back(second_path);
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;
    rocksdb::Status s = db_->IngestExternalFile(cf_, paths, ingest);
    if (!s.ok()) return std::unexpected(FromRocks(s, "ingesting " + first_path));
    ++files_;
    rows_.clear();
    bytes_ = 0;
    on_disk_ = true;
    return {};
  }

 private:
  struct Row {
    std::string value;
    bool deleted;  // a tombstone hiding a row written out before
  };
  struct SortItem;

  // Writes `rows` (sorted) as the table file `path`; `digest` (may be null) gets them too.
  Status WriteTable(const std::string& path, std::span<const SortItem> rows,
                    ViewDigester* digest) const {
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), table_options_, cf_,
                                  /*invalidate_page_cache=*/false);
    rocksdb::Status s = writer.Open(path);
    for (size_t i = 0; s.ok() && i < rows.size(); ++i) {
      const SortItem& item = rows[i];
      rocksdb::Slice key(item.key.data(), item.key.size());
      s = item.row->deleted ? writer.Delete(key) : writer.Put(key, item.row->value);
    }
    if (s.ok()) s = writer.Finish();
    if (!s.ok()) return std::unexpected(FromRocks(s, "writing " + path));
    if (digest != nullptr) AddToDigest(rows, *digest);
    return {};
  }
  static void AddToDigest(std::span<const SortItem> rows, ViewDigester& digest) {
    for (const SortItem& item : rows) {
      if (!item.row->deleted && item.key != kCheckpointKey) digest.Add(item.key, item.row->value);
    }
  }

  // A row to sort by key: the key's first 16 bytes as two integers (zero-padded, compared first,
  // without touching the key's heap block), then the whole key.
  struct SortItem {  // declared above
    uint64_t head[2];
    std::string_view key;
    const Row* row;

    static SortItem Of(std::string_view key, const Row* row) {
      SortItem item{{0, 0}, key, row};
      for (size_t i = 0; i < 16 && i < key.size(); ++i) {
        item.head[i / 8] |= uint64_t{static_cast<unsigned char>(key[i])} << (56 - 8 * (i % 8));
      }
      return item;
    }
    bool operator<(const SortItem& other) const {
      if (head[0] != other.head[0]) return head[0] < other.head[0];
      if (head[1] != other.head[1]) return head[1] < other.head[1];
      return key < other.key;
    }
  };

  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  rocksdb::Options table_options_;
  std::string dir_;
  uint64_t budget_;
  uint64_t split_rows_;
  absl::flat_hash_map<std::string, Row> rows_;  // finds by string_view without a copy
  uint64_t bytes_ = 0;
  bool on_disk_ = false;  // some rows were written out
  rocksdb::Status read_error_;
  uint64_t files_ = 0;
};

// The chunks of the log on their way to the views: one queue per view, a null chunk at the end.
class Feed {
 public:
  explicit Feed(size_t views) : queues_(views) {}

  // Gives `chunk` to every view, waiting while one of them is too far behind.
  void Publish(const std::shared_ptr<const Chunk>& chunk) {
    std::unique_lock lock(mu_);
    room_.wait(lock, [&] {
      return std::all_of(queues_.begin(), queues_.end(),
                         [](const auto& q) { return q.size() < kMaxQueuedChunks; });
    });
    for (auto& q : queues_) q.push_back(chunk);
    ready_.notify_all();
  }
  // The next chunk for view `i` (null: the end), waiting for it.
  std::shared_ptr<const Chunk> Next(size_t i) {
    std::unique_lock lock(mu_);
    ready_.wait(lock, [&] { return !queues_[i].empty(); });
    std::shared_ptr<const Chunk> chunk = std::move(queues_[i].front());
    queues_[i].pop_front();
    room_.notify_all();
    return chunk;
  }

 private:
  std::mutex mu_;
  std::condition_variable ready_;
  std::condition_variable room_;
  std::vector<std::deque<std::shared_ptr<const Chunk>>> queues_;
};

// One view being rebuilt: its output database, its rows, and the thread applying the log.
struct ViewJob {
  Projection* projection = nullptr;
  std::string out_dir;
  OpenDb out;
  std::unique_ptr<MemoryRows> rows;
  std::atomic<uint64_t> applied{0};
  RebuildReport report;
  Status status;

  void Run(Feed& feed, size_t index, Clock::time_point start) {
    std::array<bool, 256> folds;  // by payload type: Folds(), asked once
    for (size_t t = 0; t < folds.size(); ++t) {
      folds[t] = projection->Folds(static_cast<schema::Payload>(t));
    }
    while (std::shared_ptr<const Chunk> chunk = feed.Next(index)) {
      if (!status) continue;  // drain the feed after a failure
      try {
        for (size_t i = 0; status && i < chunk->offsets.size(); ++i) {
          if (!folds[static_cast<uint8_t>(chunk->types[i])]) continue;
          projection->Apply((*chunk)[i], *rows);
          status = rows->Checked();
          if (status && rows->full()) status = rows->WriteOut(nullptr);
        }
        report.checkpoint = chunk->last_position;
      } catch (const std::exception& e) {
        status = Fail(ErrorCode::kInternal,
                      std::string(projection->name()) + " failed to apply an event: " + e.what());
      }
      report.events_applied += chunk->offsets.size();
      applied.store(report.events_applied, std::memory_order_relaxed);
    }
    if (!status) return;
    rows->Put(kCheckpointKey, EncodeBigEndian64(report.checkpoint));
    report.spills = rows->files();
    ViewDigester digest;
    status = rows->WriteOut(report.spills == 0 ? &digest : nullptr);
    rows.reset();
    if (!status) return;
    report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (report.spills == 0) {
      report.digest = digest.Finish();
    } else {
      report.digest = ViewDigest(DbViewReader(out.db, out.handles[1], LatestState));
    }
  }
};

}  // namespace

Result<std::vector<RebuildReport>> RebuildViews(
    const EventStore& source, std::span<const RebuildTarget> targets, const RebuildOptions& options,
    const std::function<void(uint64_t done, uint64_t total)>& progress) {
  if (targets.empty()) return Fail(ErrorCode::kInvalid, "no view to rebuild");
  std::set<std::string, std::less<>> names;
  for (const RebuildTarget& t : targets) {
    if (!names.insert(std::string(t.projection->name())).second) {
      return Fail(ErrorCode::kInvalid,
                  "view " + std::string(t.projection->name()) + " named twice");
    }
    std::error_code ec;
    bool exists = std::filesystem::exists(t.out_dir, ec);
    if (ec) return Fail(ErrorCode::kIoError, "cannot look at " + t.out_dir + ": " + ec.message());
    if (exists) return Fail(ErrorCode::kAlreadyExists, t.out_dir + " already exists");
  }
  Clock::time_point start = Clock::now();
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.error_if_exists = true;
  db_options.max_background_jobs = 2;
  std::vector<std::unique_ptr<ViewJob>> jobs;
  for (const RebuildTarget& t : targets) {
    auto job = std::make_unique<ViewJob>();
    job->projection = t.projection;
    job->out_dir = t.out_dir;
    auto descriptors = Descriptors(db_options, t.projection->name());
    rocksdb::Status s =
        rocksdb::DB::Open(db_options, t.out_dir, descriptors, &job->out.handles, &job->out.db);
    if (!s.ok()) return std::unexpected(FromRocks(s, "creating " + t.out_dir));
    job->rows = std::make_unique<MemoryRows>(
        job->out.db, job->out.handles[1],
        rocksdb::Options(rocksdb::DBOptions(db_options), descriptors[1].options), t.out_dir,
        options);
    jobs.push_back(std::move(job));
  }

  const uint64_t total = source.HeadPosition();
  Feed feed(jobs.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < jobs.size(); ++i) {
    threads.emplace_back([&, i] {
      // "view:<name>" in top and perf (names are cut at 15 characters).
      std::string name = "view:" + std::string(jobs[i]->projection->name()).substr(0, 10);
      pthread_setname_np(pthread_self(), name.c_str());
      jobs[i]->Run(feed, i, start);
    });
  }
  auto slowest = [&] {
    uint64_t done = total;
    for (const auto& job : jobs)
      done = std::min(done, job->applied.load(std::memory_order_relaxed));
    return done;
  };
  auto chunk = std::make_shared<Chunk>();
  auto publish = [&] {
    feed.Publish(std::move(chunk));
    chunk = std::make_shared<Chunk>();
    if (progress) progress(slowest(), total);
  };
  Status scanned = source.ScanRecords(1, [&](std::string_view record) {
    const auto& event = *flatbuffers::GetRoot<schema::EventRecord>(record.data());
    if (event.position() > total) return false;
    chunk->Add(record, event);
    if (chunk->offsets.size() == kChunkRecords) publish();
    return true;
  });
  if (!chunk->offsets.empty()) publish();
  feed.Publish(nullptr);
  for (auto& t : threads) t.join();
  if (!scanned) return std::unexpected(scanned.error());
  std::vector<RebuildReport> reports;
  for (auto& job : jobs) {
    if (!job->status) return std::unexpected(job->status.error());
    reports.push_back(std::move(job->report));
  }
  if (progress) progress(reports.front().events_applied, total);
  return reports;
}

Result<RebuildReport> RebuildView(
    const EventStore& source, Projection& projection, const std::string& out_dir,
    const std::function<void(uint64_t done, uint64_t total)>& progress) {
  RebuildTarget target{&projection, out_dir};
  auto reports = RebuildViews(source, std::span(&target, 1), RebuildOptions(), progress);
  if (!reports) return std::unexpected(reports.error());
  return std::move(reports->front());
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
