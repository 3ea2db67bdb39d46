// The small event the store's and the bus's tests append: an operator's note.
#pragma once

#include <string>

#include "schemas/events_generated.h"

namespace portail::testing {

inline schema::PayloadUnion Note(std::string text) {
  schema::OperatorNoteT note;
  note.text = std::move(text);
  schema::PayloadUnion payload;
  payload.Set(std::move(note));
  return payload;
}

}  // namespace portail::testing
