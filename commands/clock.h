// The clock the deciders see: the system clock in production, a manual clock in tests.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace portail::commands {

// Microseconds since the Unix epoch, UTC.
using Micros = int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  // The current time. Thread-safe.
  virtual Micros Now() const = 0;
};

class SystemClock : public Clock {
 public:
  Micros Now() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(Micros start = 0) : now_(start) {}
  Micros Now() const override { return now_.load(); }
  void Set(Micros t) { now_.store(t); }
  void Advance(std::chrono::microseconds d) { now_.fetch_add(d.count()); }

 private:
  std::atomic<Micros> now_;
};

}  // namespace portail::commands
