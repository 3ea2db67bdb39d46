// Wire names of error codes.
#include "events/error.h"

namespace portail {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalid:
      return "invalid";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kAlreadyExists:
      return "already_exists";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kPayloadTooLarge:
      return "payload_too_large";
    case ErrorCode::kMethodNotAllowed:
      return "method_not_allowed";
    case ErrorCode::kCorruption:
      return "corruption";
    case ErrorCode::kIoError:
      return "io_error";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kUnsupportedMediaType:
      return "unsupported_media_type";
    case ErrorCode::kHeaderTooLarge:
      return "header_too_large";
    case ErrorCode::kGone:
      return "gone";
    case ErrorCode::kLocked:
      return "locked";
    case ErrorCode::kTooManyRequests:
      return "too_many_requests";
    case ErrorCode::kPreconditionFailed:
      return "precondition_failed";
    case ErrorCode::kNotEnrolled:
      return "not_enrolled";
    case ErrorCode::kActivityClosed:
      return "activity_closed";
    case ErrorCode::kAlreadyRequested:
      return "already_requested";
    case ErrorCode::kNotReserved:
      return "not_reserved";
    case ErrorCode::kPastDeadline:
      return "past_deadline";
    case ErrorCode::kFull:
      return "full";
  }
  return "internal";
}

}  // namespace portail
