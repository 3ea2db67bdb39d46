// The raw RocksDB side of the benchmarks: opening a store's directory without portail, waiting
// for compactions to settle, and the plain iterator scan every log-reading figure is compared to.
#pragma once

#include <rocksdb/db.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/bench_util.h"

namespace portail::bench {

// Opens `dir` with raw RocksDB and every column family it lists; `fn` gets the DB and the
// "events" handle; the handles are destroyed and the DB closed afterwards. Dies on errors,
// naming `program`.
inline void WithRawDb(std::string_view program, const std::filesystem::path& dir,
                      const std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle*)>& fn) {
  rocksdb::Options options;
  options.max_background_jobs = 2;  // as the event store
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options, dir.string(), &names);
  if (!s.ok()) Die(program, "listing column families: " + s.ToString());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions(options));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  s = rocksdb::DB::Open(options, dir.string(), descriptors, &handles, &db);
  if (!s.ok()) Die(program, "opening raw RocksDB: " + s.ToString());
  rocksdb::ColumnFamilyHandle* events = nullptr;
  for (auto* h : handles) {
    if (h->GetName() == "events") events = h;
  }
  if (events == nullptr) Die(program, "no \"events\" column family");
  fn(db, events);
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  s = db->Close();
  if (!s.ok()) Die(program, "closing raw RocksDB: " + s.ToString());
  delete db;
}

// Waits until RocksDB has no flush or compaction pending or running, so measured passes read a
// settled tree; prints the "events" family's levels when `print_levels`.
inline void Settle(std::string_view program, const std::filesystem::path& dir, bool print_levels) {
  WithRawDb(program, dir, [print_levels](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* events) {
    for (;;) {
      uint64_t pending = 0;
      uint64_t running = 0;
      uint64_t flushes = 0;
      db->GetAggregatedIntProperty("rocksdb.compaction-pending", &pending);
      db->GetAggregatedIntProperty("rocksdb.num-running-compactions", &running);
      db->GetAggregatedIntProperty("rocksdb.num-running-flushes", &flushes);
      if (pending + running + flushes == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!print_levels) return;
    std::string files;
    db->GetProperty(events, "rocksdb.levelstats", &files);
    std::printf("events column family after settling:\n%s", files.c_str());
  });
}

// A raw iterator pass over "events", reading each value's size and first byte. `readahead` as
// ScanAll sets it (2 MiB), or 0 for RocksDB's default.
inline Pass RawScan(std::string_view program, const std::filesystem::path& dir,
                    size_t readahead = 0) {
  Pass pass;
  WithRawDb(program, dir, [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* events) {
    auto start = SteadyClock::now();
    rocksdb::ReadOptions ro;
    ro.readahead_size = readahead;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, events));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      rocksdb::Slice value = it->value();
      pass.checksum += value.size() + static_cast<uint8_t>(value.data()[0]);
      pass.bytes += value.size();
      ++pass.events;
    }
    if (!it->status().ok()) Die(program, "raw scan: " + it->status().ToString());
    pass.seconds = SecondsSince(start);
  });
  return pass;
}

}  // namespace portail::bench
