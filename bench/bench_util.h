// Small helpers shared by the foundation benchmarks: timing, percentiles, lists, directories.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace portail::bench {

using SteadyClock = std::chrono::steady_clock;

inline double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

inline int64_t NanosBetween(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

// The q-quantile (0..1) of `samples` in microseconds; sorts `samples`. 0 when empty.
inline double QuantileMicros(std::vector<int64_t>& samples, double q) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  size_t index = std::min(samples.size() - 1, static_cast<size_t>(q * samples.size()));
  return static_cast<double>(samples[index]) / 1000.0;
}

// The median of `values` (sorted copy); 0 when empty.
inline double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Removes `dir` and everything under it, then creates it empty. Aborts the run on failure.
inline void FreshDirectory(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    std::exit(1);
  }
}

// Parses "1,8,64" into numbers; skips empty items.
inline std::vector<int> ParseList(std::string_view text) {
  std::vector<int> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string item(text.substr(0, comma));
    if (!item.empty()) out.push_back(std::stoi(item));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// One timed pass over the log.
struct Pass {
  uint64_t events = 0;
  uint64_t bytes = 0;  // record bytes, where a pass counts them
  uint64_t checksum = 0;
  double seconds = 0;
  double rate() const { return seconds > 0 ? static_cast<double>(events) / seconds : 0; }
};

// Prints "<program>: <what>" and exits with 1.
[[noreturn]] inline void Die(std::string_view program, const std::string& what) {
  std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(),
               what.c_str());
  std::exit(1);
}

// The rates of one method over the rounds.
struct Series {
  std::string name;
  std::vector<double> rates;
  double best() const { return rates.empty() ? 0 : *std::max_element(rates.begin(), rates.end()); }
  double median() const { return Median(rates); }
};

// Adds `pass` to `series` and prints it; dies when it did not see `expected` events.
inline void Record(std::string_view program, Series& series, const Pass& pass, uint64_t expected,
                   int name_width) {
  if (pass.events != expected) {
    Die(program, series.name + " saw " + std::to_string(pass.events) + " events, expected " +
                     std::to_string(expected));
  }
  series.rates.push_back(pass.rate());
  std::printf("  %-*s %10.0f events/s (%.3f s)\n", name_width, series.name.c_str(), pass.rate(),
              pass.seconds);
}

}  // namespace portail::bench
