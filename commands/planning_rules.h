// The booking rules of the planning: whether a child may have a day reserved or reported absent,
// and until when. One implementation for the deciders and for the planning's "can change" flags;
// pure functions of plain values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "commands/calendar.h"
#include "events/error.h"
#include "schemas/events_generated.h"

namespace portail::commands {

// An activity as the rules need it.
struct ActivityRules {
  std::string id;
  std::string name;
  schema::ActivityKind kind = schema::ActivityKind::Canteen;
  ActivityCalendar calendar;
  int capacity = 0;
  NoticeRule reservation_notice;
  NoticeRule absence_notice;
  bool automatic = false;  // accept while places last, else waiting list
};

// A child's enrolment in an activity.
struct Enrolment {
  std::string id;
  std::string activity_id;
  Day from;
  Day to;
  uint8_t weekdays = 0;
  bool Covers(Day day) const { return day >= from && day <= to && (weekdays & WeekdayBit(day)); }
};

// Whether `enrolments` enrol the child in `activity_id` on `day`.
bool EnrolledOn(const std::vector<Enrolment>& enrolments, std::string_view activity_id, Day day);

// What a family may still do with one child's day of one activity.
struct DayOptions {
  bool can_reserve = false;
  bool can_report_absence = false;
  bool can_cancel = false;  // a pending request (reservation, waiting list, absence)
  Micros deadline = 0;      // until when the action it allows is possible (0: none)
};

// Ok, or the rule that forbids reserving `day` (kNotEnrolled, kActivityClosed,
// kAlreadyRequested, kPastDeadline; the message names the day and the deadline).
Status CheckReservation(const ActivityRules& activity, bool enrolled, schema::BookingState state,
                        Day day, Micros now);
// Ok, or the rule that forbids reporting an absence on `day` (kNotReserved, kPastDeadline...).
Status CheckAbsence(const ActivityRules& activity, bool enrolled, schema::BookingState state,
                    Day day, Micros now);
// The options of a planning cell (the same rules as the two checks).
DayOptions OptionsOf(const ActivityRules& activity, bool enrolled, schema::BookingState state,
                     Day day, Micros now);

// Checks a definition: name, weekdays, periods, capacity, notice rules; kInvalid per field.
Status CheckActivity(const ActivityRules& activity);

// Conversions between the rules' values and the event schema's.
ActivityRules RulesOf(const schema::ActivityDefined& defined);
NoticeRule NoticeOf(const schema::Notice* notice);
std::unique_ptr<schema::NoticeT> NoticeT(const NoticeRule& rule);
inline Day DayOf(int days) { return Day(std::chrono::days(days)); }
inline int DaysOf(Day day) { return static_cast<int>(day.time_since_epoch().count()); }

// Wire names of states and kinds ("reservation_requested", "canteen"...).
std::string_view BookingStateName(schema::BookingState state);
std::string_view ActivityKindName(schema::ActivityKind kind);
bool ParseActivityKind(std::string_view name, schema::ActivityKind* kind);

}  // namespace portail::commands
