// Route matching by segments.
#include "server/router.h"

#include <algorithm>

namespace portail::server {
namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  if (!path.empty() && path.front() == '/') start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

}  // namespace

void Router::Add(std::string method, std::string pattern, Handler handler) {
  auto found = std::find(patterns_.begin(), patterns_.end(), pattern);
  size_t index = found - patterns_.begin();
  if (found == patterns_.end()) patterns_.push_back(pattern);
  std::vector<std::string> segments;
  for (auto s : Split(pattern)) segments.emplace_back(s);
  routes_.push_back({std::move(method), std::move(segments), index, std::move(handler)});
}

Router::Match Router::Find(Request& request) const {
  Match match;
  auto segments = Split(request.path);
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    bool ok = true;
    for (size_t i = 0; i < segments.size() && ok; ++i) {
      const std::string& want = route.segments[i];
      bool param = want.size() > 2 && want.front() == '{' && want.back() == '}';
      ok = param ? !segments[i].empty() : want == segments[i];
    }
    if (!ok) continue;
    if (route.method != request.method) {
      match.status = 405;
      if (match.allow.find(route.method) == std::string::npos) {
        match.allow += match.allow.empty() ? route.method : ", " + route.method;
      }
      match.route_index = route.pattern_index;
      continue;
    }
    request.route = patterns_[route.pattern_index];
    request.params.clear();
    for (size_t i = 0; i < segments.size(); ++i) {
      const std::string& want = route.segments[i];
      if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
        request.params[want.substr(1, want.size() - 2)] = std::string(segments[i]);
      }
    }
    match.handler = &route.handler;
    match.status = 200;
    match.route_index = route.pattern_index;
    return match;
  }
  if (match.status == 405) request.route = patterns_[match.route_index];
  return match;
}

}  // namespace portail::server
