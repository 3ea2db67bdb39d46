// ViewDigest: BLAKE2b over a view's rows in key order.
#include "events/view_digest.h"

#include <sodium.h>

#include <array>
#include <cstdint>

namespace portail::events {
namespace {

// Rows are gathered into a buffer hashed 64 KiB at a time: four small updates per row would cost
// more than the hashing itself. The bytes hashed, hence the digest, are the same.
constexpr size_t kHashChunk = 64 << 10;

void AddField(std::string& buffer, std::string_view bytes) {
  uint32_t n = static_cast<uint32_t>(bytes.size());
  const char length[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                          static_cast<char>(n >> 8), static_cast<char>(n)};
  buffer.append(length, sizeof length);
  buffer.append(bytes);
}

void Hash(crypto_generichash_state& state, std::string& buffer) {
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(buffer.data()),
                            buffer.size());
  buffer.clear();
}

crypto_generichash_state& State(unsigned char* bytes) {
  return *reinterpret_cast<crypto_generichash_state*>(bytes);
}

}  // namespace

ViewDigester::ViewDigester() {
  static_assert(sizeof(state_) >= sizeof(crypto_generichash_state) &&
                alignof(ViewDigester) >= alignof(crypto_generichash_state));
  crypto_generichash_init(&State(state_), nullptr, 0, 32);
  buffer_.reserve(kHashChunk + 1024);
}

void ViewDigester::Add(std::string_view key, std::string_view value) {
  AddField(buffer_, key);
  AddField(buffer_, value);
  if (buffer_.size() >= kHashChunk) Hash(State(state_), buffer_);
}

std::string ViewDigester::Finish() {
  Hash(State(state_), buffer_);
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
