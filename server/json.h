// JSON in and out: the error model, responses, and a strict reader for request bodies.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "events/error.h"
#include "server/http_types.h"

namespace portail::server {

using Json = nlohmann::json;

// The largest JSON request body (larger bodies are only for uploads such as photos).
inline constexpr size_t kMaxJsonBody = 64 * 1024;

// The HTTP status of an error code (one mapping for the whole server).
int HttpStatus(ErrorCode code);

// `{ "error": { "code": "...", "message": "...", "fields": [{"field","message"}...] } }`.
Response ErrorResponse(const Error& error);
Response ErrorResponse(ErrorCode code, std::string message);

// A JSON body with `status`.
Response JsonResponse(int status, const Json& body);

// The JSON object body of `request`: kUnsupportedMediaType when its Content-Type is not JSON,
// kPayloadTooLarge over kMaxJsonBody, kInvalid when it is not a JSON object.
Result<Json> JsonObjectBody(const Request& request);
// `text` parsed as a JSON object, or kInvalid.
Result<Json> JsonObject(std::string_view text);

// Reads a JSON object body field by field, collecting every problem, then Finish() rejects
// unknown fields and reports all problems at once as kInvalid with per-field details.
class JsonInput {
 public:
  // Parses the body of `request`: kUnsupportedMediaType when its Content-Type is not JSON,
  // kInvalid when it is not a JSON object.
  static Result<JsonInput> FromRequest(const Request& request);
  static Result<JsonInput> FromText(std::string_view text);

  // A string of [min, max] characters (UTF-8 code points); "" and a problem when missing.
  std::string String(std::string_view name, size_t min_length, size_t max_length);
  std::optional<std::string> OptionalString(std::string_view name, size_t min_length,
                                            size_t max_length);
  std::optional<bool> OptionalBool(std::string_view name);
  // A list of at most `max_items` strings of at most `max_length` bytes.
  std::optional<std::vector<std::string>> OptionalStringList(std::string_view name,
                                                             size_t max_items, size_t max_length);
  // The raw value of a field for the caller to check (nullptr when absent or null).
  const Json* OptionalValue(std::string_view name);
  std::optional<int64_t> OptionalInt(std::string_view name, int64_t min, int64_t max);

  // Records a problem found by the caller's own checks.
  void AddProblem(std::string field, std::string message);
  bool has_problems() const { return !problems_.empty(); }

  // Ok, or kInvalid naming every problem (unknown fields included).
  Status Finish();

 private:
  explicit JsonInput(Json object) : object_(std::move(object)) {}
  const Json* Field(std::string_view name);

  Json object_;
  std::set<std::string, std::less<>> read_;
  std::vector<FieldError> problems_;
};

// Number of Unicode code points in valid UTF-8 `text`; nullopt when it is not valid UTF-8.
std::optional<size_t> Utf8Length(std::string_view text);

}  // namespace portail::server
