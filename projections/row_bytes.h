// Fixed-width integers in views' rows and keys, big-endian so that keys sort as the numbers do.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace portail::projections {

// Appends the last `bytes` bytes (at most 8) of `v`, big-endian.
inline void AppendBigEndian(std::string& out, uint64_t v, int bytes = 8) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

inline std::string BigEndian(uint64_t v, int bytes = 8) {
  std::string out;
  AppendBigEndian(out, v, bytes);
  return out;
}

// The number in the first (at most 8) bytes of `bytes`, big-endian.
inline uint64_t FromBigEndian(std::string_view bytes) {
  uint64_t v = 0;
  for (char c : bytes.substr(0, 8)) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

}  // namespace portail::projections
