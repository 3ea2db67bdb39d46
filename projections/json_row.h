// Rows kept as JSON objects (a view's internal state): read back, or nothing when absent or not
// a JSON object.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace portail::projections {

inline std::optional<nlohmann::json> JsonRow(const std::optional<std::string>& value) {
  if (!value) return std::nullopt;
  nlohmann::json row = nlohmann::json::parse(*value, nullptr, false);
  if (row.is_discarded() || !row.is_object()) return std::nullopt;
  return row;
}

}  // namespace portail::projections
