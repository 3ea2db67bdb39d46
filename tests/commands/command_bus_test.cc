// Tests of the command bus: group commit, per-command failures, idempotency, back-pressure, stop.
#include "commands/command_bus.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "commands/clock.h"
#include "commands/command.h"
#include "events/event_store.h"
#include "tests/support/notes.h"
#include "tests/support/temp_dir.h"

namespace portail::commands {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr Micros kStart = 1'700'000'000'000'000;

using portail::testing::Note;

// A counter stream ("counter-<id>"): the number of notes it holds.
class CounterState : public AggregateState {
 public:
  int64_t count() const { return count_; }
  std::unique_ptr<AggregateState> Clone() const override {
    return std::make_unique<CounterState>(*this);
  }

 protected:
  void Evolve(const schema::EventRecord& event) override {
    if (event.payload_type() == schema::Payload::OperatorNote) ++count_;
  }

 private:
  int64_t count_ = 0;
};

// The counter of `stream` in `states`, or -1 when the stream is not a counter.
int64_t CountOf(const States& states, const std::string& stream) {
  const auto* counter = states.As<CounterState>(stream);
  return counter == nullptr ? -1 : counter->count();
}

// Appends one note (its text is the command id) to each of its streams. Replies with the first
// stream's counter as Decide saw it. Counts its Decide calls when given a counter.
class AddNote : public Command {
 public:
  AddNote(std::vector<std::string> streams, std::string id, std::atomic<int>* decides = nullptr)
      : streams_(std::move(streams)), decides_(decides) {
    command_id = std::move(id);
    actor = "agent-1";
    correlation_id = "corr-" + command_id;
  }
  std::vector<std::string> Streams() const override { return streams_; }
  Result<Decision> Decide(const States& states, Micros now) const override {
    if (decides_ != nullptr) decides_->fetch_add(1);
    Decision decision;
    for (const auto& stream : streams_) {
      events::StreamAppend append{stream, events::ExpectedVersion::Any(), {}};
      append.events.push_back(Note(command_id));
      decision.appends.push_back(std::move(append));
    }
    decision.reply = CountOf(states, streams_.front());
    return decision;
  }

 private:
  std::vector<std::string> streams_;
  std::atomic<int>* decides_;
};

// Appends a note to a counter only while the counter is below `limit`; replies with the counter
// it saw.
class AddIfBelow : public Command {
 public:
  AddIfBelow(std::string stream, int64_t limit) : stream_(std::move(stream)), limit_(limit) {}
  std::vector<std::string> Streams() const override { return {stream_}; }
  Result<Decision> Decide(const States& states, Micros now) const override {
    int64_t count = CountOf(states, stream_);
    if (count >= limit_) return Fail(ErrorCode::kInvalid, "the counter is full");
    Decision decision;
    events::StreamAppend append{stream_, events::ExpectedVersion::Any(), {}};
    append.events.push_back(Note("below"));
    decision.appends.push_back(std::move(append));
    decision.reply = count;
    return decision;
  }

 private:
  std::string stream_;
  int64_t limit_;
};

// A command its decider always refuses.
class Refused : public Command {
 public:
  std::vector<std::string> Streams() const override { return {"counter-1"}; }
  Result<Decision> Decide(const States&, Micros) const override {
    return Fail(ErrorCode::kForbidden, "refused by the test");
  }
};

// Appends a note to a stream it did not read, with the expected version it is given.
class BlindAppend : public Command {
 public:
  BlindAppend(std::string stream, events::ExpectedVersion expected)
      : stream_(std::move(stream)), expected_(expected) {}
  std::vector<std::string> Streams() const override { return {}; }
  Result<Decision> Decide(const States&, Micros) const override {
    Decision decision;
    events::StreamAppend append{stream_, expected_, {}};
    append.events.push_back(Note("blind"));
    decision.appends.push_back(std::move(append));
    return decision;
  }

