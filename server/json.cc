// The JSON error model and the strict body reader.
#include "server/json.h"

namespace portail::server {

int HttpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalid:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kForbidden:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kConflict:
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kNotEnrolled:
    case ErrorCode::kActivityClosed:
    case ErrorCode::kAlreadyRequested:
    case ErrorCode::kNotReserved:
    case ErrorCode::kPastDeadline:
    case ErrorCode::kFull:
      return 409;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kUnsupportedMediaType:
      return 415;
    case ErrorCode::kGone:
      return 410;
    case ErrorCode::kLocked:
      return 423;
    case ErrorCode::kTooManyRequests:
      return 429;
    case ErrorCode::kPreconditionFailed:
      return 412;
    case ErrorCode::kHeaderTooLarge:
      return 431;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kCorruption:
    case ErrorCode::kIoError:
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

Response JsonResponse(int status, const Json& body) {
  Response response;
  response.status = status;
  response.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return response;
}

Response ErrorResponse(const Error& error) {
  Json inner = {{"code", ErrorCodeName(error.code)}, {"message", error.message}};
  if (!error.fields.empty()) {
    Json fields = Json::array();
    for (const auto& f : error.fields) {
      fields.push_back({{"field", f.field}, {"message", f.message}});
    }
    inner["fields"] = std::move(fields);
  }
  Response response = JsonResponse(HttpStatus(error.code), Json{{"error", std::move(inner)}});
  if (error.retry_after_seconds > 0) {
    response.headers.emplace_back("Retry-After", std::to_string(error.retry_after_seconds));
  } else if (error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kTooManyRequests) {
    response.headers.emplace_back("Retry-After", "1");
  }
  return response;
}

Response ErrorResponse(ErrorCode code, std::string message) {
  return ErrorResponse(Error(code, std::move(message)));
}

std::optional<size_t> Utf8Length(std::string_view text) {
  size_t count = 0;
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    if (len == 0 || i + len > text.size()) return std::nullopt;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return std::nullopt;
    }
    i += len;
    ++count;
  }
  return count;
}

Result<Json> JsonObjectBody(const Request& request) {
  auto type = request.Header("content-type");
  if (!type || !type->starts_with("application/json")) {
    return Fail(ErrorCode::kUnsupportedMediaType,
                "the request body must be JSON (Content-Type: application/json)");
  }
  if (request.body.size() > kMaxJsonBody) {
    return Fail(ErrorCode::kPayloadTooLarge, "the JSON body is larger than 64 KiB");
  }
  return JsonObject(request.body);
}

Result<Json> JsonObject(std::string_view text) {
  Json parsed = Json::parse(text, nullptr, false);
  if (parsed.is_discarded()) return Fail(ErrorCode::kInvalid, "the request body is not valid JSON");
  if (!parsed.is_object()) {
    return Fail(ErrorCode::kInvalid, "the request body must be a JSON object");
  }
  return parsed;
}

Result<JsonInput> JsonInput::FromRequest(const Request& request) {
  auto object = JsonObjectBody(request);
  if (!object) return std::unexpected(object.error());
  return JsonInput(std::move(*object));
}

Result<JsonInput> JsonInput::FromText(std::string_view text) {
  auto object = JsonObject(text);
  if (!object) return std::unexpected(object.error());
  return JsonInput(std::move(*object));
}

const Json* JsonInput::Field(std::string_view name) {
  read_.emplace(name);
  auto found = object_.find(name);
  if (found == object_.end() || found->is_null()) return nullptr;
  return &*found;
}

std::string JsonInput::String(std::string_view name, size_t min_length, size_t max_length) {
  auto value = OptionalString(name, min_length, max_length);
  if (!value) {
    if (Field(name) == nullptr) AddProblem(std::string(name), "is required");
    return "";
  }
  return *value;
}

std::optional<std::string> JsonInput::OptionalString(std::string_view name, size_t min_length,
                                                     size_t max_length) {
  const Json* field = Field(name);
  if (field == nullptr) return std::nullopt;
  if (!field->is_string()) {
    AddProblem(std::string(name), "must be a string");
    return std::nullopt;
  }
  const auto& text = field->get_ref<const std::string&>();
  auto length = Utf8Length(text);
  if (!length) {
    AddProblem(std::string(name), "must be valid UTF-8 text");
    return std::nullopt;
  }
  if (*length < min_length || *length > max_length) {
    AddProblem(std::string(name), "must be between " + std::to_string(min_length) + " and " +
                                      std::to_string(max_length) + " characters");
    return std::nullopt;
  }
  return text;
}

std::optional<std::vector<std::string>> JsonInput::OptionalStringList(std::string_view name,
                                                                      size_t max_items,
                                                                      size_t max_length) {
  const Json* field = Field(name);
  if (field == nullptr) return std::nullopt;
  std::string problem = "must be a list of at most " + std::to_string(max_items) +
                        " strings of at most " + std::to_string(max_length) + " characters";
  if (!field->is_array() || field->size() > max_items) {
    AddProblem(std::string(name), problem);
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& item : *field) {
    if (!item.is_string() || item.get_ref<const std::string&>().size() > max_length) {
      AddProblem(std::string(name), problem);
      return std::nullopt;
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

const Json* JsonInput::OptionalValue(std::string_view name) { return Field(name); }

std::optional<bool> JsonInput::OptionalBool(std::string_view name) {
  const Json* field = Field(name);
  if (field == nullptr) return std::nullopt;
  if (!field->is_boolean()) {
    AddProblem(std::string(name), "must be true or false");
    return std::nullopt;
  }
  return field->get<bool>();
}

std::optional<int64_t> JsonInput::OptionalInt(std::string_view name, int64_t min, int64_t max) {
  const Json* field = Field(name);
  if (field == nullptr) return std::nullopt;
  if (!field->is_number_integer()) {
    AddProblem(std::string(name), "must be an integer");
    return std::nullopt;
  }
  int64_t value = field->get<int64_t>();
  if (value < min || value > max) {
    AddProblem(std::string(name),
               "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return value;
}

void JsonInput::AddProblem(std::string field, std::string message) {
  for (const auto& p : problems_) {
    if (p.field == field) return;  // one problem per field is enough
  }
  problems_.push_back({std::move(field), std::move(message)});
}

Status JsonInput::Finish() {
  for (const auto& [key, value] : object_.items()) {
    if (!read_.contains(key)) AddProblem(key, "is not a known field");
  }
  if (problems_.empty()) return {};
  std::string message = "the request has invalid fields: ";
  for (size_t i = 0; i < problems_.size(); ++i) {
    if (i > 0) message += "; ";
    message += problems_[i].field + " " + problems_[i].message;
  }
  return std::unexpected(Error(ErrorCode::kInvalid, std::move(message), problems_));
}

}  // namespace portail::server
