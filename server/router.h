// Routes: method and path pattern ("/api/v1/families/{id}") to a handler.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/http_types.h"

namespace portail::server {

class Router {
 public:
  // Adds a route. Patterns are '/'-separated; a segment "{name}" matches any one non-empty
  // segment and is passed as a parameter.
  void Add(std::string method, std::string pattern, Handler handler);

  struct Match {
    const Handler* handler = nullptr;  // nullptr: no route; see status
    int status = 404;                  // 404 (no such path) or 405 (path known, method not)
    std::string allow;                 // for 405: the methods the path accepts
    size_t route_index = 0;            // for metrics: index in patterns()
  };

  // Finds the route of `request` and fills its `route` and `params`.
  Match Find(Request& request) const;

  // Route patterns by index, for metrics.
  const std::vector<std::string>& patterns() const { return patterns_; }

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    size_t pattern_index;
    Handler handler;
  };
  std::vector<Route> routes_;
  std::vector<std::string> patterns_;
};

}  // namespace portail::server