 private:
  std::string stream_;
  events::ExpectedVersion expected_;
};

// Lets a test hold the writer thread inside a Decide call.
struct Gate {
  std::promise<void> entered;
  std::promise<void> open;
  std::shared_future<void> opened = open.get_future().share();
};

// Signals `gate.entered`, then waits in Decide until the gate opens; appends one note.
class Blocker : public Command {
 public:
  explicit Blocker(Gate* gate) : gate_(gate) {}
  std::vector<std::string> Streams() const override { return {"blocker-1"}; }
  Result<Decision> Decide(const States&, Micros) const override {
    gate_->entered.set_value();
    gate_->opened.wait();
    Decision decision;
    events::StreamAppend append{"blocker-1", events::ExpectedVersion::Any(), {}};
    append.events.push_back(Note("blocker"));
    decision.appends.push_back(std::move(append));
    return decision;
  }

 private:
  Gate* gate_;
};

using Outcome = Result<CommandOutcome>;

// Submits `command` and returns the future of its outcome. A refused command's future is ready
// when this returns (the bus answers refusals on the caller's thread).
std::future<Outcome> SubmitAsync(CommandBus& bus, std::unique_ptr<Command> command) {
  auto promise = std::make_shared<std::promise<Outcome>>();
  auto future = promise->get_future();
  bus.Submit(std::move(command),
             [promise](Outcome outcome) { promise->set_value(std::move(outcome)); });
  return future;
}

bool IsReady(const std::future<Outcome>& future) {
  return future.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

// Submits a Blocker and returns once the writer thread is held inside its Decide.
std::future<Outcome> HoldWriter(CommandBus& bus, Gate& gate) {
  auto held = SubmitAsync(bus, std::make_unique<Blocker>(&gate));
  gate.entered.get_future().wait();
  return held;
}

class CommandBusTest : public ::testing::Test {
 protected:
  CommandBusTest() {
    registry_.Register("counter", [] { return std::make_unique<CounterState>(); });
    store_ = OpenStore();
  }

  std::unique_ptr<events::EventStore> OpenStore() {
    events::StoreOptions options;
    options.path = dir_.path();
    auto store = events::EventStore::Open(std::move(options));
    if (!store) throw std::runtime_error("opening the store: " + store.error().message);
    return std::move(*store);
  }

  std::vector<events::StoredEvent> All() {
    auto events = store_->ReadAll(1, 10'000'000);
    if (!events) throw std::runtime_error("ReadAll failed: " + events.error().message);
    return std::move(*events);
  }

  portail::testing::TempDir dir_;
  AggregateRegistry registry_;
  ManualClock clock_{kStart};
  std::unique_ptr<events::EventStore> store_;
};

TEST_F(CommandBusTest, CommandEventsAreDurableAndTheOutcomeHasTheirPositions) {
  {
    CommandBus bus(store_.get(), &registry_, &clock_);
    auto outcome = bus.Execute(
        std::make_unique<AddNote>(std::vector<std::string>{"counter-1", "note-1"}, "c1"));
    ASSERT_TRUE(outcome) << outcome.error().message;
    EXPECT_THAT(outcome->positions, ElementsAre(1u, 2u));
    EXPECT_FALSE(outcome->duplicate);
    EXPECT_EQ(std::any_cast<int64_t>(outcome->reply), 0);
    EXPECT_EQ(bus.metrics().commands_ok.value(), 1u);
    EXPECT_EQ(bus.metrics().events_appended.value(), 2u);
  }
  store_.reset();
  store_ = OpenStore();
  auto events = All();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].stream_id(), "counter-1");
  EXPECT_EQ(events[1].stream_id(), "note-1");
  for (const auto& event : events) {
    EXPECT_EQ(event.record().command_id()->str(), "c1");
    EXPECT_EQ(event.record().correlation_id()->str(), "corr-c1");
    EXPECT_EQ(event.record().actor()->str(), "agent-1");
    EXPECT_EQ(event.stream_version(), 1u);
  }
  EXPECT_THAT(store_->CommandPositions("c1").value().value(), ElementsAre(1u, 2u));
}

