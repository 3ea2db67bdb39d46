// Booking-calendar rules over the Europe/Paris zone of the system tz database.
#include "commands/calendar.h"

#include <date/tz.h>

#include <algorithm>
#include <array>
#include <cstdio>

namespace portail::commands {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kSecondsPerDay = 86'400;
constexpr int kMinutesPerDay = 24 * 60;
constexpr int kMaxNoticeDays = 60;

constexpr std::array<std::string_view, 7> kWeekdayNames = {"mon", "tue", "wed", "thu",
                                                           "fri", "sat", "sun"};

const date::time_zone& Paris() {
  static const date::time_zone* const zone = date::locate_zone("Europe/Paris");
  return *zone;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Seconds since the epoch (floored) and the Paris UTC offset in seconds at that instant.
std::pair<int64_t, int64_t> SecondsAndOffset(Micros instant) {
  int64_t seconds = FloorDiv(instant, kMicrosPerSecond);
  date::sys_info info = Paris().get_info(date::sys_seconds{std::chrono::seconds{seconds}});
  return {seconds, info.offset.count()};
}

Day DayOfEpochSeconds(int64_t seconds) {
  return Day{std::chrono::days{FloorDiv(seconds, kSecondsPerDay)}};
}

bool IsWorkingDay(const ActivityCalendar& calendar, Day day) {
  return (WeekdayBit(day) & kMondayToFriday) != 0 && !calendar.closed_days.contains(day);
}

std::string HourMinute(int minutes) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%02d:%02d", minutes / 60, minutes % 60);
  return buffer;
}

Day EasterSunday(int year) {
  // The anonymous Gregorian algorithm (Meeus/Jones/Butcher).
  int a = year % 19;
  int b = year / 100;
  int c = year % 100;
  int d = b / 4;
  int e = b % 4;
  int f = (b + 8) / 25;
  int g = (b - f + 1) / 3;
  int h = (19 * a + b - d - g + 15) % 30;
  int i = c / 4;
  int k = c % 4;
  int l = (32 + 2 * e + 2 * i - h - k) % 7;
  int m = (a + 11 * h + 22 * l) / 451;
  int month = (h + l - 7 * m + 114) / 31;
  int day = (h + l - 7 * m + 114) % 31 + 1;
  return Day{std::chrono::year{year} / month / day};
}

}  // namespace

Day ParisDay(Micros instant) {
  auto [seconds, offset] = SecondsAndOffset(instant);
  return DayOfEpochSeconds(seconds + offset);
}

Micros ParisInstant(Day day, int minutes_of_day) {
  int64_t local =
      int64_t{day.time_since_epoch().count()} * kSecondsPerDay + int64_t{minutes_of_day} * 60;
  date::sys_seconds utc =
      Paris().to_sys(date::local_seconds{std::chrono::seconds{local}}, date::choose::earliest);
  return utc.time_since_epoch().count() * kMicrosPerSecond;
}

std::string ParisIso(Micros instant) {
  auto [seconds, offset] = SecondsAndOffset(instant);
  int64_t local = seconds + offset;
  Day day = DayOfEpochSeconds(local);
  int64_t in_day = local - int64_t{day.time_since_epoch().count()} * kSecondsPerDay;
  int64_t offset_minutes = offset < 0 ? -offset / 60 : offset / 60;
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%sT%02d:%02d:%02d%c%02d:%02d", FormatDay(day).c_str(),
                static_cast<int>(in_day / 3600), static_cast<int>(in_day / 60 % 60),
                static_cast<int>(in_day % 60), offset < 0 ? '-' : '+',
                static_cast<int>(offset_minutes / 60), static_cast<int>(offset_minutes % 60));
  return buffer;
}

std::optional<Day> ParseDay(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int fields[3] = {0, 0, 0};
  int field = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == 4 || i == 7) {
      ++field;
      continue;
    }
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    fields[field] = fields[field] * 10 + (text[i] - '0');
  }
  std::chrono::year_month_day ymd{std::chrono::year{fields[0]},
                                  std::chrono::month{static_cast<unsigned>(fields[1])},
                                  std::chrono::day{static_cast<unsigned>(fields[2])}};
  if (!ymd.ok()) return std::nullopt;
  return Day{ymd};
}

std::string FormatDay(Day day) {
  std::chrono::year_month_day ymd{day};
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buffer;
}

uint8_t WeekdayBit(Day day) {
  return static_cast<uint8_t>(1u << (std::chrono::weekday{day}.iso_encoding() - 1));
}

