// The server's own request and response types: handlers see these, never Beast's.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace portail::server {

struct Request {
  std::string method;  // "GET", "POST"...
  std::string target;  // as sent, e.g. "/api/v1/x?y=1" (never logged: it may hold a token)
  std::string path;    // target without the query
  std::unordered_map<std::string, std::string> query;  // decoded
  bool query_malformed = false;  // a bad %-escape: answered 400 before routing
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  std::string remote_address;
  std::string route;  // the matched route pattern, e.g. "/api/v1/families/{id}"
  std::unordered_map<std::string, std::string> params;  // the pattern's {names}

  // The first header named `name` (lower case), if any.
  std::optional<std::string_view> Header(std::string_view name) const;
  // A path parameter; empty if absent.
  std::string_view Param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Answers a request. May be called from any thread, exactly once.
using Reply = std::function<void(Response)>;

// Handles a request: answers at once or later (e.g. once a command is durable).
using Handler = std::function<void(Request&, Reply)>;

// Splits "a=1&b=x%20y" into decoded pairs; the last of repeated names wins. nullopt when an
// escape is malformed.
std::optional<std::unordered_map<std::string, std::string>> ParseQuery(std::string_view query);

// Decodes %XX escapes and '+' (as a space); nullopt on a malformed escape.
std::optional<std::string> UrlDecode(std::string_view text);

}  // namespace portail::server