TEST_F(CommandBusTest, FailedDecideFailsOnlyItsOwnCommandWhileOthersInTheBatchSucceed) {
  CommandBus bus(store_.get(), &registry_, &clock_);
  Gate gate;
  auto held = HoldWriter(bus, gate);
  // These three wait in the queue and are written as one batch.
  auto first =
      SubmitAsync(bus, std::make_unique<AddNote>(std::vector<std::string>{"counter-1"}, "a"));
  auto refused = SubmitAsync(bus, std::make_unique<Refused>());
  auto last =
      SubmitAsync(bus, std::make_unique<AddNote>(std::vector<std::string>{"counter-1"}, "b"));
  gate.open.set_value();

  ASSERT_TRUE(held.get());
  auto first_outcome = first.get();
  auto refused_outcome = refused.get();
  auto last_outcome = last.get();
  ASSERT_TRUE(first_outcome) << first_outcome.error().message;
  ASSERT_FALSE(refused_outcome);
  ASSERT_TRUE(last_outcome) << last_outcome.error().message;
  EXPECT_EQ(refused_outcome.error().code, ErrorCode::kForbidden);
  EXPECT_EQ(refused_outcome.error().message, "refused by the test");
  EXPECT_THAT(first_outcome->positions, ElementsAre(2u));
  EXPECT_THAT(last_outcome->positions, ElementsAre(3u));
  EXPECT_EQ(std::any_cast<int64_t>(last_outcome->reply), 1);
  EXPECT_EQ(store_->StreamVersion("counter-1").value(), 2u);
  EXPECT_EQ(bus.metrics().commands_rejected.value(), 1u);
  EXPECT_EQ(bus.metrics().commands_ok.value(), 3u);
}

TEST_F(CommandBusTest, StoreConflictFailsOnlyItsOwnCommandWhileOthersInTheBatchSucceed) {
  CommandBus bus(store_.get(), &registry_, &clock_);
  Gate gate;
  auto held = HoldWriter(bus, gate);
  auto before =
      SubmitAsync(bus, std::make_unique<AddNote>(std::vector<std::string>{"counter-1"}, "a"));
  auto blind =
      SubmitAsync(bus, std::make_unique<BlindAppend>("other-1", events::ExpectedVersion::Exact(7)));
  auto after =
      SubmitAsync(bus, std::make_unique<AddNote>(std::vector<std::string>{"counter-2"}, "b"));
  gate.open.set_value();

  ASSERT_TRUE(held.get());
  auto before_outcome = before.get();
  auto blind_outcome = blind.get();
  auto after_outcome = after.get();
  ASSERT_TRUE(before_outcome) << before_outcome.error().message;
  ASSERT_FALSE(blind_outcome);
  ASSERT_TRUE(after_outcome) << after_outcome.error().message;
  EXPECT_EQ(blind_outcome.error().code, ErrorCode::kConflict);
  EXPECT_THAT(before_outcome->positions, ElementsAre(2u));
  EXPECT_THAT(after_outcome->positions, ElementsAre(3u));
  EXPECT_EQ(store_->StreamVersion("other-1").value(), 0u);
  EXPECT_EQ(store_->HeadPosition(), 3u);
}

