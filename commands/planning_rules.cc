// The booking rules (see planning_rules.h).
#include "commands/planning_rules.h"

#include <algorithm>

#include "events/stored_event.h"

namespace portail::commands {
namespace {

using schema::BookingState;

constexpr std::string_view kKindNames[] = {"canteen",          "morning_care",   "evening_care",
                                           "wednesday_centre", "holiday_centre", "other"};

std::string Deadline(Micros deadline) { return ParisIso(deadline); }

Status Problem(ErrorCode code, std::string message) {
  return std::unexpected(Error(code, std::move(message)));
}

// The checks that both actions share: enrolled, open.
Status CheckOpen(const ActivityRules& activity, bool enrolled, Day day) {
  if (!activity.calendar.RunsOn(day)) {
    return Problem(ErrorCode::kActivityClosed,
                   activity.name + " does not run on " + FormatDay(day));
  }
  if (!enrolled) {
    return Problem(ErrorCode::kNotEnrolled,
                   "the child is not enrolled in " + activity.name + " on " + FormatDay(day));
  }
  return {};
}

}  // namespace

bool EnrolledOn(const std::vector<Enrolment>& enrolments, std::string_view activity_id, Day day) {
  return std::any_of(enrolments.begin(), enrolments.end(), [&](const Enrolment& e) {
    return e.activity_id == activity_id && e.Covers(day);
  });
}

Status CheckReservation(const ActivityRules& activity, bool enrolled, BookingState state, Day day,
                        Micros now) {
  if (auto open = CheckOpen(activity, enrolled, day); !open) return open;
  switch (state) {
    case BookingState::None:
    case BookingState::Refused:
      break;
    case BookingState::Reserved:
    case BookingState::AbsenceRequested:
      return Problem(ErrorCode::kAlreadyRequested, FormatDay(day) + " is already reserved");
    case BookingState::Absent:
      return Problem(ErrorCode::kAlreadyRequested, "an absence was accepted on " + FormatDay(day) +
                                                       "; ask the town to change it");
    case BookingState::ReservationRequested:
    case BookingState::WaitingList:
      return Problem(ErrorCode::kAlreadyRequested,
                     "a reservation is already requested on " + FormatDay(day));
  }
  Micros deadline = commands::Deadline(activity.reservation_notice, activity.calendar, day);
  if (now >= deadline) {
    return Problem(ErrorCode::kPastDeadline,
                   "reservations for " + FormatDay(day) + " closed at " + Deadline(deadline) +
                       " (" + DescribeNoticeRule(activity.reservation_notice) + ")");
  }
  return {};
}

Status CheckAbsence(const ActivityRules& activity, bool enrolled, BookingState state, Day day,
                    Micros now) {
  if (auto open = CheckOpen(activity, enrolled, day); !open) return open;
  if (state == BookingState::AbsenceRequested) {
    return Problem(ErrorCode::kAlreadyRequested,
                   "an absence is already requested on " + FormatDay(day));
  }
  if (state != BookingState::Reserved) {
    return Problem(ErrorCode::kNotReserved,
                   "an absence needs a reserved day; " + FormatDay(day) + " is not reserved");
  }
  Micros deadline = commands::Deadline(activity.absence_notice, activity.calendar, day);
  if (now >= deadline) {
    return Problem(ErrorCode::kPastDeadline, "absences for " + FormatDay(day) + " closed at " +
                                                 Deadline(deadline) + " (" +
                                                 DescribeNoticeRule(activity.absence_notice) + ")");
  }
  return {};
}

DayOptions OptionsOf(const ActivityRules& activity, bool enrolled, BookingState state, Day day,
                     Micros now) {
  DayOptions options;
  if (!activity.calendar.RunsOn(day) || !enrolled) return options;
  switch (state) {
    case BookingState::None:
    case BookingState::Refused:
      options.deadline = commands::Deadline(activity.reservation_notice, activity.calendar, day);
      options.can_reserve = now < options.deadline;
      break;
    case BookingState::Reserved:
      options.deadline = commands::Deadline(activity.absence_notice, activity.calendar, day);
      options.can_report_absence = now < options.deadline;
      break;
    case BookingState::ReservationRequested:
    case BookingState::WaitingList:
    case BookingState::AbsenceRequested:
      options.can_cancel = true;
      break;
    case BookingState::Absent:
      break;
  }
  return options;
}

Status CheckActivity(const ActivityRules& a) {
  std::vector<FieldError> problems;
  if (a.name.empty() || a.name.size() > 100) {
    problems.push_back({"name", "must be 1 to 100 characters"});
  }
  if ((a.calendar.weekdays & kEveryDay) == 0) {
    problems.push_back({"weekdays", "must name at least one day"});
  }
  for (const auto& [from, to] : a.calendar.periods) {
    if (to < from) problems.push_back({"periods", "a period must not end before it starts"});
  }
  if (a.capacity < 1 || a.capacity > 100000) {
    problems.push_back({"capacity", "must be from 1 to 100000"});
  }
  if (auto p = NoticeRuleProblem(a.reservation_notice)) {
    problems.push_back({"reservation_notice", *p});
  }
  if (auto p = NoticeRuleProblem(a.absence_notice)) problems.push_back({"absence_notice", *p});
  if (problems.empty()) return {};
  std::string message = problems.front().field + " " + problems.front().message;
  return std::unexpected(Error(ErrorCode::kInvalid, std::move(message), std::move(problems)));
}

NoticeRule NoticeOf(const schema::Notice* notice) {
  NoticeRule rule;
  if (notice == nullptr) return rule;
  rule.kind = notice->kind() == schema::NoticeKind::WorkingDaysBefore
                  ? NoticeRule::Kind::kWorkingDaysBefore
                  : NoticeRule::Kind::kDaysBeforeAt;
  rule.days = notice->days();
  rule.at_minutes = notice->at_minutes();
  return rule;
}

std::unique_ptr<schema::NoticeT> NoticeT(const NoticeRule& rule) {
  auto notice = std::make_unique<schema::NoticeT>();
  notice->kind = rule.kind == NoticeRule::Kind::kWorkingDaysBefore
                     ? schema::NoticeKind::WorkingDaysBefore
                     : schema::NoticeKind::DaysBeforeAt;
  notice->days = rule.days;
  notice->at_minutes = rule.at_minutes;
  return notice;
}

ActivityRules RulesOf(const schema::ActivityDefined& d) {
  ActivityRules rules;
  rules.id = events::Str(d.activity_id());
  rules.name = events::Str(d.name());
  rules.kind = d.kind();
  rules.calendar.weekdays = d.weekdays();
  if (d.periods() != nullptr) {
    for (const auto* p : *d.periods()) {
      rules.calendar.periods.emplace_back(DayOf(p->from()), DayOf(p->to()));
    }
  }
  if (d.closed_days() != nullptr) {
    for (int day : *d.closed_days()) rules.calendar.closed_days.insert(DayOf(day));
  }
  rules.capacity = d.capacity();
  rules.reservation_notice = NoticeOf(d.reservation_notice());
  rules.absence_notice = NoticeOf(d.absence_notice());
  rules.automatic = d.mode() == schema::DecisionMode::Automatic;
  return rules;
}

std::string_view BookingStateName(BookingState state) {
  switch (state) {
    case BookingState::None:
      return "enrolled";
    case BookingState::ReservationRequested:
      return "reservation_requested";
    case BookingState::Reserved:
      return "reserved";
    case BookingState::Refused:
      return "refused";
    case BookingState::WaitingList:
      return "waiting_list";
    case BookingState::AbsenceRequested:
      return "absence_requested";
    case BookingState::Absent:
      return "absence_accepted";
  }
  return "enrolled";
}

std::string_view ActivityKindName(schema::ActivityKind kind) {
  auto index = static_cast<size_t>(kind);
  return index < std::size(kKindNames) ? kKindNames[index] : "other";
}

bool ParseActivityKind(std::string_view name, schema::ActivityKind* kind) {
  for (size_t i = 0; i < std::size(kKindNames); ++i) {
    if (kKindNames[i] == name) {
      *kind = static_cast<schema::ActivityKind>(i);
      return true;
    }
  }
  return false;
}

}  // namespace portail::commands
