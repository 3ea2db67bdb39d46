// Tests of the planning's deciders with a manual clock: enrolments, the booking rules (notice
// deadlines in days-at-time and working days, across weekends, closed days and DST), per-day
// outcomes of a period for several children, capacity, the waiting list and its promotion.
#include "commands/planning.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "commands/accounts.h"
#include "commands/dossier.h"
#include "tests/commands/decider_test.h"

namespace portail::commands {
namespace {

using schema::BookingState;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kFamily[] = "fam-1";
constexpr char kCanteen[] = "canteen";

// 2026-03-02 is a Monday.
Day D(int year, unsigned month, unsigned day) {
  return Day(std::chrono::year{year} / std::chrono::month{month} / std::chrono::day{day});
}

// An instant given in Paris local time.
Micros Paris(Day day, int hour, int minute = 0) { return ParisInstant(day, hour * 60 + minute); }

class PlanningDecidersTest : public DeciderTest {
 protected:
  PlanningDecidersTest() {
    RegisterAccountAggregates(registry_);
    RegisterDossierAggregates(registry_);
    RegisterPlanningAggregates(registry_);
    schema::FamilyRegisteredT registered;
    registered.family_id = kFamily;
    Add(FamilyStream(kFamily), MakePayload(std::move(registered)), 0);
    for (const char* child : {"lea", "hugo", "zoe"}) {
      AddMember add;
      add.family_id = kFamily;
      add.member_id = child;
      add.kind = schema::dossier::Kind::kChild;
      add.sections["general"] = {{"first_name", child}, {"last_name", "Martin"}};
      Run(add, kLongAgo);
    }
  }

  static constexpr Micros kLongAgo = 1'700'000'000'000'000;  // 2023-11-14

  // A canteen from Monday to Friday, the day before at 15:00 for both notices.
  void Define(int capacity = 30, bool automatic = false,
              NoticeRule notice = {NoticeRule::Kind::kDaysBeforeAt, 1, 15 * 60},
              std::set<Day> closed = {}) {
    DefineActivity define;
    define.rules.id = kCanteen;
    define.rules.name = "Cantine";
    define.rules.calendar.weekdays = kMondayToFriday;
    define.rules.calendar.closed_days = std::move(closed);
    define.rules.capacity = capacity;
    define.rules.reservation_notice = notice;
    define.rules.absence_notice = notice;
    define.rules.automatic = automatic;
    Run(define, kLongAgo);
  }

  void Enrol(const std::string& child, Day from = D(2026, 1, 1), Day to = D(2026, 12, 31)) {
    EnrolChild enrol;
    enrol.family_id = kFamily;
    enrol.child_id = child;
    enrol.enrolment = {"enr-" + child, kCanteen, from, to, kMondayToFriday};
    Run(enrol, kLongAgo);
  }

  static SubmitRequest Request(std::string id, std::vector<std::string> children, Day from, Day to,
                               schema::RequestKind kind = schema::RequestKind::Reservation) {
    SubmitRequest request;
    request.request_id = std::move(id);
    request.family_id = kFamily;
    request.kind = kind;
    request.children = std::move(children);
    request.activities = {kCanteen};
    request.from = from;
    request.to = to;
    return request;
  }

  static DecideBookings Answer(std::string request, std::string child, Day day, Outcome outcome,
                               std::string reason = "") {
    DecideBookings decide;
    decide.request_id = std::move(request);
    decide.decisions.push_back({{std::move(child), kCanteen, day}, outcome, std::move(reason)});
    return decide;
  }

  BookingState StateOf(const std::string& child, Day day) {
    return dynamic_cast<const SlotState&>(State(SlotStream(kCanteen, day))).StateOf(child);
  }