TEST_F(CommandBusTest, RejectedCommandsEventsAreNotSeenByLaterCommandsOfTheBatch) {
  CommandBus bus(store_.get(), &registry_, &clock_);
  Gate gate;
  auto held = HoldWriter(bus, gate);
  auto blind = SubmitAsync(
      bus, std::make_unique<BlindAppend>("counter-9", events::ExpectedVersion::Exact(7)));
  auto below = SubmitAsync(bus, std::make_unique<AddIfBelow>("counter-9", 1));
  gate.open.set_value();
  ASSERT_TRUE(held.get());

  auto blind_outcome = blind.get();
  ASSERT_FALSE(blind_outcome);
  EXPECT_EQ(blind_outcome.error().code, ErrorCode::kConflict);
  EXPECT_THAT(blind_outcome.error().message, HasSubstr("counter-9"));
  // The counter is still empty: the rejected note must not count.
  auto below_outcome = below.get();
  ASSERT_TRUE(below_outcome) << below_outcome.error().message;
  EXPECT_EQ(std::any_cast<int64_t>(below_outcome->reply), 0);
  EXPECT_EQ(store_->StreamVersion("counter-9").value(), 1u);
}

TEST_F(CommandBusTest, SecondNoStreamClaimInOneBatchIsConflictAndTheThirdOneAfterItToo) {
  CommandBus bus(store_.get(), &registry_, &clock_);
  Gate gate;
  auto held = HoldWriter(bus, gate);
  std::vector<std::future<Outcome>> claims;
  for (int i = 0; i < 3; ++i) {
    claims.push_back(SubmitAsync(
        bus, std::make_unique<BlindAppend>("email-x", events::ExpectedVersion::NoStream())));
  }
  auto next =
      SubmitAsync(bus, std::make_unique<BlindAppend>("email-x", events::ExpectedVersion::Exact(1)));
  gate.open.set_value();
  ASSERT_TRUE(held.get());

  auto first = claims[0].get();
  ASSERT_TRUE(first) << first.error().message;
  for (int i = 1; i < 3; ++i) {
    auto claim = claims[i].get();
    ASSERT_FALSE(claim);
    EXPECT_EQ(claim.error().code, ErrorCode::kConflict);
    EXPECT_THAT(claim.error().message, HasSubstr("email-x"));
  }
  // The refused claims left no trace: the stream is at version 1 for the next command.
  auto next_outcome = next.get();
  ASSERT_TRUE(next_outcome) << next_outcome.error().message;
  EXPECT_EQ(store_->StreamVersion("email-x").value(), 2u);
  auto again =
      bus.Execute(std::make_unique<BlindAppend>("email-x", events::ExpectedVersion::Exact(2)));
  ASSERT_TRUE(again) << again.error().message;
}

TEST_F(CommandBusTest, CommandsOnTheSameStreamInOneBatchSeeEachOthersEffects) {
  constexpr int kLimit = 5;
  CommandBus bus(store_.get(), &registry_, &clock_);
  Gate gate;
  auto held = HoldWriter(bus, gate);
  std::vector<std::future<Outcome>> outcomes;
  for (int i = 0; i < 2 * kLimit; ++i) {
    outcomes.push_back(SubmitAsync(bus, std::make_unique<AddIfBelow>("counter-1", kLimit)));
  }
  gate.open.set_value();
  ASSERT_TRUE(held.get());

  for (int i = 0; i < 2 * kLimit; ++i) {
    auto outcome = outcomes[i].get();
    if (i < kLimit) {
      ASSERT_TRUE(outcome) << "command " << i << ": " << outcome.error().message;
      EXPECT_EQ(std::any_cast<int64_t>(outcome->reply), i);
      EXPECT_THAT(outcome->positions, ElementsAre(static_cast<uint64_t>(i + 2)));
    } else {
      ASSERT_FALSE(outcome) << "command " << i;
      EXPECT_EQ(outcome.error().code, ErrorCode::kInvalid);
    }
  }
  EXPECT_EQ(store_->StreamVersion("counter-1").value(), static_cast<uint64_t>(kLimit));
}

