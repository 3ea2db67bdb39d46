// Per-route request metrics in the Prometheus text format.
#include "server/http_metrics.h"

namespace portail::server {

HttpMetrics::HttpMetrics(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {
  for (size_t i = 0; i <= patterns_.size(); ++i) routes_.push_back(std::make_unique<PerRoute>());
}

void HttpMetrics::Observe(size_t route_index, int status, double seconds) {
  if (route_index > patterns_.size()) route_index = patterns_.size();
  PerRoute& route = *routes_[route_index];
  if (status >= 100 && status < 600) {
    route.by_status[status - 100].fetch_add(1, std::memory_order_relaxed);
  }
  route.latency.Observe(seconds);
}

void HttpMetrics::Render(std::string* out) const {
  auto label = [this](size_t i) {
    return "route=\"" + (i < patterns_.size() ? patterns_[i] : std::string("(none)")) + "\"";
  };
  commands::RenderHeader(out, "portail_http_requests_total", "counter",
                         "HTTP requests answered, by route and status.");
  for (size_t i = 0; i < routes_.size(); ++i) {
    for (size_t s = 0; s < routes_[i]->by_status.size(); ++s) {
      uint64_t n = routes_[i]->by_status[s].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out->append("portail_http_requests_total{").append(label(i));
      out->append(",status=\"").append(std::to_string(s + 100)).append("\"} ");
      out->append(std::to_string(n)).push_back('\n');
    }
  }
  commands::RenderHeader(out, "portail_http_request_seconds", "histogram",
                         "Time from a parsed request to its response, by route.");
  for (size_t i = 0; i < routes_.size(); ++i) {
    if (routes_[i]->latency.count() == 0) continue;
    routes_[i]->latency.Render(out, "portail_http_request_seconds", label(i));
  }
}

}  // namespace portail::server
