// The families view: families by id, by subscriber code, and the accounts subscribed to each.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "events/projection.h"

namespace portail::projections {

struct FamilyRow {
  std::string id;
  std::string name;
  int64_t created_at_us = 0;
  int64_t code_changed_at_us = 0;
  std::vector<std::string> accounts;  // subscribed account ids
};

class FamiliesView : public events::Projection {
 public:
  std::string_view name() const override { return "families"; }
  bool Folds(schema::Payload type) const override;
  void Apply(const schema::EventRecord& event, events::ViewWriter& rows) override;

  static std::optional<FamilyRow> Family(const events::ViewReader& rows, std::string_view id);
  static std::optional<std::string> FamilyIdByCode(const events::ViewReader& rows,
                                                   std::string_view code_hash);
  // Families whose name or id contains `query` (case-insensitive), at most `limit`, by id.
  static std::vector<FamilyRow> Search(const events::ViewReader& rows, std::string_view query,
                                       size_t limit);
};

}  // namespace portail::projections