TEST_F(CommandBusTest, ConditionalCommandsSubmittedConcurrentlyAppendExactlyTheLimit) {
  constexpr int kLimit = 40;
  constexpr int kThreads = 8;
  CommandBus bus(store_.get(), &registry_, &clock_);
  std::atomic<int> ok{0};
  std::atomic<int> full{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2 * kLimit / kThreads; ++i) {
        auto outcome = bus.Execute(std::make_unique<AddIfBelow>("counter-1", kLimit));
        if (outcome) {
          ++ok;
        } else if (outcome.error().code == ErrorCode::kInvalid) {
          ++full;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), kLimit);
  EXPECT_EQ(full.load(), kLimit);
  EXPECT_EQ(store_->StreamVersion("counter-1").value(), static_cast<uint64_t>(kLimit));
  EXPECT_EQ(store_->HeadPosition(), static_cast<uint64_t>(kLimit));
}

TEST_F(CommandBusTest, SeenCommandIdReturnsTheOriginalPositionsAsDuplicateWithoutDecidingAgain) {
  std::atomic<int> decides{0};
  std::vector<uint64_t> original;
  {
    CommandBus bus(store_.get(), &registry_, &clock_);
    auto first = bus.Execute(
        std::make_unique<AddNote>(std::vector<std::string>{"counter-1", "note-1"}, "c1", &decides));
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_FALSE(first->duplicate);
    original = first->positions;
    bus.Execute(std::make_unique<AddNote>(std::vector<std::string>{"counter-1"}, "c2"));

    auto retry = bus.Execute(
        std::make_unique<AddNote>(std::vector<std::string>{"counter-1", "note-1"}, "c1", &decides));
    ASSERT_TRUE(retry) << retry.error().message;
    EXPECT_TRUE(retry->duplicate);
    EXPECT_EQ(retry->positions, original);
    EXPECT_EQ(decides.load(), 1);
    EXPECT_EQ(bus.metrics().commands_duplicate.value(), 1u);
  }
  // A new bus over the same store knows the command too.
  CommandBus bus(store_.get(), &registry_, &clock_);
  auto retry = bus.Execute(
      std::make_unique<AddNote>(std::vector<std::string>{"counter-1", "note-1"}, "c1", &decides));
  ASSERT_TRUE(retry) << retry.error().message;
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->positions, original);
  EXPECT_EQ(decides.load(), 1);
  EXPECT_EQ(store_->HeadPosition(), 3u);
}

TEST_F(CommandBusTest, SameCommandIdTwiceInOneBatchIsDecidedAndWrittenOnce) {
  std::atomic<int> decides{0};
  CommandBus bus(store_.get(), &registry_, &clock_);
  Gate gate;
  auto held = HoldWriter(bus, gate);
  auto first = SubmitAsync(
      bus, std::make_unique<AddNote>(std::vector<std::string>{"counter-1"}, "dup", &decides));
  auto second = SubmitAsync(
      bus, std::make_unique<AddNote>(std::vector<std::string>{"counter-1"}, "dup", &decides));
  auto other =
      SubmitAsync(bus, std::make_unique<AddNote>(std::vector<std::string>{"counter-1"}, "other"));
  gate.open.set_value();
  ASSERT_TRUE(held.get());

  auto first_outcome = first.get();
  auto second_outcome = second.get();
  auto other_outcome = other.get();
  ASSERT_TRUE(first_outcome) << first_outcome.error().message;
  ASSERT_TRUE(second_outcome) << second_outcome.error().message;
  ASSERT_TRUE(other_outcome) << other_outcome.error().message;
  EXPECT_FALSE(first_outcome->duplicate);
  EXPECT_TRUE(second_outcome->duplicate);
  EXPECT_EQ(second_outcome->positions, first_outcome->positions);
  EXPECT_EQ(decides.load(), 1);
  EXPECT_THAT(other_outcome->positions, ElementsAre(3u));
  EXPECT_EQ(store_->StreamVersion("counter-1").value(), 2u);

  // The next batch decides against the right state of the stream.
  auto next = bus.Execute(std::make_unique<AddIfBelow>("counter-1", 100));
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(std::any_cast<int64_t>(next->reply), 2);
}

