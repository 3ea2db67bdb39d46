// Tests of the booking-calendar rules: Paris days and instants across DST, weekdays, opening
// calendars, notice deadlines, public holidays and planning periods. No clock is read.
#include "commands/calendar.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace portail::commands {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;
using ::testing::Pair;

constexpr Micros kSecond = 1'000'000;
constexpr int kEndOfDay = 24 * 60;

Day D(int year, unsigned month, unsigned day) { return Day{std::chrono::year{year} / month / day}; }

// Epoch seconds below were checked with `date -u -d <ISO> +%s`.
Micros AtUtcSeconds(int64_t seconds) { return seconds * kSecond; }

NoticeRule DaysBeforeAt(int days, int hour, int minute = 0) {
  return NoticeRule{
      .kind = NoticeRule::Kind::kDaysBeforeAt, .days = days, .at_minutes = hour * 60 + minute};
}

NoticeRule WorkingDaysBefore(int days, int at_minutes = kEndOfDay) {
  return NoticeRule{
      .kind = NoticeRule::Kind::kWorkingDaysBefore, .days = days, .at_minutes = at_minutes};
}

// An every-day calendar with no periods, closed on `days`.
ActivityCalendar ClosedOn(std::set<Day> days) {
  ActivityCalendar calendar;
  calendar.closed_days = std::move(days);
  return calendar;
}

// --- Paris days and instants ---

TEST(CalendarParisTest, ParisDayTurnsAtParisMidnightInWinter) {
  // 2026-01-15T22:59:59Z is 23:59:59+01:00; 2026-01-15T23:30:00Z is already the 16th in Paris.
  EXPECT_EQ(ParisDay(AtUtcSeconds(1768517999)), D(2026, 1, 15));
  EXPECT_EQ(ParisDay(AtUtcSeconds(1768519800)), D(2026, 1, 16));
}

TEST(CalendarParisTest, ParisDayTurnsAtParisMidnightInSummer) {
  // 2026-07-01T21:59:59.999999Z is 23:59:59+02:00; 22:00:00Z is midnight of the 2nd.
  EXPECT_EQ(ParisDay(AtUtcSeconds(1782943200) - 1), D(2026, 7, 1));
  EXPECT_EQ(ParisDay(AtUtcSeconds(1782943200)), D(2026, 7, 2));
}

TEST(CalendarParisTest, ParisDayOfInstantsBeforeTheEpochFloors) {
  // 1969-12-31T23:30:00Z is 00:30 on 1970-01-01 in Paris; 1 µs before the epoch is 00:59:59.
  EXPECT_EQ(ParisDay(-30 * 60 * kSecond), D(1970, 1, 1));
  EXPECT_EQ(ParisDay(-1), D(1970, 1, 1));
  EXPECT_EQ(ParisIso(-1), "1970-01-01T00:59:59+01:00");
  EXPECT_EQ(ParisDay(-3600 * kSecond - 1), D(1969, 12, 31));
}

TEST(CalendarParisTest, WinterInstantHasPlusOneOffset) {
  Micros instant = ParisInstant(D(2026, 12, 3), 15 * 60);
  EXPECT_EQ(instant, AtUtcSeconds(1796306400));  // 2026-12-03T14:00:00Z
  EXPECT_EQ(ParisIso(instant), "2026-12-03T15:00:00+01:00");
}

TEST(CalendarParisTest, SummerInstantHasPlusTwoOffset) {
  Micros instant = ParisInstant(D(2026, 7, 1), 15 * 60);
  EXPECT_EQ(instant, AtUtcSeconds(1782910800));  // 2026-07-01T13:00:00Z
  EXPECT_EQ(ParisIso(instant), "2026-07-01T15:00:00+02:00");
}

TEST(CalendarParisTest, MinuteFourteenFortyIsTheNextLocalMidnight) {
  EXPECT_EQ(ParisInstant(D(2026, 7, 1), kEndOfDay), ParisInstant(D(2026, 7, 2), 0));
  EXPECT_EQ(ParisIso(ParisInstant(D(2026, 12, 31), kEndOfDay)), "2027-01-01T00:00:00+01:00");
}

