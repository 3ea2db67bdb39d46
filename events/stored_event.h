// An event as read back from the log: owns its bytes and gives the flatbuffers view of them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/events_generated.h"

namespace portail::events {

// Expected version of a stream when appending to it.
class ExpectedVersion {
 public:
  ExpectedVersion() : kind_(kAny), version_(0) {}  // Any
  static ExpectedVersion Any() { return ExpectedVersion(kAny, 0); }
  static ExpectedVersion NoStream() { return ExpectedVersion(kExact, 0); }
  static ExpectedVersion Exact(uint64_t version) { return ExpectedVersion(kExact, version); }

  bool is_any() const { return kind_ == kAny; }
  // Only meaningful when !is_any(); 0 means "the stream must not exist".
  uint64_t version() const { return version_; }

 private:
  enum Kind { kAny, kExact };
  ExpectedVersion(Kind k, uint64_t v) : kind_(k), version_(v) {}
  Kind kind_;
  uint64_t version_;
};

// Events to append to one stream.
struct StreamAppend {
  std::string stream;
  ExpectedVersion expected = ExpectedVersion::Any();
  std::vector<schema::PayloadUnion> events;
};

// One atomic append: every stream or none. `command_id` makes it idempotent when not empty.
struct AppendRequest {
  std::string command_id;
  std::string correlation_id;
  std::string actor;
  int64_t recorded_at_us = 0;
  std::vector<StreamAppend> streams;
  // Set by a single writer that looked the command id up in the log itself just before (the
  // command bus): the store then checks it only against the rest of the batch.
  bool command_id_checked = false;
};

struct AppendResult {
  // Global positions of the appended events, in request order.
  std::vector<uint64_t> positions;
  // True when the command id had been applied before: positions are the original ones and
  // nothing was written.
  bool duplicate = false;
};

// A record read from the log. Cheap to move; the view stays valid while this object lives.
class StoredEvent {
 public:
  explicit StoredEvent(std::string bytes) : bytes_(std::move(bytes)) {}

  const schema::EventRecord& record() const {
    return *flatbuffers::GetRoot<schema::EventRecord>(bytes_.data());
  }
  std::string_view bytes() const { return bytes_; }
  uint64_t position() const { return record().position(); }
  uint64_t stream_version() const { return record().stream_version(); }
  std::string_view stream_id() const { return record().stream_id()->string_view(); }
  schema::Payload type() const { return record().payload_type(); }

 private:
  std::string bytes_;
};

// A record's optional string field as text ("" when absent).
inline std::string Str(const flatbuffers::String* s) {
  return s == nullptr ? std::string() : s->str();
}

// The same without a copy, valid while the record is.
inline std::string_view StrView(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view() : s->string_view();
}

// The wire name of an event type, e.g. "OperatorNote".
inline std::string_view EventTypeName(schema::Payload type) {
  return schema::EnumNamePayload(type);
}

}  // namespace portail::events