TEST_F(CommandBusTest, CacheMissRehydratesTheStateFromTheLog) {
  {
    CommandBus bus(store_.get(), &registry_, &clock_);
    for (int i = 0; i < 3; ++i) {
      auto outcome = bus.Execute(std::make_unique<AddIfBelow>("counter-7", 100));
      ASSERT_TRUE(outcome) << outcome.error().message;
    }
  }
  store_.reset();
  store_ = OpenStore();
  CommandBus bus(store_.get(), &registry_, &clock_);
  auto outcome = bus.Execute(std::make_unique<AddIfBelow>("counter-7", 4));
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(std::any_cast<int64_t>(outcome->reply), 3);
  EXPECT_THAT(outcome->positions, ElementsAre(4u));
  auto full = bus.Execute(std::make_unique<AddIfBelow>("counter-7", 4));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::kInvalid);
}

TEST_F(CommandBusTest, RehydrationReadsAStreamLongerThanOneChunk) {
  constexpr int kEvents = 2500;
  events::AppendRequest request;
  request.streams.push_back({"counter-long", events::ExpectedVersion::NoStream(), {}});
  for (int i = 0; i < kEvents; ++i) request.streams[0].events.push_back(Note("old"));
  ASSERT_TRUE(store_->Append(request));

  CommandBus bus(store_.get(), &registry_, &clock_);
  auto outcome = bus.Execute(std::make_unique<AddIfBelow>("counter-long", kEvents + 1));
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(std::any_cast<int64_t>(outcome->reply), kEvents);
  auto full = bus.Execute(std::make_unique<AddIfBelow>("counter-long", kEvents + 1));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::kInvalid);
}

TEST_F(CommandBusTest, MaxBatchSplitsTheQueuedCommandsIntoSeveralWrites) {
  BusOptions options;
  options.max_batch = 2;
  CommandBus bus(store_.get(), &registry_, &clock_, options);
  Gate gate;
  auto held = HoldWriter(bus, gate);
  std::vector<std::future<Outcome>> queued;
  for (int i = 0; i < 5; ++i) {
    queued.push_back(SubmitAsync(bus, std::make_unique<AddIfBelow>("counter-1", 100)));
  }
  gate.open.set_value();
  ASSERT_TRUE(held.get());
  for (int i = 0; i < 5; ++i) {
    auto outcome = queued[i].get();
    ASSERT_TRUE(outcome) << outcome.error().message;
    EXPECT_EQ(std::any_cast<int64_t>(outcome->reply), i);
  }
  // The held command's batch, then 2 + 2 + 1.
  EXPECT_EQ(bus.metrics().batch_size.count(), 4u);
  EXPECT_EQ(store_->StreamVersion("counter-1").value(), 5u);
}

TEST_F(CommandBusTest, StatesEvictedFromATinyCacheAreRehydratedCorrectly) {
  BusOptions options;
  options.max_cached_states = 1;
  CommandBus bus(store_.get(), &registry_, &clock_, options);
  for (int i = 0; i < 6; ++i) {
    for (const char* stream : {"counter-a", "counter-b", "counter-c"}) {
      auto outcome = bus.Execute(std::make_unique<AddIfBelow>(stream, 100));
      ASSERT_TRUE(outcome) << outcome.error().message;
      EXPECT_EQ(std::any_cast<int64_t>(outcome->reply), i) << stream;
    }
  }
  EXPECT_EQ(store_->StreamVersion("counter-c").value(), 6u);
}

