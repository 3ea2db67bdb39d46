// Request counts by route and status, and latency histograms by route.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "commands/metrics.h"

namespace portail::server {

class HttpMetrics {
 public:
  // One slot per route pattern, plus one for requests that matched no route.
  explicit HttpMetrics(std::vector<std::string> patterns);

  // Records one answered request. `route_index` == patterns().size() means "no route".
  void Observe(size_t route_index, int status, double seconds);
  void Render(std::string* out) const;
  size_t unmatched_index() const { return patterns_.size(); }

 private:
  struct PerRoute {
    std::array<std::atomic<uint64_t>, 500> by_status{};  // index: status - 100
    commands::Histogram latency{commands::Histogram::LatencyBounds()};
  };
  std::vector<std::string> patterns_;
  std::vector<std::unique_ptr<PerRoute>> routes_;
};

}  // namespace portail::server
