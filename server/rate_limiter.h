// Counts events per key in a sliding window (failed logins per address, wrong subscriber
// codes per account). In memory: a restart forgives, which errs on the family's side.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace portail::server {

class RateLimiter {
 public:
  RateLimiter(int limit, int64_t window_us) : limit_(limit), window_us_(window_us) {}

  // Microseconds to wait before `key` may try again (0: allowed now). Thread-safe.
  int64_t RetryAfter(const std::string& key, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    auto found = hits_.find(key);
    if (found == hits_.end()) return 0;
    Expire(found->second, now);
    if (static_cast<int>(found->second.size()) < limit_) return 0;
    return found->second.front() + window_us_ - now;
  }

  // Counts one event for `key` at `now`. Thread-safe.
  void Record(const std::string& key, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    if (hits_.size() > kMaxKeys) Prune(now);
    auto& q = hits_[key];
    Expire(q, now);
    q.push_back(now);
    while (static_cast<int>(q.size()) > limit_) q.pop_front();
  }

 private:
  static constexpr size_t kMaxKeys = 100000;
  void Expire(std::deque<int64_t>& q, int64_t now) const {
    while (!q.empty() && q.front() + window_us_ <= now) q.pop_front();
  }
  void Prune(int64_t now) {
    for (auto it = hits_.begin(); it != hits_.end();) {
      Expire(it->second, now);
      it = it->second.empty() ? hits_.erase(it) : std::next(it);
    }
  }

  const int limit_;
  const int64_t window_us_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<int64_t>> hits_;
};

}  // namespace portail::server
