// Counters and histograms in the Prometheus text format.
#include "commands/metrics.h"

#include <algorithm>
#include <cstdio>

namespace portail::commands {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double value) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

void Histogram::Render(std::string* out, std::string_view name, std::string_view labels) const {
  char buf[64];
  std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    std::string le = "+Inf";
    if (i < bounds_.size()) {
      std::snprintf(buf, sizeof(buf), "%g", bounds_[i]);
      le = buf;
    }
    out->append(name).append("_bucket{").append(labels).append(sep);
    out->append("le=\"").append(le).append("\"} ").append(std::to_string(cumulative));
    out->push_back('\n');
  }
  std::string braces = labels.empty() ? "" : "{" + std::string(labels) + "}";
  std::snprintf(buf, sizeof(buf), "%.9g", sum_.load(std::memory_order_relaxed));
  out->append(name).append("_sum").append(braces).append(" ").append(buf).push_back('\n');
  out->append(name).append("_count").append(braces).append(" ");
  out->append(std::to_string(count_.load(std::memory_order_relaxed))).push_back('\n');
}

std::vector<double> Histogram::LatencyBounds() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,   10};
}

std::vector<double> Histogram::SizeBounds() {
  return {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
}

void RenderHeader(std::string* out, std::string_view name, std::string_view type,
                  std::string_view help) {
  out->append("# HELP ").append(name).append(" ").append(help).push_back('\n');
  out->append("# TYPE ").append(name).append(" ").append(type).push_back('\n');
}

}  // namespace portail::commands
