// JSON written as text, for answers and rows rendered without building a JSON tree.
#pragma once

#include <string>
#include <string_view>

namespace portail::projections {

// Appends `text` as a JSON string: quotes, backslashes and control characters escaped; other
// bytes as they are.
inline void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace portail::projections
