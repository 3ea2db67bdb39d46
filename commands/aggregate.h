// Aggregate state: a fold of one stream's events, with the version it has seen.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "schemas/events_generated.h"

namespace portail::commands {

// The state of one stream. Subclasses hold the fields their decider needs and fold events in
// Evolve(); it must be a pure function of the state and the event.
class AggregateState {
 public:
  virtual ~AggregateState() = default;
  // The stream version this state reflects (0: the stream does not exist).
  uint64_t version() const { return version_; }
  // Folds `event` in and moves the version to the event's.
  void Apply(const schema::EventRecord& event) {
    Evolve(event);
    version_ = event.stream_version();
  }
  virtual std::unique_ptr<AggregateState> Clone() const = 0;
  // False when Evolve ignores events: the bus then only moves the version (SetVersion) and
  // skips building the event it would fold.
  virtual bool folds_events() const { return true; }
  void SetVersion(uint64_t version) { version_ = version; }

 protected:
  virtual void Evolve(const schema::EventRecord& event) = 0;

 private:
  uint64_t version_ = 0;
};

// A state that only tracks the version: for streams whose decider needs nothing else.
class VersionOnlyState : public AggregateState {
 public:
  std::unique_ptr<AggregateState> Clone() const override {
    return std::make_unique<VersionOnlyState>(*this);
  }
  bool folds_events() const override { return false; }

 protected:
  void Evolve(const schema::EventRecord&) override {}
};

// Makes the empty state of a stream from its id. Streams are named "<kind>-<id>"; each kind
// registers its factory, and unknown kinds get a VersionOnlyState.
class AggregateRegistry {
 public:
  using Factory = std::function<std::unique_ptr<AggregateState>()>;

  void Register(std::string kind, Factory factory) {
    factories_[std::move(kind)] = std::move(factory);
  }

  std::unique_ptr<AggregateState> Make(std::string_view stream) const {
    std::string_view kind = stream.substr(0, stream.find('-'));
    auto found = factories_.find(std::string(kind));
    if (found == factories_.end()) return std::make_unique<VersionOnlyState>();
    return found->second();
  }

 private:
  std::unordered_map<std::string, Factory> factories_;
};

}  // namespace portail::commands
