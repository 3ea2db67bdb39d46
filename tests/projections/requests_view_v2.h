// The requests view in its format 2 (JSON state rows): a reference for tests of RequestsView,
// whose read functions must return exactly what these return.
#pragma once

#include "projections/requests_view.h"

namespace portail::projections {

class RequestsViewV2 : public events::Projection {
 public:
  std::string_view name() const override { return "requests"; }
  uint32_t format_version() const override { return 2; }
  void Apply(const schema::EventRecord& event, events::ViewWriter& rows) override;

  static std::vector<RequestRow> List(const events::ViewReader& rows,
                                      const std::vector<std::string>& families,
                                      std::string_view account_id, const RequestFilter& filter,
                                      uint64_t before_position, size_t limit);
  static std::optional<RequestHistory> History(const events::ViewReader& rows,
                                               std::string_view request_id,
                                               std::string_view account_id);
  static std::vector<QueuedRequest> Queue(const events::ViewReader& rows,
                                          std::string_view activity_id, std::optional<int> day,
                                          std::string_view kind, uint64_t after_position,
                                          size_t limit);
  static std::vector<PendingCount> PendingByActivity(const events::ViewReader& rows);
};

}  // namespace portail::projections
