// The one logging header: spdlog behind a namespace, so call sites never name the library.
// Never pass a secret or a personal value to these functions.
#pragma once

#include <spdlog/spdlog.h>

namespace portail::log {

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::warn;

// Sets the global level from a name ("debug", "info", "warn", "error", "off").
inline void SetLevel(std::string_view name) {
  spdlog::set_level(spdlog::level::from_str(std::string(name)));
}

}  // namespace portail::log
