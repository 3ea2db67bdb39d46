// ViewDigest: BLAKE2b over a view's rows in key order.
#include "events/view_digest.h"

#include <sodium.h>

#include <array>
#include <cstdint>

namespace portail::events {
namespace {

void AddField(crypto_generichash_state& state, std::string_view bytes) {
  uint32_t n = static_cast<uint32_t>(bytes.size());
  std::array<unsigned char, 4> length = {
      static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
      static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
  crypto_generichash_update(&state, length.data(), length.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(bytes.data()),
                            bytes.size());
}

}  // namespace

std::string ViewDigest(const ViewReader& rows) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  rows.Scan("", [&state](std::string_view key, std::string_view value) {
    AddField(state, key);
    AddField(state, value);
    return true;
  });
  std::array<unsigned char, 32> hash;
  crypto_generichash_final(&state, hash.data(), hash.size());
  std::string hex(hash.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), hash.data(), hash.size());
  hex.pop_back();
  return hex;
}

}  // namespace portail::events
