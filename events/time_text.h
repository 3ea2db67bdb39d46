// Timestamps as text for views and answers.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace portail::events {

// RFC 3339 UTC text of a microsecond timestamp, e.g. "2026-11-28T23:48:59Z".
inline std::string IsoTime(int64_t micros) {
  std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace portail::events
