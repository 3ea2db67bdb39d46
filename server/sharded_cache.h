// A bounded map of rendered answers shared by the I/O threads, sharded by key.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace portail::server {

// Entries by key, `kShards` shards of at most `kPerShard` entries; a full shard is cleared.
// Thread-safe; a lock is held only to find or store a pointer, never while rendering. Entries are
// shared: one found stays valid after it is replaced or evicted. Used for the rendered planning
// and family files.
template <typename Entry, size_t kShards = 16, size_t kPerShard = 256>
class ShardedCache {
 public:
  // The entry of `key`, or null.
  std::shared_ptr<Entry> Find(const std::string& key) {
    Shard& shard = ShardOf(key);
    std::lock_guard lock(shard.mu);
    auto found = shard.entries.find(key);
    return found == shard.entries.end() ? nullptr : found->second;
  }

  // Stores `entry` as the one of `key`, replacing any.
  void Put(const std::string& key, std::shared_ptr<Entry> entry) {
    Shard& shard = ShardOf(key);
    std::lock_guard lock(shard.mu);
    if (shard.entries.size() >= kPerShard && !shard.entries.contains(key)) shard.entries.clear();
    shard.entries[key] = std::move(entry);
  }

 private:
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::shared_ptr<Entry>> entries;  // guarded by mu
  };
  Shard& ShardOf(const std::string& key) {
    return shards_[std::hash<std::string>{}(key) % kShards];
  }
  std::array<Shard, kShards> shards_;
};

}  // namespace portail::server
