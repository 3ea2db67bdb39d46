// A view built from the log: the interface every projection implements, and its storage ports.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "schemas/events_generated.h"

namespace portail::events {

// Write access to one projection's rows inside the batch being appended. Get() sees the rows
// already written earlier in the same batch. Not thread-safe; valid only during Apply().
class ViewWriter {
 public:
  virtual ~ViewWriter() = default;
  virtual void Put(std::string_view key, std::string_view value) = 0;
  virtual void Delete(std::string_view key) = 0;
  virtual std::optional<std::string> Get(std::string_view key) = 0;
};

// Read access to one projection's committed rows. Thread-safe.
class ViewReader {
 public:
  virtual ~ViewReader() = default;
  virtual std::optional<std::string> Get(std::string_view key) const = 0;
  // Calls `fn(key, value)` for each row whose key starts with `prefix`, in key order, until it
  // returns false.
  virtual void Scan(std::string_view prefix,
                    const std::function<bool(std::string_view, std::string_view)>& fn) const = 0;
};

// A projection turns events into rows of its own column family. Apply() must be a pure function
// of the event and the rows it reads: the same code runs inline on append and in replay. The store
// keeps the projection's checkpoint (last applied position) next to its rows, in the same batch.
class Projection {
 public:
  virtual ~Projection() = default;
  // A stable name; also the column family's name ("view.<name>").
  virtual std::string_view name() const = 0;
  // The encoding of the view's rows. The store records it per view; when it differs from the one
  // recorded, the view's rows are dropped at Open and rebuilt from the start of the log. Bump it
  // whenever Apply() writes rows that older read code could not read (or the reverse).
  virtual uint32_t format_version() const { return 1; }
  // Whether events of `type` can change the view's rows. The store and the rebuild call Apply()
  // only for those (a rebuild skips the others without reading them), so a view that declares
  // fewer types than it folds is wrong everywhere, never only in one place. Default: every type.
  virtual bool Folds(schema::Payload type) const {
    (void)type;
    return true;
  }
  virtual void Apply(const schema::EventRecord& event, ViewWriter& rows) = 0;
};

}  // namespace portail::events
