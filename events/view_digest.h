// A view's fingerprint: one hash over all its rows, to compare a rebuilt view with the live one.
#pragma once

#include <string>

#include "events/projection.h"

namespace portail::events {

// The hex BLAKE2b-256 of every row of `rows` in key order, each key and value written as a 4-byte
// big-endian length and its bytes; the checkpoint row is left out. Two views have the same
// digest exactly when they hold the same rows.
std::string ViewDigest(const ViewReader& rows);

}  // namespace portail::events
