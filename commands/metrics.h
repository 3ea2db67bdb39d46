// Lock-free counters and histograms, rendered in the Prometheus text format.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace portail::commands {

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A histogram with fixed upper bounds (the Prometheus "le" buckets). Thread-safe.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);
  // Appends the `_bucket`, `_sum` and `_count` lines of `name` with extra `labels`
  // (e.g. `route="/healthz"`, or empty).
  void Render(std::string* out, std::string_view name, std::string_view labels) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

  // Buckets for latencies in seconds, 50 µs to 10 s.
  static std::vector<double> LatencyBounds();
  // Buckets for sizes, 1 to 4096.
  static std::vector<double> SizeBounds();

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // cumulative on render only
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Appends "# HELP" and "# TYPE" lines.
void RenderHeader(std::string* out, std::string_view name, std::string_view type,
                  std::string_view help);

}  // namespace portail::commands
