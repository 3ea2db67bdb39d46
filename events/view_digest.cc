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

crypto_generichash_state& State(unsigned char* bytes) {
  return *reinterpret_cast<crypto_generichash_state*>(bytes);
}

}  // namespace

ViewDigester::ViewDigester() {
  static_assert(sizeof(state_) >= sizeof(crypto_generichash_state) &&
                alignof(ViewDigester) >= alignof(crypto_generichash_state));
  crypto_generichash_init(&State(state_), nullptr, 0, 32);
}

void ViewDigester::Add(std::string_view key, std::string_view value) {
  AddField(State(state_), key);
  AddField(State(state_), value);
}

std::string ViewDigester::Finish() {
  std::array<unsigned char, 32> hash;
  crypto_generichash_final(&State(state_), hash.data(), hash.size());
  std::string hex(hash.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), hash.data(), hash.size());
  hex.pop_back();
  return hex;
}

std::string ViewDigest(const ViewReader& rows) {
  ViewDigester digester;
  rows.Scan("", [&digester](std::string_view key, std::string_view value) {
    digester.Add(key, value);
    return true;
  });
  return digester.Finish();
}

}  // namespace portail::events
