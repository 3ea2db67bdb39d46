// What the deciders' tests share: records built as the store would write them, states folded
// from them, and matchers for decisions. No storage.
#pragma once

#include <flatbuffers/flatbuffers.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "commands/aggregate.h"
#include "commands/command.h"
#include "events/stored_event.h"

namespace portail::commands {

// Succeeds when a Result<Decision> holds an error of `code`; explains what it holds otherwise.
MATCHER_P(FailsWith, code, "fails with " + std::string(ErrorCodeName(code))) {
  if (arg.has_value()) {
    *result_listener << "which succeeded with " << arg->appends.size() << " append(s)";
    return false;
  }
  *result_listener << "which failed with " << ErrorCodeName(arg.error().code) << ": "
                   << arg.error().message;
  return arg.error().code == code;
}

// Builds event records as the store would write them and folds them into states. The records
// live as long as the builder.
class StreamBuilder {
 public:
  // Folds `payload` into `state` as the next event of `stream`, recorded at `at`.
  void Add(AggregateState& state, const std::string& stream, const schema::PayloadUnion& payload,
           Micros at) {
    flatbuffers::FlatBufferBuilder fbb;
    auto stream_off = fbb.CreateString(stream);
    auto actor_off = fbb.CreateString("test");
    auto payload_off = payload.Pack(fbb);
    auto root = schema::CreateEventRecord(fbb, 0, stream_off, state.version() + 1, at, actor_off, 0,
                                          0, nullptr, nullptr, payload.type, payload_off);
    fbb.Finish(root);
    buffers_.push_back(fbb.Release());
    state.Apply(*flatbuffers::GetRoot<schema::EventRecord>(buffers_.back().data()));
  }

 private:
  std::vector<flatbuffers::DetachedBuffer> buffers_;
};

// The streams `decision` appends to, in order.
inline std::vector<std::string> StreamsOf(const Decision& decision) {
  std::vector<std::string> streams;
  for (const auto& append : decision.appends) streams.push_back(append.stream);
  return streams;
}

// The events `decision` appends to `stream` (none when it does not append there).
inline const std::vector<schema::PayloadUnion>& EventsTo(const Decision& decision,
                                                         std::string_view stream) {
  static const auto* const kNone = new std::vector<schema::PayloadUnion>();
  for (const auto& append : decision.appends) {
    if (append.stream == stream) return append.events;
  }
  return *kNone;
}

// The type names of the events `decision` appends to `stream`, e.g. "AccountRegistered".
inline std::vector<std::string> TypesTo(const Decision& decision, std::string_view stream) {
  std::vector<std::string> types;
  for (const auto& event : EventsTo(decision, stream)) {
    types.emplace_back(events::EventTypeName(event.type));
  }
  return types;
}

// A fixture holding states by stream, made by `registry_` as the bus makes them.
class DeciderTest : public ::testing::Test {
 protected:
  // The state of `stream`, made by the registry the first time (as the bus does).
  AggregateState& State(const std::string& stream) {
    auto& state = states_[stream];
    if (state == nullptr) state = registry_.Make(stream);
    return *state;
  }
  // Folds `payload` into `stream` as its next event, recorded at `at`.
  void Add(const std::string& stream, schema::PayloadUnion payload, Micros at) {
    builder_.Add(State(stream), stream, payload, at);
  }

  // Folds every event of `decision`, as if the bus had written them at `at`.
  void Fold(const Decision& decision, Micros at) {
    for (const auto& append : decision.appends) {
      for (const auto& event : append.events)
        builder_.Add(State(append.stream), append.stream, event, at);
    }
  }

  // Decides `command` at `now` against the states of the streams it reads.
  Result<Decision> Decide(const Command& command, Micros now) {
    States states;
    for (const auto& stream : command.Streams()) states.Put(stream, &State(stream));
    return command.Decide(states, now);
  }

  // Decides `command`, which must succeed, and folds its events as written at `now`.
  Decision Run(const Command& command, Micros now) {
    auto decided = Decide(command, now);
    EXPECT_TRUE(decided.has_value()) << decided.error().message;
    if (!decided) return {};
    Fold(*decided, now);
    return std::move(*decided);
  }

  AggregateRegistry registry_;
  std::map<std::string, std::unique_ptr<AggregateState>> states_;
  StreamBuilder builder_;
};

}  // namespace portail::commands
