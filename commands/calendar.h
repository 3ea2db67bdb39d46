// Booking-calendar rules: Paris days and instants, weekdays, opening calendars and notice
// deadlines. Every function is pure and thread-safe; the deciders and the planning view share them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "commands/clock.h"
#include "events/error.h"

namespace portail::commands {

// A calendar day, with no time zone attached (days since 1970-01-01).
using Day = std::chrono::sys_days;

// The Europe/Paris calendar day on which `instant` falls. The Paris zone comes from the system tz
// database; a missing database throws std::runtime_error on the first call of any Paris function.
Day ParisDay(Micros instant);

// The instant of Paris local time `day` + `minutes_of_day` (0..1440; 1440 is the next midnight).
// A local time skipped by the spring change maps to the end of the gap (03:00 local); a local time
// repeated by the autumn change maps to its earlier occurrence.
Micros ParisInstant(Day day, int minutes_of_day);

// `instant` as Paris local time with its offset, to the second: "2026-12-03T15:00:00+01:00".
std::string ParisIso(Micros instant);

// The day written "YYYY-MM-DD" (exactly that shape, a real date); nullopt otherwise.
std::optional<Day> ParseDay(std::string_view text);

// `day` as "YYYY-MM-DD".
std::string FormatDay(Day day);

// Weekday masks: bit 0 is Monday ... bit 6 is Sunday.
inline constexpr uint8_t kMonday = 1 << 0;
inline constexpr uint8_t kTuesday = 1 << 1;
inline constexpr uint8_t kWednesday = 1 << 2;
inline constexpr uint8_t kThursday = 1 << 3;
inline constexpr uint8_t kFriday = 1 << 4;
inline constexpr uint8_t kSaturday = 1 << 5;
inline constexpr uint8_t kSunday = 1 << 6;
inline constexpr uint8_t kMondayToFriday = 0x1f;
inline constexpr uint8_t kEveryDay = 0x7f;

// The single bit of `day`'s weekday.
uint8_t WeekdayBit(Day day);

// The mask of weekday names "mon" ... "sun" (lower case); kInvalid naming the first other name.
Result<uint8_t> ParseWeekdays(std::span<const std::string> names);

// The names of the weekdays set in `mask`, Monday first.
std::vector<std::string> WeekdayNames(uint8_t mask);

// When an activity runs.
struct ActivityCalendar {
  uint8_t weekdays = kEveryDay;              // the weekdays it runs on
  std::vector<std::pair<Day, Day>> periods;  // inclusive opening periods; empty: always open
  std::set<Day> closed_days;  // closures; also the non-working days of working-day notices

  // Whether the activity runs on `day`: a listed weekday, inside a period, not closed.
  bool RunsOn(Day day) const;
};

// How long before a day a booking for it may still be changed (the délai de prévenance).
struct NoticeRule {
  enum class Kind {
    kDaysBeforeAt,       // `days` calendar days before the day, at `at_minutes` Paris time
    kWorkingDaysBefore,  // the `days`-th working day before the day, at `at_minutes` Paris time
  };
  Kind kind = Kind::kDaysBeforeAt;
  int days = 0;
  int at_minutes = 24 * 60;  // minutes after local midnight; 1440 is the end of the day
};

// The last instant (exclusive) at which a booking for `day` may change under `rule`. Working days
// are Monday to Friday not in `calendar.closed_days` (so public holidays count only when listed
// there); counting starts strictly before `day`, and 0 working days means `day` itself.
Micros Deadline(const NoticeRule& rule, const ActivityCalendar& calendar, Day day);

// Whether `now` is strictly before the deadline, i.e. the booking may still change.
bool BeforeDeadline(const NoticeRule& rule, const ActivityCalendar& calendar, Day day, Micros now);

// The rule in plain English: "1 day before at 15:00", "2 working days before".
std::string DescribeNoticeRule(const NoticeRule& rule);

// What is wrong with `rule` (days outside 0..60, at_minutes outside 0..1440); nullopt if valid.
std::optional<std::string> NoticeRuleProblem(const NoticeRule& rule);

// The days from `from` to `to` inclusive whose weekday is in `weekdays`, in order.
std::vector<Day> DaysInRange(Day from, Day to, uint8_t weekdays);

// The French public holidays of `year`: 1 Jan, Easter Monday, 1 and 8 May, Ascension, Whit Monday,
// 14 Jul, 15 Aug, 1 and 11 Nov, 25 Dec.
std::set<Day> FrenchPublicHolidays(int year);

// The first and last day of `day`'s month.
std::pair<Day, Day> MonthOf(Day day);

// The Monday of `day`'s week and the day `days` - 1 after it: days = 7 gives Monday to Sunday,
// days = 5 Monday to Friday (`days` is 1..7).
std::pair<Day, Day> WeekOf(Day day, int days);

}  // namespace portail::commands
