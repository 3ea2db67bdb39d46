// A view's fingerprint: one hash over all its rows, to compare a rebuilt view with the live one.
#pragma once

#include <string>
#include <string_view>

#include "events/projection.h"

namespace portail::events {

// The hex BLAKE2b-256 of every row of `rows` in key order, each key and value written as a 4-byte
// big-endian length and its bytes; the checkpoint row is left out. Two views have the same
// digest exactly when they hold the same rows.
std::string ViewDigest(const ViewReader& rows);

// ViewDigest() of rows given one by one, in key order, checkpoint row left out.
class ViewDigester {
 public:
  ViewDigester();
  void Add(std::string_view key, std::string_view value);
  std::string Finish();

 private:
  // libsodium's crypto_generichash_state, kept opaque here (checked in view_digest.cc).
  alignas(64) unsigned char state_[384];
  std::string buffer_;  // rows not hashed yet
};

}  // namespace portail::events