TEST(CalendarParisTest, ParisIsoDropsFractionsOfASecond) {
  EXPECT_EQ(ParisIso(AtUtcSeconds(1796306400) + 999'999), "2026-12-03T15:00:00+01:00");
}

TEST(CalendarParisTest, TimeInTheSpringGapMapsToTheEndOfTheGap) {
  // 2026-03-29 02:30 does not exist: clocks jump from 02:00 to 03:00 (01:00Z).
  EXPECT_EQ(ParisInstant(D(2026, 3, 29), 2 * 60 + 30), AtUtcSeconds(1774746000));
  EXPECT_EQ(ParisInstant(D(2026, 3, 29), 2 * 60), AtUtcSeconds(1774746000));
  EXPECT_EQ(ParisInstant(D(2027, 3, 28), 2 * 60 + 30), AtUtcSeconds(1806195600));
  EXPECT_EQ(ParisIso(AtUtcSeconds(1806195600)), "2027-03-28T03:00:00+02:00");
}

TEST(CalendarParisTest, AmbiguousAutumnTimeMapsToTheEarlierInstant) {
  // 2026-10-25 02:30 happens at 00:30Z (+02:00) and again at 01:30Z (+01:00).
  EXPECT_EQ(ParisInstant(D(2026, 10, 25), 2 * 60 + 30), AtUtcSeconds(1792888200));
  EXPECT_EQ(ParisIso(AtUtcSeconds(1792891800)), "2026-10-25T02:30:00+01:00");
  EXPECT_EQ(ParisInstant(D(2027, 10, 31), 2 * 60 + 30), AtUtcSeconds(1824942600));
  EXPECT_EQ(ParisIso(AtUtcSeconds(1824942600)), "2027-10-31T02:30:00+02:00");
}

// --- Days as text ---

TEST(CalendarDayTextTest, ParsesAndFormatsIsoDays) {
  EXPECT_THAT(ParseDay("2026-03-30"), Optional(D(2026, 3, 30)));
  EXPECT_THAT(ParseDay("2024-02-29"), Optional(D(2024, 2, 29)));
  EXPECT_EQ(FormatDay(D(2026, 3, 30)), "2026-03-30");
  EXPECT_EQ(FormatDay(D(1970, 1, 1)), "1970-01-01");
  EXPECT_EQ(FormatDay(*ParseDay("2027-12-31")), "2027-12-31");
}

TEST(CalendarDayTextTest, RejectsMalformedOrImpossibleDays) {
  EXPECT_EQ(ParseDay("2026-02-29"), std::nullopt);
  EXPECT_EQ(ParseDay("2026-13-01"), std::nullopt);
  EXPECT_EQ(ParseDay("2026-04-31"), std::nullopt);
  EXPECT_EQ(ParseDay("2026-00-10"), std::nullopt);
  EXPECT_EQ(ParseDay("2026-3-30"), std::nullopt);
  EXPECT_EQ(ParseDay("2026-03-300"), std::nullopt);
  EXPECT_EQ(ParseDay("2026/03/30"), std::nullopt);
  EXPECT_EQ(ParseDay("2026-03-3a"), std::nullopt);
  EXPECT_EQ(ParseDay("+026-03-30"), std::nullopt);
  EXPECT_EQ(ParseDay(""), std::nullopt);
}

// --- Weekdays ---

TEST(CalendarWeekdaysTest, WeekdayBitIsMondayFirst) {
  EXPECT_EQ(WeekdayBit(D(2026, 3, 30)), kMonday);
  EXPECT_EQ(WeekdayBit(D(2026, 4, 3)), kFriday);
  EXPECT_EQ(WeekdayBit(D(2026, 3, 29)), kSunday);
  EXPECT_EQ(kSunday, 1 << 6);
}

TEST(CalendarWeekdaysTest, ParsesNamesIntoAMask) {
  std::vector<std::string> names = {"mon", "wed", "sun", "wed"};
  auto mask = ParseWeekdays(names);
  ASSERT_TRUE(mask.has_value());
  EXPECT_EQ(*mask, kMonday | kWednesday | kSunday);
  EXPECT_EQ(*ParseWeekdays(std::vector<std::string>{}), 0);
}

TEST(CalendarWeekdaysTest, UnknownNameIsInvalidAndNamed) {
  std::vector<std::string> names = {"mon", "Tue"};
  auto mask = ParseWeekdays(names);
  ASSERT_FALSE(mask.has_value());
  EXPECT_EQ(mask.error().code, ErrorCode::kInvalid);
  EXPECT_THAT(mask.error().message, HasSubstr("\"Tue\""));
  std::vector<std::string> long_name = {"monday"};
  EXPECT_EQ(ParseWeekdays(long_name).error().code, ErrorCode::kInvalid);
}

TEST(CalendarWeekdaysTest, NamesComeBackMondayFirst) {
  EXPECT_THAT(WeekdayNames(kSunday | kMonday | kFriday), ElementsAre("mon", "fri", "sun"));
  EXPECT_THAT(WeekdayNames(kEveryDay),
              ElementsAre("mon", "tue", "wed", "thu", "fri", "sat", "sun"));
  EXPECT_TRUE(WeekdayNames(0).empty());
  auto round_trip = WeekdayNames(kMondayToFriday);
  EXPECT_EQ(*ParseWeekdays(round_trip), kMondayToFriday);
}

// --- Opening calendar ---

TEST(CalendarRunsOnTest, EmptyPeriodsMeanAlwaysOpenOnTheWeekdays) {
  ActivityCalendar calendar;
  calendar.weekdays = kMonday | kTuesday | kThursday | kFriday;
  EXPECT_TRUE(calendar.RunsOn(D(2026, 3, 30)));  // Monday
  EXPECT_FALSE(calendar.RunsOn(D(2026, 4, 1)));  // Wednesday
  EXPECT_FALSE(calendar.RunsOn(D(2026, 4, 4)));  // Saturday
  EXPECT_TRUE(calendar.RunsOn(D(2030, 1, 3)));   // Thursday, far away
}

TEST(CalendarRunsOnTest, RunsOnlyInsideInclusivePeriodsAndNotOnClosedDays) {
  ActivityCalendar calendar{
      .weekdays = kMondayToFriday,
      .periods = {{D(2026, 3, 2), D(2026, 4, 3)}, {D(2026, 4, 20), D(2026, 7, 3)}},
      .closed_days = {D(2026, 5, 14), D(2026, 3, 17)},
  };
  EXPECT_FALSE(calendar.RunsOn(D(2026, 2, 27)));  // Friday before the first period
  EXPECT_TRUE(calendar.RunsOn(D(2026, 3, 2)));    // first day of a period
  EXPECT_TRUE(calendar.RunsOn(D(2026, 4, 3)));    // last day of a period
  EXPECT_FALSE(calendar.RunsOn(D(2026, 4, 6)));   // Monday between the periods
  EXPECT_FALSE(calendar.RunsOn(D(2026, 4, 17)));  // Friday between the periods
  EXPECT_TRUE(calendar.RunsOn(D(2026, 4, 20)));
  EXPECT_FALSE(calendar.RunsOn(D(2026, 3, 17)));  // closed Tuesday
  EXPECT_FALSE(calendar.RunsOn(D(2026, 5, 14)));  // closed Thursday
  EXPECT_TRUE(calendar.RunsOn(D(2026, 5, 15)));
  EXPECT_FALSE(calendar.RunsOn(D(2026, 5, 16)));  // Saturday inside a period
  EXPECT_FALSE(calendar.RunsOn(D(2026, 7, 6)));   // after the last period
}

// --- Notice deadlines ---

TEST(CalendarDeadlineTest, DayBeforeAtFifteenHundred) {
  ActivityCalendar calendar;
  Micros deadline = Deadline(DaysBeforeAt(1, 15), calendar, D(2026, 12, 4));
  EXPECT_EQ(deadline, AtUtcSeconds(1796306400));
  EXPECT_EQ(ParisIso(deadline), "2026-12-03T15:00:00+01:00");
  EXPECT_EQ(ParisIso(Deadline(DaysBeforeAt(1, 15), calendar, D(2026, 7, 2))),
            "2026-07-01T15:00:00+02:00");
}

TEST(CalendarDeadlineTest, ZeroDaysBeforeIsTheSameDay) {
  ActivityCalendar calendar;
  EXPECT_EQ(ParisIso(Deadline(DaysBeforeAt(0, 8), calendar, D(2026, 3, 30))),
            "2026-03-30T08:00:00+02:00");
}

TEST(CalendarDeadlineTest, CalendarDaysIgnoreWeekendsAndClosures) {
  ActivityCalendar calendar = ClosedOn({D(2026, 3, 28), D(2026, 3, 29)});
  EXPECT_EQ(ParisIso(Deadline(DaysBeforeAt(2, 15), calendar, D(2026, 3, 30))),
            "2026-03-28T15:00:00+01:00");
}

TEST(CalendarDeadlineTest, DayBeforeDeadlineInTheSpringGapIsTheEndOfTheGap) {
  ActivityCalendar calendar;
  Micros deadline = Deadline(DaysBeforeAt(1, 2, 30), calendar, D(2026, 3, 30));
  EXPECT_EQ(deadline, AtUtcSeconds(1774746000));
  EXPECT_EQ(ParisIso(deadline), "2026-03-29T03:00:00+02:00");
}

TEST(CalendarDeadlineTest, SameDayDeadlineAtAnAmbiguousTimeIsTheEarlierOne) {
  ActivityCalendar calendar;
  Micros deadline = Deadline(DaysBeforeAt(0, 2, 30), calendar, D(2026, 10, 25));
  EXPECT_EQ(deadline, AtUtcSeconds(1792888200));
  EXPECT_EQ(ParisIso(deadline), "2026-10-25T02:30:00+02:00");
}

TEST(CalendarDeadlineTest, TwoWorkingDaysBeforeMondayEndsThursdayNight) {
  ActivityCalendar calendar;
  Micros deadline = Deadline(WorkingDaysBefore(2), calendar, D(2026, 3, 30));
  EXPECT_EQ(deadline, AtUtcSeconds(1774566000));
  EXPECT_EQ(ParisIso(deadline), "2026-03-27T00:00:00+01:00");
}

TEST(CalendarDeadlineTest, ClosedThursdayIsNotAWorkingDay) {
  ActivityCalendar calendar = ClosedOn({D(2026, 3, 26)});
  Micros deadline = Deadline(WorkingDaysBefore(2), calendar, D(2026, 3, 30));
  EXPECT_EQ(deadline, AtUtcSeconds(1774479600));
  EXPECT_EQ(ParisIso(deadline), "2026-03-26T00:00:00+01:00");
}

TEST(CalendarDeadlineTest, WorkingDaysSkipAClosedSchoolHolidayWeek) {
  // Closed 13-17 April 2026: the two working days before Monday 20 April are 9 and 10 April.
  ActivityCalendar calendar;
  for (Day day = D(2026, 4, 13); day <= D(2026, 4, 17); day += std::chrono::days{1}) {
    calendar.closed_days.insert(day);
  }
  EXPECT_EQ(ParisIso(Deadline(WorkingDaysBefore(2), calendar, D(2026, 4, 20))),
            "2026-04-10T00:00:00+02:00");
  EXPECT_EQ(Deadline(WorkingDaysBefore(2), calendar, D(2026, 4, 20)), AtUtcSeconds(1775772000));
}

TEST(CalendarDeadlineTest, PublicHolidaysCountOnlyWhenListedAsClosed) {
  // Tuesday 7 April 2026 follows Easter Monday.
  ActivityCalendar open;
  EXPECT_EQ(ParisIso(Deadline(WorkingDaysBefore(1, 12 * 60), open, D(2026, 4, 7))),
            "2026-04-06T12:00:00+02:00");
  ActivityCalendar with_holidays = ClosedOn(FrenchPublicHolidays(2026));
  Micros deadline = Deadline(WorkingDaysBefore(1, 12 * 60), with_holidays, D(2026, 4, 7));
  EXPECT_EQ(deadline, AtUtcSeconds(1775210400));
  EXPECT_EQ(ParisIso(deadline), "2026-04-03T12:00:00+02:00");
}

TEST(CalendarDeadlineTest, WorkingDaysAcrossTheNewYearHolidayAndWeekend) {
  // Monday 4 Jan 2027: Friday 1 Jan is a holiday, so 2 working days back are 30 and 31 Dec.
  ActivityCalendar calendar = ClosedOn(FrenchPublicHolidays(2027));
  EXPECT_EQ(ParisIso(Deadline(WorkingDaysBefore(2), calendar, D(2027, 1, 4))),
            "2026-12-31T00:00:00+01:00");
}

TEST(CalendarDeadlineTest, WorkingDaysCountStrictlyBeforeAWeekdayToo) {
  ActivityCalendar calendar;
  // Wednesday 1 April 2026: 1 working day before is Tuesday; 0 is the day itself.
  EXPECT_EQ(ParisIso(Deadline(WorkingDaysBefore(1), calendar, D(2026, 4, 1))),
            "2026-04-01T00:00:00+02:00");
  EXPECT_EQ(ParisIso(Deadline(WorkingDaysBefore(0, 8 * 60), calendar, D(2026, 4, 1))),
            "2026-04-01T08:00:00+02:00");
}

TEST(CalendarDeadlineTest, ExactlyAtTheDeadlineIsTooLate) {
  ActivityCalendar calendar;
  NoticeRule rule = DaysBeforeAt(1, 15);
  Micros deadline = Deadline(rule, calendar, D(2026, 12, 4));
  EXPECT_FALSE(BeforeDeadline(rule, calendar, D(2026, 12, 4), deadline));
  EXPECT_FALSE(BeforeDeadline(rule, calendar, D(2026, 12, 4), deadline + 1));
  EXPECT_TRUE(BeforeDeadline(rule, calendar, D(2026, 12, 4), deadline - 1));
}

// --- Describing and validating rules ---

TEST(CalendarNoticeRuleTest, DescribesRulesInPlainEnglish) {
  EXPECT_EQ(DescribeNoticeRule(DaysBeforeAt(1, 15)), "1 day before at 15:00");
  EXPECT_EQ(DescribeNoticeRule(DaysBeforeAt(3, 9, 30)), "3 days before at 09:30");
  EXPECT_EQ(DescribeNoticeRule(DaysBeforeAt(0, 8)), "same day at 08:00");
  EXPECT_EQ(DescribeNoticeRule(WorkingDaysBefore(2)), "2 working days before");
  EXPECT_EQ(DescribeNoticeRule(WorkingDaysBefore(1)), "1 working day before");
  EXPECT_EQ(DescribeNoticeRule(WorkingDaysBefore(1, 18 * 60)), "1 working day before at 18:00");
}

TEST(CalendarNoticeRuleTest, AcceptsBoundsAndNamesTheProblemOutsideThem) {
  EXPECT_EQ(NoticeRuleProblem(DaysBeforeAt(0, 0)), std::nullopt);
  EXPECT_EQ(NoticeRuleProblem(WorkingDaysBefore(60, kEndOfDay)), std::nullopt);
  EXPECT_THAT(NoticeRuleProblem(DaysBeforeAt(61, 15)), Optional(HasSubstr("between 0 and 60")));
  EXPECT_THAT(NoticeRuleProblem(DaysBeforeAt(-1, 15)), Optional(HasSubstr("between 0 and 60")));
  EXPECT_THAT(NoticeRuleProblem(WorkingDaysBefore(2, kEndOfDay + 1)),
              Optional(HasSubstr("between 00:00 and 24:00")));
  EXPECT_THAT(NoticeRuleProblem(WorkingDaysBefore(2, -1)),
              Optional(HasSubstr("between 00:00 and 24:00")));
}

// --- Ranges and periods ---

TEST(CalendarRangeTest, DaysInRangeCrossesTheYearKeepingTheWeekdays) {
  EXPECT_THAT(DaysInRange(D(2026, 12, 28), D(2027, 1, 5), kMondayToFriday),
              ElementsAre(D(2026, 12, 28), D(2026, 12, 29), D(2026, 12, 30), D(2026, 12, 31),
                          D(2027, 1, 1), D(2027, 1, 4), D(2027, 1, 5)));
}

TEST(CalendarRangeTest, DaysInRangeCrossesAMonthOnOneWeekday) {
  EXPECT_THAT(DaysInRange(D(2026, 2, 16), D(2026, 3, 12), kWednesday),
              ElementsAre(D(2026, 2, 18), D(2026, 2, 25), D(2026, 3, 4), D(2026, 3, 11)));
}

TEST(CalendarRangeTest, DaysInRangeIsInclusiveAndEmptyWhenReversed) {
  EXPECT_THAT(DaysInRange(D(2026, 3, 30), D(2026, 3, 30), kMonday), ElementsAre(D(2026, 3, 30)));
  EXPECT_TRUE(DaysInRange(D(2026, 3, 30), D(2026, 3, 30), kTuesday).empty());
  EXPECT_TRUE(DaysInRange(D(2026, 4, 1), D(2026, 3, 30), kEveryDay).empty());
}

TEST(CalendarHolidaysTest, FrenchPublicHolidaysOf2026) {
  EXPECT_EQ(FrenchPublicHolidays(2026),
            (std::set<Day>{D(2026, 1, 1), D(2026, 4, 6), D(2026, 5, 1), D(2026, 5, 8),
                           D(2026, 5, 14), D(2026, 5, 25), D(2026, 7, 14), D(2026, 8, 15),
                           D(2026, 11, 1), D(2026, 11, 11), D(2026, 12, 25)}));
}

TEST(CalendarHolidaysTest, FrenchPublicHolidaysOf2027) {
  // Easter Sunday is 28 March 2027.
  EXPECT_EQ(FrenchPublicHolidays(2027),
            (std::set<Day>{D(2027, 1, 1), D(2027, 3, 29), D(2027, 5, 1), D(2027, 5, 6),
                           D(2027, 5, 8), D(2027, 5, 17), D(2027, 7, 14), D(2027, 8, 15),
                           D(2027, 11, 1), D(2027, 11, 11), D(2027, 12, 25)}));
}

TEST(CalendarHolidaysTest, EasterMondayOfOtherKnownYears) {
  // Easter Sundays: 31 Mar 2024, 20 Apr 2025, 25 Apr 2038 (latest possible), 22 Mar 2285.
  EXPECT_TRUE(FrenchPublicHolidays(2024).contains(D(2024, 4, 1)));
  EXPECT_TRUE(FrenchPublicHolidays(2025).contains(D(2025, 4, 21)));
  EXPECT_TRUE(FrenchPublicHolidays(2038).contains(D(2038, 4, 26)));
  EXPECT_TRUE(FrenchPublicHolidays(2285).contains(D(2285, 3, 23)));
}

TEST(CalendarPeriodTest, MonthOfGivesFirstAndLastDay) {
  EXPECT_THAT(MonthOf(D(2026, 2, 14)), Pair(D(2026, 2, 1), D(2026, 2, 28)));
  EXPECT_THAT(MonthOf(D(2024, 2, 29)), Pair(D(2024, 2, 1), D(2024, 2, 29)));
  EXPECT_THAT(MonthOf(D(2026, 12, 1)), Pair(D(2026, 12, 1), D(2026, 12, 31)));
}

TEST(CalendarPeriodTest, WeekOfASundaySpansTwoMonths) {
  // Sunday 1 March 2026 belongs to the week of Monday 23 February.
  EXPECT_THAT(WeekOf(D(2026, 3, 1), 7), Pair(D(2026, 2, 23), D(2026, 3, 1)));
  EXPECT_THAT(WeekOf(D(2026, 3, 1), 5), Pair(D(2026, 2, 23), D(2026, 2, 27)));
}

TEST(CalendarPeriodTest, WeekOfAMondayStartsOnItAndCrossesTheYear) {
  EXPECT_THAT(WeekOf(D(2026, 3, 30), 7), Pair(D(2026, 3, 30), D(2026, 4, 5)));
  EXPECT_THAT(WeekOf(D(2026, 12, 31), 7), Pair(D(2026, 12, 28), D(2027, 1, 3)));
  EXPECT_THAT(WeekOf(D(2026, 12, 31), 5), Pair(D(2026, 12, 28), D(2027, 1, 1)));
}

}  // namespace
}  // namespace portail::commands
