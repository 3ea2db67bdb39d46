// The family file view: each family's file (current values, pending proposals, the version that
// is its ETag), rendered when read; the history of its changes; and the agents' queue of pending
// changes across families.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "events/projection.h"

namespace portail::projections {

// A family file ready to send: `body` is the JSON document.
struct DossierDocument {
  uint64_t version = 0;
  std::string body;
};

// A pending change in the agents' queue.
struct QueuedChange {
  uint64_t position = 0;  // of the proposal: the queue's order and paging cursor
  std::string family_id;
  std::string json;  // the change with the diff against current values
};

class DossierView : public events::Projection {
 public:
  std::string_view name() const override { return "dossier"; }
  // 2: one row per member and per change instead of the whole file's state and its renderings.
  uint32_t format_version() const override { return 2; }
  bool Folds(schema::Payload type) const override;
  void Apply(const schema::EventRecord& event, events::ViewWriter& rows) override;

  // The version of the file of `family_id` (its ETag; changes with every change to the file),
  // reading one small row; 0: the family has no file yet.
  static uint64_t Version(const events::ViewReader& rows, std::string_view family_id);

  // The file of `family_id`: IBANs masked; `redacted` leaves out sensitive sections (for
  // readers who are neither subscribed nor agents). Rendered from the family's rows, read at one
  // snapshot. nullopt: the family has no file yet.
  static std::optional<DossierDocument> Document(const events::ViewReader& rows,
                                                 std::string_view family_id, bool redacted);
  // The bank section of a guardian with the IBAN in full (the guardian's edit view), as JSON.
  static std::optional<std::string> BankSection(const events::ViewReader& rows,
                                                std::string_view family_id,
                                                std::string_view member_id);
  // The history of the file, oldest first, as a JSON array; `member_id` filters (empty: all);
  // `redacted` drops the values of sensitive sections.
  static std::string History(const events::ViewReader& rows, std::string_view family_id,
                             std::string_view member_id, bool redacted);
  // Pending changes of every family, oldest first, after `after_position`; `section` filters
  // (empty: all).
  static std::vector<QueuedChange> Queue(const events::ViewReader& rows, std::string_view section,
                                         uint64_t after_position, size_t limit);
  // Whether a photo of this name is in the family's file (current or pending).
  static bool HasPhoto(const events::ViewReader& rows, std::string_view family_id,
                       std::string_view photo);
};

}  // namespace portail::projections