Result<uint8_t> ParseWeekdays(std::span<const std::string> names) {
  uint8_t mask = 0;
  for (const std::string& name : names) {
    auto it = std::find(kWeekdayNames.begin(), kWeekdayNames.end(), name);
    if (it == kWeekdayNames.end()) {
      return Fail(ErrorCode::kInvalid, "unknown weekday \"" + name +
                                           "\" (expected mon, tue, wed, thu, fri, sat or sun)");
    }
    mask |= static_cast<uint8_t>(1u << (it - kWeekdayNames.begin()));
  }
  return mask;
}

std::vector<std::string> WeekdayNames(uint8_t mask) {
  std::vector<std::string> names;
  for (size_t i = 0; i < kWeekdayNames.size(); ++i) {
    if (mask & (1u << i)) names.emplace_back(kWeekdayNames[i]);
  }
  return names;
}

bool ActivityCalendar::RunsOn(Day day) const {
  if ((weekdays & WeekdayBit(day)) == 0 || closed_days.contains(day)) return false;
  if (periods.empty()) return true;
  return std::any_of(periods.begin(), periods.end(), [day](const std::pair<Day, Day>& period) {
    return period.first <= day && day <= period.second;
  });
}

Micros Deadline(const NoticeRule& rule, const ActivityCalendar& calendar, Day day) {
  Day last = day;
  switch (rule.kind) {
    case NoticeRule::Kind::kDaysBeforeAt:
      last = day - std::chrono::days{rule.days};
      break;
    case NoticeRule::Kind::kWorkingDaysBefore:
      // Ends: closed_days is finite, so past its first element every Monday-Friday counts.
      for (int counted = 0; counted < rule.days;) {
        last -= std::chrono::days{1};
        if (IsWorkingDay(calendar, last)) ++counted;
      }
      break;
  }
  return ParisInstant(last, rule.at_minutes);
}

bool BeforeDeadline(const NoticeRule& rule, const ActivityCalendar& calendar, Day day, Micros now) {
  return now < Deadline(rule, calendar, day);
}

std::string DescribeNoticeRule(const NoticeRule& rule) {
  std::string at = " at " + HourMinute(rule.at_minutes);
  if (rule.days == 0) return "same day" + at;
  std::string count = std::to_string(rule.days);
  switch (rule.kind) {
    case NoticeRule::Kind::kDaysBeforeAt:
      return count + (rule.days == 1 ? " day" : " days") + " before" + at;
    case NoticeRule::Kind::kWorkingDaysBefore:
      return count + (rule.days == 1 ? " working day" : " working days") + " before" +
             (rule.at_minutes == kMinutesPerDay ? "" : at);
  }
  return count + " days before" + at;
}

std::optional<std::string> NoticeRuleProblem(const NoticeRule& rule) {
  if (rule.kind != NoticeRule::Kind::kDaysBeforeAt &&
      rule.kind != NoticeRule::Kind::kWorkingDaysBefore) {
    return "unknown notice kind";
  }
  if (rule.days < 0 || rule.days > kMaxNoticeDays) {
    return "notice days must be between 0 and " + std::to_string(kMaxNoticeDays);
  }
  if (rule.at_minutes < 0 || rule.at_minutes > kMinutesPerDay) {
    return "notice time must be between 00:00 and 24:00";
  }
  return std::nullopt;
}

std::vector<Day> DaysInRange(Day from, Day to, uint8_t weekdays) {
  std::vector<Day> days;
  for (Day day = from; day <= to; day += std::chrono::days{1}) {
    if (weekdays & WeekdayBit(day)) days.push_back(day);
  }
  return days;
}

std::set<Day> FrenchPublicHolidays(int year) {
  using std::chrono::days;
  std::chrono::year y{year};
  Day easter = EasterSunday(year);
  return {
      Day{y / 1 / 1},    easter + days{1},  Day{y / 5 / 1},   Day{y / 5 / 8},
      easter + days{39}, easter + days{50}, Day{y / 7 / 14},  Day{y / 8 / 15},
      Day{y / 11 / 1},   Day{y / 11 / 11},  Day{y / 12 / 25},
  };
}

std::pair<Day, Day> MonthOf(Day day) {
  std::chrono::year_month_day ymd{day};
  return {Day{ymd.year() / ymd.month() / 1}, Day{ymd.year() / ymd.month() / std::chrono::last}};
}

std::pair<Day, Day> WeekOf(Day day, int days) {
  Day monday = day - std::chrono::days{std::chrono::weekday{day}.iso_encoding() - 1};
  return {monday, monday + std::chrono::days{std::clamp(days, 1, 7) - 1}};
}

}  // namespace portail::commands
