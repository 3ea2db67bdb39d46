// The crash test: kills a writer at random moments and checks that the log it leaves keeps every
// acknowledged command, holds no partial batch, and verifies.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "events/event_store.h"
#include "projections/event_counts.h"
#include "tests/support/temp_dir.h"

#ifndef CRASH_WRITER
#error "CRASH_WRITER must name the crash_writer executable"
#endif

namespace portail::crash {
namespace {

constexpr int kIterations = 24;
constexpr int kMinDelayMs = 20;
constexpr int kMaxDelayMs = 300;

struct Ack {
  uint64_t a_position;
  uint64_t b_position;
};

// Runs the writer on `dir`, kills it with SIGKILL after `delay`, and returns everything it printed.
std::string RunAndKill(const std::string& dir, std::chrono::milliseconds delay) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const char* writer = CRASH_WRITER;
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(fds[1], STDOUT_FILENO);
    execl(writer, writer, dir.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);

  std::string output;
  char buffer[1 << 16];
  auto read_some = [&]() -> bool {  // false at end of file
    ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) return false;
    output.append(buffer, static_cast<size_t>(n));
    return true;
  };
  auto deadline = std::chrono::steady_clock::now() + delay;
  bool open = true;
  while (open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{fds[0], POLLIN, 0};
    int ready = poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready > 0) open = read_some();
  }
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (open) open = read_some();
  close(fds[0]);

  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the writer ended on its own before the kill: status " << status;
  return output;
}

// Adds the complete "<command_id> <pos_a> <pos_b>" lines of `output` to `acks`; a torn last line
// (no newline: the writer died while printing) is ignored.
void ParseAcks(const std::string& output, std::map<std::string, Ack>* acks) {
  size_t start = 0;
  for (size_t end = output.find('\n'); end != std::string::npos;
       start = end + 1, end = output.find('\n', start)) {
    std::istringstream line(output.substr(start, end - start));
    std::string id;
    Ack ack{};
    ASSERT_TRUE(line >> id >> ack.a_position >> ack.b_position)
        << "bad line: " << output.substr(start, end - start);
    ASSERT_TRUE(acks->emplace(id, ack).second) << "command " << id << " acknowledged twice";
  }
}

// Reopens the store and checks it against everything acknowledged so far.
void CheckStore(const std::string& dir, const std::map<std::string, Ack>& acks) {
  projections::EventCounts counts;
  events::StoreOptions options;
  options.path = dir;
  options.projections = {&counts};
  auto opened = events::EventStore::Open(std::move(options));
  ASSERT_TRUE(opened) << opened.error().message;
  events::EventStore& store = **opened;
  const uint64_t head = store.HeadPosition();

  auto report = store.Verify();
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_TRUE(report->ok()) << "at position " << report->first_bad_position.value_or(0) << ": "
                            << report->problem;
  EXPECT_EQ(report->events_checked, head);

  // Gap-free positions, and every command in the log has exactly one event in a-k and one in b-k.
  struct Seen {
    int a = 0;
    int b = 0;
    std::string a_k;
    std::string b_k;
  };
  std::map<std::string, Seen> seen;
  uint64_t expected = 1;
  bool gap = false;
  auto scanned = store.ScanAll(1, [&](const schema::EventRecord& record) {
    if (record.position() != expected++) {
      gap = true;
      return false;
    }
    std::string stream = record.stream_id()->str();
    Seen& s = seen[record.command_id()->str()];
    if (stream.starts_with("a-")) {
      ++s.a;
      s.a_k = stream.substr(2);
    } else if (stream.starts_with("b-")) {
      ++s.b;
      s.b_k = stream.substr(2);
    }
    return true;
  });
  ASSERT_TRUE(scanned) << scanned.error().message;
  ASSERT_FALSE(gap) << "the log has a gap before position " << expected - 1;
  EXPECT_EQ(expected - 1, head);
  for (const auto& [id, s] : seen) {
    EXPECT_EQ(s.a, 1) << "command " << id << " has " << s.a << " events in a-streams";
    EXPECT_EQ(s.b, 1) << "command " << id << " has " << s.b << " events in b-streams";
    EXPECT_EQ(s.a_k, s.b_k) << "command " << id;
  }
  EXPECT_EQ(seen.size() * 2, head);

  // Every acknowledged command is in the log at the positions it was told.
  for (const auto& [id, ack] : acks) {
    ASSERT_TRUE(seen.contains(id)) << "acknowledged command " << id << " is not in the log";
    auto positions = store.CommandPositions(id);
    ASSERT_TRUE(positions) << positions.error().message;
    ASSERT_TRUE(positions->has_value()) << "command " << id << " is not remembered";
    EXPECT_EQ(**positions, (std::vector<uint64_t>{ack.a_position, ack.b_position})) << id;
    for (uint64_t position : {ack.a_position, ack.b_position}) {
      auto event = store.ReadAll(position, 1);
      ASSERT_TRUE(event) << event.error().message;
      ASSERT_EQ(event->size(), 1u) << "position " << position << " of " << id << " is missing";
      EXPECT_EQ((*event)[0].position(), position);
      EXPECT_EQ((*event)[0].record().command_id()->str(), id);
    }
  }

  // The view was written in the same batches as the events.
  auto checkpoint = store.Checkpoint("event_counts");
  ASSERT_TRUE(checkpoint) << checkpoint.error().message;
  EXPECT_EQ(*checkpoint, head);
  auto by_type = projections::EventCounts::Read(*store.View("event_counts"));
  uint64_t counted = by_type.contains("OperatorNote") ? by_type.at("OperatorNote") : 0;
  EXPECT_EQ(counted, head);
  EXPECT_EQ(by_type.size(), head == 0 ? 0u : 1u);
}

TEST(CrashTest, KilledWriterLosesNoAcknowledgedCommandAndLeavesNoPartialBatch) {
  portail::testing::TempDir dir;
  const std::string store_dir = dir.Sub("store");
  // PORTAIL_CRASH_SEED replays a failed run.
  const char* seed_env = std::getenv("PORTAIL_CRASH_SEED");
  const uint32_t seed = seed_env != nullptr
                            ? static_cast<uint32_t>(std::strtoul(seed_env, nullptr, 10))
                            : std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (rerun with PORTAIL_CRASH_SEED=" + std::to_string(seed) + ")");
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(kMinDelayMs, kMaxDelayMs);

  std::map<std::string, Ack> acks;
  for (int iteration = 0; iteration < kIterations; ++iteration) {
    const int delay = delay_ms(rng);
    SCOPED_TRACE("iteration " + std::to_string(iteration) + ", killed after " +
                 std::to_string(delay) + " ms");
    std::string output = RunAndKill(store_dir, std::chrono::milliseconds(delay));
    ASSERT_NO_FATAL_FAILURE(ParseAcks(output, &acks));
    ASSERT_NO_FATAL_FAILURE(CheckStore(store_dir, acks));
    if (HasFailure()) break;
  }
  // The kills must have interrupted real work, or the test proved nothing.
  EXPECT_GT(acks.size(), 0u);
}

}  // namespace
}  // namespace portail::crash
