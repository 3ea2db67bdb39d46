// A command: the streams it reads, and a pure decision from their states to new events.
#pragma once

#include <any>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "commands/aggregate.h"
#include "commands/clock.h"
#include "events/error.h"
#include "events/stored_event.h"

namespace portail::commands {

// The states a command decides against, by stream id. A stream that does not exist yet has a
// state of version 0.
class States {
 public:
  const AggregateState& Get(std::string_view stream) const {
    return *states_.at(std::string(stream));
  }
  // The state as its concrete type; nullptr if the registry made another type.
  template <class T>
  const T* As(std::string_view stream) const {
    return dynamic_cast<const T*>(&Get(stream));
  }
  void Put(std::string stream, const AggregateState* state) { states_[std::move(stream)] = state; }

 private:
  std::unordered_map<std::string, const AggregateState*> states_;
};

// What a command decided: events per stream, and an optional value for the caller (e.g. a
// generated id). Streams the command read are appended with the version decide saw (so a
// concurrent change is a conflict); other streams use their own ExpectedVersion.
struct Decision {
  std::vector<events::StreamAppend> appends;
  std::any reply;
};

class Command {
 public:
  virtual ~Command() = default;
  // The streams whose state Decide needs.
  virtual std::vector<std::string> Streams() const = 0;
  // Decides the events from the states and the clock's value. Pure: no I/O, no clock reads.
  virtual Result<Decision> Decide(const States& states, Micros now) const = 0;

  // Makes a retried command apply once (empty: no idempotency).
  std::string command_id;
  std::string correlation_id;
  // The account or agent acting ("system" for the server's own work).
  std::string actor;
};

// Wraps a payload table (object API, e.g. schema::AccountActivatedT) as a union member.
template <class T>
schema::PayloadUnion MakePayload(T value) {
  schema::PayloadUnion payload;
  payload.Set(std::move(value));
  return payload;
}

// What the caller of a command receives once its events are durable.
struct CommandOutcome {
  std::vector<uint64_t> positions;
  bool duplicate = false;
  std::any reply;
};

}  // namespace portail::commands