TEST_F(CommandBusTest, FullQueueAnswersUnavailable) {
  BusOptions options;
  options.queue_capacity = 1;
  CommandBus bus(store_.get(), &registry_, &clock_, options);
  Gate gate;
  auto held = HoldWriter(bus, gate);
  auto queued =
      SubmitAsync(bus, std::make_unique<AddNote>(std::vector<std::string>{"counter-1"}, "q"));
  auto refused =
      SubmitAsync(bus, std::make_unique<AddNote>(std::vector<std::string>{"counter-1"}, "r"));
  ASSERT_TRUE(IsReady(refused));
  EXPECT_FALSE(IsReady(queued));
  EXPECT_EQ(bus.QueueDepth(), 1u);
  auto refused_outcome = refused.get();
  ASSERT_FALSE(refused_outcome);
  EXPECT_EQ(refused_outcome.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(bus.metrics().commands_failed.value(), 1u);

  gate.open.set_value();
  ASSERT_TRUE(held.get());
  auto queued_outcome = queued.get();
  ASSERT_TRUE(queued_outcome) << queued_outcome.error().message;
  EXPECT_FALSE(store_->CommandPositions("r").value().has_value());
  // Once the queue has room again, commands are accepted.
  auto later = bus.Execute(std::make_unique<AddNote>(std::vector<std::string>{"counter-1"}, "r"));
  ASSERT_TRUE(later) << later.error().message;
}

TEST_F(CommandBusTest, StopFinishesQueuedCommandsThenRefusesNewOnes) {
  CommandBus bus(store_.get(), &registry_, &clock_);
  Gate gate;
  auto held = HoldWriter(bus, gate);
  std::vector<std::future<Outcome>> queued;
  for (int i = 0; i < 5; ++i) {
    queued.push_back(SubmitAsync(
        bus,
        std::make_unique<AddNote>(std::vector<std::string>{"counter-1"}, "q" + std::to_string(i))));
  }
  std::thread stopper([&] { bus.Stop(); });
  // Probe until a command is refused: the bus is then stopping, with the commands above still
  // queued behind the held writer. Probes accepted before that must be finished too.
  std::vector<std::future<Outcome>> accepted_probes;
  for (int i = 0;; ++i) {
    auto probe = SubmitAsync(bus, std::make_unique<AddNote>(std::vector<std::string>{"counter-2"},
                                                            "p" + std::to_string(i)));
    if (IsReady(probe)) {
      auto refused = probe.get();
      ASSERT_FALSE(refused);
      EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
      break;
    }
    accepted_probes.push_back(std::move(probe));
    std::this_thread::yield();
  }
  gate.open.set_value();
  stopper.join();

  ASSERT_TRUE(held.get());
  for (auto& future : queued) {
    ASSERT_TRUE(IsReady(future));
    auto outcome = future.get();
    ASSERT_TRUE(outcome) << outcome.error().message;
  }
  for (auto& future : accepted_probes) {
    ASSERT_TRUE(IsReady(future));
    auto outcome = future.get();
    ASSERT_TRUE(outcome) << outcome.error().message;
  }
  EXPECT_EQ(store_->StreamVersion("counter-1").value(), 5u);
  EXPECT_EQ(store_->StreamVersion("counter-2").value(), accepted_probes.size());
  EXPECT_EQ(bus.QueueDepth(), 0u);

  auto after =
      bus.Execute(std::make_unique<AddNote>(std::vector<std::string>{"counter-1"}, "late"));
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, ErrorCode::kUnavailable);
  bus.Stop();  // idempotent
  EXPECT_FALSE(store_->CommandPositions("late").value().has_value());
}

TEST_F(CommandBusTest, EventsAreRecordedAtTheManualClocksTime) {
  CommandBus bus(store_.get(), &registry_, &clock_);
  auto first = bus.Execute(std::make_unique<AddNote>(std::vector<std::string>{"counter-1"}, "t1"));
  ASSERT_TRUE(first) << first.error().message;
  clock_.Advance(std::chrono::seconds(90));
  auto second =
      bus.Execute(std::make_unique<AddNote>(std::vector<std::string>{"counter-1", "note-1"}, "t2"));
  ASSERT_TRUE(second) << second.error().message;
  clock_.Set(kStart - 1);

  auto events = All();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].record().recorded_at_us(), kStart);
  EXPECT_EQ(events[1].record().recorded_at_us(), kStart + 90'000'000);
  EXPECT_EQ(events[2].record().recorded_at_us(), kStart + 90'000'000);
}

