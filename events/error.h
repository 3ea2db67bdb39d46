// Errors as values: a stable code and a message fit to show a user.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portail {

// Stable error codes. Domain issues append specific codes; ErrorCodeName() gives the wire name and
// the server maps each code to one HTTP status.
enum class ErrorCode {
  kInvalid,               // the input is malformed or breaks a rule
  kNotFound,              // no such thing (or not visible to the caller)
  kConflict,              // expected version mismatch or concurrent change
  kAlreadyExists,         // uniqueness violated
  kForbidden,             // authenticated but not allowed
  kUnauthenticated,       // no valid session
  kUnavailable,           // try again later (queue full, shutting down)
  kPayloadTooLarge,       // body over the limit
  kMethodNotAllowed,      // route exists, method does not
  kCorruption,            // the log does not verify
  kIoError,               // storage failure
  kInternal,              // a bug
  kUnsupportedMediaType,  // a body that is not JSON
  kHeaderTooLarge,        // request headers over the limit
  kGone,                  // a link that was used or has expired
  kLocked,                // the account is locked
  kTooManyRequests,       // slow down (see the message for when to retry)
  kPreconditionFailed,    // If-Match names a version that is no longer current
  // Booking rules (409): why a day cannot be reserved, reported absent or accepted.
  kNotEnrolled,       // the child is not enrolled in the activity that day
  kActivityClosed,    // the activity does not run that day
  kAlreadyRequested,  // the day is already reserved or requested
  kNotReserved,       // an absence on a day that is not reserved
  kPastDeadline,      // the notice deadline has passed
  kFull,              // no place left that day
};

// The wire name of `code`, e.g. "not_found".
std::string_view ErrorCodeName(ErrorCode code);

// One field's problem in a rejected input: which field and why.
struct FieldError {
  std::string field;
  std::string message;
};

struct Error {
  ErrorCode code;
  std::string message;
  std::vector<FieldError> fields;  // per-field details, when the input had several problems
  int retry_after_seconds = 0;     // for kTooManyRequests / kUnavailable: when to retry

  Error(ErrorCode c, std::string m) : code(c), message(std::move(m)) {}
  Error(ErrorCode c, std::string m, std::vector<FieldError> f)
      : code(c), message(std::move(m)), fields(std::move(f)) {}
};

template <class T>
using Result = std::expected<T, Error>;

// A result that carries nothing but success or an error.
using Status = std::expected<void, Error>;

inline std::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(std::in_place, code, std::move(message));
}

}  // namespace portail