  static SubmitReply ReplyOf(const Decision& decision) {
    return std::any_cast<SubmitReply>(decision.reply);
  }
};

TEST_F(PlanningDecidersTest, AnActivityDefinitionIsChecked) {
  DefineActivity define;
  define.rules.id = kCanteen;
  define.rules.name = "";
  define.rules.calendar.weekdays = 0;
  define.rules.capacity = 0;
  define.rules.reservation_notice = {NoticeRule::Kind::kDaysBeforeAt, 99, 15 * 60};
  auto decided = Decide(define, kLongAgo);
  ASSERT_THAT(decided, FailsWith(ErrorCode::kInvalid));
  std::vector<std::string> fields;
  for (const auto& f : decided.error().fields) fields.push_back(f.field);
  EXPECT_THAT(fields, ElementsAre("name", "weekdays", "capacity", "reservation_notice"));
}

TEST_F(PlanningDecidersTest, OnlyAChildOfTheFamilyIsEnrolledAndNeverTwiceAtOnce) {
  Define();
  EnrolChild stranger;
  stranger.family_id = kFamily;
  stranger.child_id = "someone-else";
  stranger.enrolment = {"e1", kCanteen, D(2026, 1, 1), D(2026, 6, 30), kMondayToFriday};
  EXPECT_THAT(Decide(stranger, kLongAgo), FailsWith(ErrorCode::kNotFound));
  Enrol("lea");
  EnrolChild twice;
  twice.family_id = kFamily;
  twice.child_id = "lea";
  twice.enrolment = {"e2", kCanteen, D(2026, 6, 1), D(2026, 7, 31), kMonday};
  auto decided = Decide(twice, kLongAgo);
  ASSERT_THAT(decided, FailsWith(ErrorCode::kConflict));
  EXPECT_THAT(decided.error().message, HasSubstr("already enrolled in Cantine"));
}

TEST_F(PlanningDecidersTest, AOneDayRequestSaysWhichRuleFailed) {
  Define(30, false, {NoticeRule::Kind::kDaysBeforeAt, 1, 15 * 60}, {D(2026, 3, 4)});
  Enrol("lea", D(2026, 3, 1), D(2026, 3, 31));
  Micros now = Paris(D(2026, 3, 1), 10);
  auto before = Decide(Request("r1", {"lea"}, D(2026, 2, 27), D(2026, 2, 27)), now);
  EXPECT_THAT(before, FailsWith(ErrorCode::kNotEnrolled));
  EXPECT_THAT(Decide(Request("r1", {"lea"}, D(2026, 3, 4), D(2026, 3, 4)), now),
              FailsWith(ErrorCode::kActivityClosed));
  auto absence = Decide(
      Request("r1", {"lea"}, D(2026, 3, 5), D(2026, 3, 5), schema::RequestKind::Absence), now);
  EXPECT_THAT(absence, FailsWith(ErrorCode::kNotReserved));
  // Monday 2 March: the deadline was Sunday 1 March at 15:00.
  auto late =
      Decide(Request("r1", {"lea"}, D(2026, 3, 2), D(2026, 3, 2)), Paris(D(2026, 3, 1), 15));
  ASSERT_THAT(late, FailsWith(ErrorCode::kPastDeadline));
  EXPECT_THAT(late.error().message, HasSubstr("2026-03-01T15:00:00+01:00"));
  auto in_time =
      Run(Request("r1", {"lea"}, D(2026, 3, 2), D(2026, 3, 2)), Paris(D(2026, 3, 1), 14, 59));
  EXPECT_EQ(StateOf("lea", D(2026, 3, 2)), BookingState::ReservationRequested);
  auto again = Decide(Request("r2", {"lea"}, D(2026, 3, 2), D(2026, 3, 2)), now);
  EXPECT_THAT(again, FailsWith(ErrorCode::kAlreadyRequested));
}

TEST_F(PlanningDecidersTest, WorkingDayNoticesSkipWeekendsAndClosedDays) {
  // Two working days before at 18:00; Thursday 5 March is closed.
  Define(30, false, {NoticeRule::Kind::kWorkingDaysBefore, 2, 18 * 60}, {D(2026, 3, 5)});
  Enrol("lea");
  // Monday 9 March: Friday 6 is one working day before, Thursday 5 is closed, so Wednesday 4.
  SubmitRequest monday = Request("r1", {"lea"}, D(2026, 3, 9), D(2026, 3, 9));
  auto late = Decide(monday, Paris(D(2026, 3, 4), 18));
  ASSERT_THAT(late, FailsWith(ErrorCode::kPastDeadline));
  EXPECT_THAT(late.error().message, HasSubstr("2026-03-04T18:00:00+01:00"));
  EXPECT_TRUE(Decide(monday, Paris(D(2026, 3, 4), 17, 59)).has_value());
}

TEST_F(PlanningDecidersTest, DeadlinesFollowParisTimeAcrossTheSpringChange) {
  // The day before at 02:30, for Monday 30 March 2026: 02:30 does not exist on 29 March (clocks
  // jump from 02:00 to 03:00), so the deadline is 03:00+02:00, i.e. 01:00 UTC.
  Define(30, false, {NoticeRule::Kind::kDaysBeforeAt, 1, 2 * 60 + 30});
  Enrol("lea");
  SubmitRequest request = Request("r1", {"lea"}, D(2026, 3, 30), D(2026, 3, 30));
  Micros deadline = Paris(D(2026, 3, 29), 3);
  EXPECT_EQ(ParisIso(deadline), "2026-03-29T03:00:00+02:00");
  EXPECT_TRUE(Decide(request, deadline - 1).has_value());
  EXPECT_THAT(Decide(request, deadline), FailsWith(ErrorCode::kPastDeadline));
}

TEST_F(PlanningDecidersTest, APeriodForSeveralChildrenReportsEachDay) {
  Define(30, false, {NoticeRule::Kind::kDaysBeforeAt, 1, 15 * 60}, {D(2026, 3, 11)});
  Enrol("lea");
  Enrol("hugo", D(2026, 3, 12), D(2026, 12, 31));
  Micros now = Paris(D(2026, 3, 1), 9);
  Run(Request("r0", {"lea"}, D(2026, 3, 13), D(2026, 3, 13)), now);
  // Monday 9 to Sunday 15 March, Wednesdays excluded by the form's weekdays... and the canteen
  // never runs at weekends: Mon 9, Tue 10, Thu 12, Fri 13 for two children.
  SubmitRequest request = Request("r1", {"lea", "hugo"}, D(2026, 3, 9), D(2026, 3, 15));
  request.weekdays = kEveryDay & ~kWednesday;
  auto decision = Run(request, now);
  SubmitReply reply = ReplyOf(decision);
  std::vector<std::string> taken;
  for (const auto& [key, state] : reply.taken) taken.push_back(FormatDay(key.day) + key.child_id);
  EXPECT_THAT(taken, ElementsAre("2026-03-09lea", "2026-03-10lea", "2026-03-12lea",
                                 "2026-03-12hugo", "2026-03-13hugo"));
  std::vector<std::string> refused;
  for (const auto& r : reply.not_taken) {
    refused.push_back(FormatDay(r.key.day) + r.key.child_id + ":" +
                      std::string(ErrorCodeName(r.code)));
  }
  EXPECT_THAT(refused, ElementsAre("2026-03-09hugo:not_enrolled", "2026-03-10hugo:not_enrolled",
                                   "2026-03-13lea:already_requested"));
  // One request groups the days; its streams are the request, and a slot per day.
  EXPECT_EQ(TypesTo(decision, RequestStream("r1")), std::vector<std::string>{"RequestSubmitted"});
  EXPECT_EQ(StateOf("hugo", D(2026, 3, 12)), BookingState::ReservationRequested);
  // A year-long period is decided too (the cap is 366 days).
  SubmitRequest year = Request("r2", {"zoe"}, D(2026, 1, 1), D(2026, 12, 31));
  EXPECT_THAT(Decide(year, now), FailsWith(ErrorCode::kNotEnrolled));
}

TEST_F(PlanningDecidersTest, AutomaticModeFillsPlacesThenTheWaitingListAndPromotes) {
  Define(2, /*automatic=*/true);
  for (const char* c : {"lea", "hugo", "zoe"}) Enrol(c);
  Day day = D(2026, 3, 10);
  Micros now = Paris(D(2026, 3, 1), 9);
  auto decision = Run(Request("r1", {"lea", "hugo", "zoe"}, day, day), now);
  EXPECT_EQ(StateOf("lea", day), BookingState::Reserved);
  EXPECT_EQ(StateOf("hugo", day), BookingState::Reserved);
  EXPECT_EQ(StateOf("zoe", day), BookingState::WaitingList);
  // Léa's absence frees her place: Zoé, first waiting, gets it at once.
  Run(Request("r2", {"lea"}, day, day, schema::RequestKind::Absence), now);
  EXPECT_EQ(StateOf("lea", day), BookingState::Absent);
  EXPECT_EQ(StateOf("zoe", day), BookingState::Reserved);
  EXPECT_EQ(dynamic_cast<const SlotState&>(State(SlotStream(kCanteen, day))).Taken(), 2);
}

TEST_F(PlanningDecidersTest, AnAgentAcceptsWithinCapacityRefusesWithAReasonAndQueues) {
  Define(1);
  for (const char* c : {"lea", "hugo"}) Enrol(c);
  Day day = D(2026, 3, 10);
  Micros now = Paris(D(2026, 3, 1), 9);
  Run(Request("r1", {"lea", "hugo"}, day, day), now);
  Run(Answer("r1", "lea", day, Outcome::kAccept), now);
  auto full = Decide(Answer("r1", "hugo", day, Outcome::kAccept), now);
  ASSERT_THAT(full, FailsWith(ErrorCode::kFull));
  EXPECT_THAT(full.error().message, HasSubstr("waiting list"));
  Run(Answer("r1", "hugo", day, Outcome::kWaitingList), now);
  EXPECT_EQ(StateOf("hugo", day), BookingState::WaitingList);
  auto refused = Run(Answer("r1", "hugo", day, Outcome::kRefuse, "complet"), now);
  EXPECT_EQ(StateOf("hugo", day), BookingState::Refused);
  EXPECT_THAT(Decide(Answer("r1", "hugo", day, Outcome::kAccept), now),
              FailsWith(ErrorCode::kConflict));
  EXPECT_THAT(Decide(Answer("r1", "zoe", day, Outcome::kAccept), now),
              FailsWith(ErrorCode::kNotFound));
  // An accepted absence frees the place; a refused one keeps the day reserved.
  Run(Request("r2", {"lea"}, day, day, schema::RequestKind::Absence), now);
  EXPECT_EQ(StateOf("lea", day), BookingState::AbsenceRequested);
  Run(Answer("r2", "lea", day, Outcome::kRefuse, "trop tard"), now);
  EXPECT_EQ(StateOf("lea", day), BookingState::Reserved);
}

TEST_F(PlanningDecidersTest, AFamilyCancelsWhatIsStillPending) {
  Define();
  Enrol("lea");
  Micros now = Paris(D(2026, 3, 1), 9);
  auto decision = Run(Request("r1", {"lea"}, D(2026, 3, 9), D(2026, 3, 10)), now);
  Run(Answer("r1", "lea", D(2026, 3, 9), Outcome::kAccept), now);
  CancelRequest cancel;
  cancel.request_id = "r1";
  cancel.family_id = kFamily;
  cancel.taken = {{"lea", kCanteen, D(2026, 3, 9)}, {"lea", kCanteen, D(2026, 3, 10)}};
  auto cancelled = Run(cancel, now);
  EXPECT_EQ(std::any_cast<int>(cancelled.reply), 1);
  EXPECT_EQ(StateOf("lea", D(2026, 3, 9)), BookingState::Reserved);
  EXPECT_EQ(StateOf("lea", D(2026, 3, 10)), BookingState::None);
  EXPECT_THAT(Decide(cancel, now), FailsWith(ErrorCode::kConflict));
  cancel.family_id = "another-family";
  EXPECT_THAT(Decide(cancel, now), FailsWith(ErrorCode::kNotFound));
}

}  // namespace
}  // namespace portail::commands