// 16 producers submit 500 commands each, on their own streams, on shared streams, and on both at
// once. Every command must be answered once, and the log must hold each command's events once,
// at gap-free positions.
TEST_F(CommandBusTest, ConcurrentProducersGetEveryCommandAcknowledgedOnceAtGapFreePositions) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 500;
  constexpr int kCommands = kThreads * kPerThread;
  auto command_id = [](int t, int i) { return "t" + std::to_string(t) + "-" + std::to_string(i); };
  auto streams_of = [](int t, int i) -> std::vector<std::string> {
    std::string own = "counter-own" + std::to_string(t) + "x" + std::to_string(i % 7);
    std::string shared = "counter-shared" + std::to_string(i % 4);
    switch (i % 3) {
      case 0:
        return {own};
      case 1:
        return {shared};
      default:
        return {shared, own};
    }
  };

  CommandBus bus(store_.get(), &registry_, &clock_);
  std::mutex mu;
  std::condition_variable all_answered;
  int answered = 0;                        // guarded by mu
  std::vector<int> answers(kCommands, 0);  // guarded by mu
  std::vector<Outcome> outcomes;           // guarded by mu
  for (int c = 0; c < kCommands; ++c) outcomes.emplace_back(Fail(ErrorCode::kInternal, "none"));

  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int slot = t * kPerThread + i;
        bus.Submit(std::make_unique<AddNote>(streams_of(t, i), command_id(t, i)),
                   [&, slot](Outcome outcome) {
                     std::lock_guard<std::mutex> lock(mu);
                     ++answers[slot];
                     outcomes[slot] = std::move(outcome);
                     if (++answered == kCommands) all_answered.notify_all();
                   });
      }
    });
  }
  for (auto& producer : producers) producer.join();
  {
    std::unique_lock<std::mutex> lock(mu);
    all_answered.wait(lock, [&] { return answered >= kCommands; });
  }
  bus.Stop();

  std::set<uint64_t> acknowledged;
  std::map<std::string, std::vector<uint64_t>> positions_of;
  size_t expected_events = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      int slot = t * kPerThread + i;
      ASSERT_EQ(answers[slot], 1) << command_id(t, i);
      ASSERT_TRUE(outcomes[slot]) << command_id(t, i) << ": " << outcomes[slot].error().message;
      EXPECT_FALSE(outcomes[slot]->duplicate);
      ASSERT_EQ(outcomes[slot]->positions.size(), streams_of(t, i).size());
      expected_events += outcomes[slot]->positions.size();
      for (uint64_t p : outcomes[slot]->positions) {
        EXPECT_TRUE(acknowledged.insert(p).second) << "position " << p << " acknowledged twice";
      }
      positions_of[command_id(t, i)] = outcomes[slot]->positions;
    }
  }

  EXPECT_EQ(store_->HeadPosition(), expected_events);
  auto events = All();
  ASSERT_EQ(events.size(), expected_events);
  std::map<std::string, std::vector<uint64_t>> logged;
  for (size_t k = 0; k < events.size(); ++k) {
    ASSERT_EQ(events[k].position(), k + 1);
    logged[events[k].record().command_id()->str()].push_back(events[k].position());
  }
  EXPECT_EQ(logged, positions_of);
  EXPECT_EQ(bus.metrics().commands_ok.value(), static_cast<uint64_t>(kCommands));

  auto report = store_->Verify();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->ok()) << report->problem;
  EXPECT_EQ(report->events_checked, expected_events);
}

}  // namespace
}  // namespace portail::commands
