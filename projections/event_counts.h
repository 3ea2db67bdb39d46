// A small view of the log's shape: how many events of each type were appended.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "events/projection.h"

namespace portail::projections {

class EventCounts : public events::Projection {
 public:
  std::string_view name() const override { return "event_counts"; }
  void Apply(const schema::EventRecord& event, events::ViewWriter& rows) override;

  // Event counts by type name, from committed rows.
  static std::map<std::string, uint64_t> Read(const events::ViewReader& rows);
};

}  // namespace portail::projections
