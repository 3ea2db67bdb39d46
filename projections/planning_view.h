// The planning view: activities as defined, children's enrolments, children's names and colours,
// and each child's booking state per day and activity, keyed for the planning query (one family,
// a few children, a month), with per-family versions so a rendered planning can be cached.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "events/projection.h"

namespace portail::projections {

// A notice rule as defined ("N days before at HH:MM" or "N working days before").
struct PlanningNotice {
  schema::NoticeKind kind = schema::NoticeKind::DaysBeforeAt;
  int days = 0;
  int at_minutes = 24 * 60;
};

// An activity's latest definition. Days are days since 1970-01-01 (Paris calendar days).
struct PlanningActivity {
  std::string id;
  std::string name;
  schema::ActivityKind kind = schema::ActivityKind::Canteen;
  uint8_t weekdays = 0;                      // bit 0 = Monday ... bit 6 = Sunday
  std::vector<std::pair<int, int>> periods;  // inclusive; none: open all year
  std::vector<int> closed_days;
  int capacity = 0;
  PlanningNotice reservation_notice;
  PlanningNotice absence_notice;
  schema::DecisionMode mode = schema::DecisionMode::Agent;
};

// A child's enrolment in an activity (to < from: ended before it began).
struct PlanningEnrolment {
  std::string id;
  std::string activity_id;
  int from = 0;
  int to = 0;
  uint8_t weekdays = 0;
  bool Covers(int day) const;
};

// A child of a family as the planning shows it.
struct PlanningChild {
  std::string id;
  std::string first_name;
  std::string last_name;
  std::string colour;  // "#rrggbb"
  std::string name() const;
};

// A child's booking for one activity on one day; absent when its state is None.
struct PlanningCell {
  int day = 0;
  std::string activity_id;
  schema::BookingState state = schema::BookingState::None;
  std::string request_id;
  std::string reason;
};

// Rows: "a/<activity>" the definition; "k/<child>" the child's family; "e/<family>/<child>/<
// enrolment>" enrolments; "c/<family>/<child>" children (added position, names, colour; deleted
// when the child leaves the file); "m/<family>/<child>/<month 2B>" the child's cells of a month,
// one row (a month of the planning is one read per child, a booking one row rewritten): cells in
// (day, activity) order, each <day 4B><activity length 2B><activity><state 1B><request length
// 2B><request><reason length 2B><reason>, days and lengths big-endian; "v/<family>" and "g" the
// position of the last event that changed the family's planning, or any activity.
class PlanningView : public events::Projection {
 public:
  std::string_view name() const override { return "planning"; }
  // 2: a month's cells in one row (1: a row per cell).
  uint32_t format_version() const override { return 2; }
  bool Folds(schema::Payload type) const override;
  void Apply(const schema::EventRecord& event, events::ViewWriter& rows) override;

  // The activity's latest definition; nullopt if it was never defined.
  static std::optional<PlanningActivity> Activity(const events::ViewReader& rows,
                                                  std::string_view activity_id);
  // Every activity, by id.
  static std::vector<PlanningActivity> Activities(const events::ViewReader& rows);
  // The enrolments of a family's child, by enrolment id.
  static std::vector<PlanningEnrolment> Enrolments(const events::ViewReader& rows,
                                                   std::string_view family_id,
                                                   std::string_view child_id);
  // The family's children still in its file, in the order they were added.
  static std::vector<PlanningChild> Children(const events::ViewReader& rows,
                                             std::string_view family_id);
  // The child's cells from `from_day` to `to_day` inclusive, by day then activity id: one prefix
  // scan per calendar month touched.
  static std::vector<PlanningCell> Cells(const events::ViewReader& rows, std::string_view family_id,
                                         std::string_view child_id, int from_day, int to_day);
  // A value that changes whenever what the family's planning shows may change (its children,
  // enrolments or cells): the position of the last such event, 0 if none.
  static uint64_t Version(const events::ViewReader& rows, std::string_view family_id);
  // The position of the last activity definition, 0 if none: it changes every family's planning.
  static uint64_t ActivitiesVersion(const events::ViewReader& rows);
};

}  // namespace portail::projections
