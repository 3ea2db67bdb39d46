// The crash test's victim: appends two-stream commands through the bus until it is killed, and
// prints "<command_id> <position in a-k> <position in b-k>" once each command is durable.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <semaphore>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "commands/aggregate.h"
#include "commands/clock.h"
#include "commands/command.h"
#include "commands/command_bus.h"
#include "events/event_store.h"
#include "events/log.h"
#include "projections/event_counts.h"

namespace portail::crash {
namespace {

constexpr int kThreads = 8;
constexpr int kInFlightPerThread = 16;
constexpr int kStreamPairs = 50;

// Appends one note, whose text is the command id, to "a-<k>" and to "b-<k>" atomically.
class PairNote : public commands::Command {
 public:
  PairNote(std::string id, int k) : k_(std::to_string(k)) {
    command_id = std::move(id);
    actor = "crash-writer";
  }
  std::vector<std::string> Streams() const override { return {"a-" + k_, "b-" + k_}; }
  Result<commands::Decision> Decide(const commands::States&, commands::Micros) const override {
    commands::Decision decision;
    for (const auto& stream : Streams()) {
      events::StreamAppend append{stream, events::ExpectedVersion::Any(), {}};
      schema::OperatorNoteT note;
      note.text = command_id;
      append.events.emplace_back().Set(std::move(note));
      decision.appends.push_back(std::move(append));
    }
    return decision;
  }

 private:
  std::string k_;
};

std::mutex out_mu;

// Writes `text` whole to `fd`; exits when it cannot (the reader is gone).
void WriteAll(int fd, std::string_view text) {
  std::lock_guard<std::mutex> lock(out_mu);
  while (!text.empty()) {
    ssize_t n = write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(4);
    text.remove_prefix(static_cast<size_t>(n));
  }
}

// Submits commands forever, keeping at most kInFlightPerThread of them unanswered.
void Produce(commands::CommandBus& bus, const std::string& run, int thread) {
  std::counting_semaphore<kInFlightPerThread> slots(kInFlightPerThread);
  for (uint64_t i = 0;; ++i) {
    slots.acquire();
    std::string id = run + "-" + std::to_string(thread) + "-" + std::to_string(i);
    int k = static_cast<int>((static_cast<uint64_t>(thread) * 7919 + i) % kStreamPairs);
    bus.Submit(std::make_unique<PairNote>(id, k),
               [&slots, id](Result<commands::CommandOutcome> outcome) {
                 if (!outcome || outcome->positions.size() != 2) {
                   std::string problem =
                       "crash_writer: command " + id +
                       " failed: " + (outcome ? "wrong positions" : outcome.error().message) + "\n";
                   WriteAll(2, problem);
                   _exit(3);
                 }
                 WriteAll(1, id + " " + std::to_string(outcome->positions[0]) + " " +
                                 std::to_string(outcome->positions[1]) + "\n");
                 slots.release();
               });
  }
}

}  // namespace
}  // namespace portail::crash

int main(int argc, char** argv) {
  using namespace portail;
  if (argc != 2) {
    std::fprintf(stderr, "usage: crash_writer DIR\n");
    return 2;
  }
  log::SetLevel("off");  // stdout carries the acknowledgments only

  projections::EventCounts counts;
  events::StoreOptions options;
  options.path = argv[1];
  options.projections = {&counts};
  auto store = events::EventStore::Open(std::move(options));
  if (!store) {
    std::fprintf(stderr, "crash_writer: %s\n", store.error().message.c_str());
    return 1;
  }
  commands::AggregateRegistry registry;
  commands::SystemClock clock;
  commands::CommandBus bus(store->get(), &registry, &clock);

  // A run id keeps command ids unique across the runs sharing one directory.
  std::random_device random;
  char run[17];
  std::snprintf(run, sizeof run, "%08x%08x", random(), random());

  std::vector<std::thread> producers;
  for (int t = 0; t < crash::kThreads; ++t) {
    producers.emplace_back([&bus, &run, t] { crash::Produce(bus, run, t); });
  }
  for (auto& producer : producers) producer.join();  // never: the test kills the process
  return 0;
}
