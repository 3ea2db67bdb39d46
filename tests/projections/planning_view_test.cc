// Tests of the planning view: its rows, built from hand-made events, read back in memory.
#include "projections/planning_view.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "commands/calendar.h"
#include "commands/command.h"
#include "commands/planning_rules.h"
#include "tests/support/memory_rows.h"

namespace portail::projections {
namespace {

using commands::MakePayload;

using portail::testing::MemoryRows;

int Day(std::string_view text) { return commands::DaysOf(*commands::ParseDay(text)); }

class PlanningViewTest : public ::testing::Test {
 protected:
  // Applies `payload` as the next event of the log, on `stream`.
  void Append(const std::string& stream, const schema::PayloadUnion& payload) {
    flatbuffers::FlatBufferBuilder fbb;
    auto stream_off = fbb.CreateString(stream);
    auto actor_off = fbb.CreateString("test");
    auto payload_off = payload.Pack(fbb);
    auto root = schema::CreateEventRecord(fbb, ++position_, stream_off, 1, 0, actor_off, 0, 0,
                                          nullptr, nullptr, payload.type, payload_off);
    fbb.Finish(root);
    view_.Apply(*flatbuffers::GetRoot<schema::EventRecord>(fbb.GetBufferPointer()), rows_);
  }

  void DefineActivity(const std::string& id, const std::string& name) {
    schema::ActivityDefinedT a;
    a.activity_id = id;
    a.name = name;
    a.kind = schema::ActivityKind::Canteen;
    a.weekdays = commands::kMondayToFriday;
    auto period = std::make_unique<schema::DayRangeT>();
    period->from = Day("2025-09-01");
    period->to = Day("2026-07-03");
    a.periods.push_back(std::move(period));
    a.closed_days = {Day("2026-04-06"), Day("2026-05-01")};
    a.capacity = 80;
    a.reservation_notice = std::make_unique<schema::NoticeT>();
    a.reservation_notice->days = 1;
    a.reservation_notice->at_minutes = 15 * 60;
    a.absence_notice = std::make_unique<schema::NoticeT>();
    a.absence_notice->kind = schema::NoticeKind::WorkingDaysBefore;
    a.absence_notice->days = 2;
    a.mode = schema::DecisionMode::Automatic;
    Append("activity-" + id, MakePayload(std::move(a)));
  }

  void AddChild(const std::string& family, const std::string& child, const std::string& first,
                const std::string& colour) {
    schema::MemberAddedT added;
    added.family_id = family;
    added.member_id = child;
    added.kind = schema::MemberKind::Child;
    Append("dossier-" + family, MakePayload(std::move(added)));
    UpdateGeneral(family, child,
                  {{"first_name", first}, {"last_name", "Martin"}, {"colour", colour}});
  }

  void UpdateGeneral(const std::string& family, const std::string& member,
                     std::vector<std::pair<std::string, std::string>> fields) {
    schema::SectionUpdatedT updated;
    updated.family_id = family;
    updated.member_id = member;
    updated.section = "general";
    for (auto& [name, value] : fields) {
      auto f = std::make_unique<schema::FieldValueT>();
      f->name = name;
      f->value = value;
      updated.fields.push_back(std::move(f));
    }
    Append("dossier-" + family, MakePayload(std::move(updated)));
  }

  void Enrol(const std::string& family, const std::string& child, const std::string& enrolment,
             const std::string& activity, int from, int to, uint8_t weekdays) {
    schema::ChildEnrolledT e;
    e.enrolment_id = enrolment;
    e.family_id = family;
    e.child_id = child;
    e.activity_id = activity;
    e.from = from;
    e.to = to;
    e.weekdays = weekdays;
    Append("child-" + child, MakePayload(std::move(e)));
  }

  void Book(const std::string& family, const std::string& child, const std::string& activity,
            int day, schema::BookingState state, const std::string& request,
            const std::string& reason = "") {
    schema::BookingChangedT b;
    b.activity_id = activity;
    b.day = day;
    b.child_id = child;
    b.family_id = family;
    b.request_id = request;
    b.state = state;
    b.reason = reason;
    Append("slot-" + activity + "-" + std::to_string(day), MakePayload(std::move(b)));
  }

  PlanningView view_;
  MemoryRows rows_;
  uint64_t position_ = 0;
};

TEST_F(PlanningViewTest, ActivityKeepsEveryFieldOfItsLatestDefinition) {
  DefineActivity("cantine", "Cantine");
  DefineActivity("cantine", "Restaurant scolaire");
  auto a = PlanningView::Activity(rows_, "cantine");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->id, "cantine");
  EXPECT_EQ(a->name, "Restaurant scolaire");
  EXPECT_EQ(a->kind, schema::ActivityKind::Canteen);
  EXPECT_EQ(a->weekdays, commands::kMondayToFriday);
  ASSERT_EQ(a->periods.size(), 1u);
  EXPECT_EQ(a->periods[0], std::make_pair(Day("2025-09-01"), Day("2026-07-03")));
  EXPECT_EQ(a->closed_days, (std::vector<int>{Day("2026-04-06"), Day("2026-05-01")}));
  EXPECT_EQ(a->capacity, 80);
  EXPECT_EQ(a->reservation_notice.kind, schema::NoticeKind::DaysBeforeAt);
  EXPECT_EQ(a->reservation_notice.days, 1);
  EXPECT_EQ(a->reservation_notice.at_minutes, 15 * 60);
  EXPECT_EQ(a->absence_notice.kind, schema::NoticeKind::WorkingDaysBefore);
  EXPECT_EQ(a->absence_notice.days, 2);
  EXPECT_EQ(a->absence_notice.at_minutes, 1440);
  EXPECT_EQ(a->mode, schema::DecisionMode::Automatic);
  EXPECT_FALSE(PlanningView::Activity(rows_, "garderie").has_value());
}

TEST_F(PlanningViewTest, ActivitiesListsEachActivityOnceById) {
  DefineActivity("garderie", "Garderie");
  DefineActivity("cantine", "Cantine");
  DefineActivity("cantine", "Cantine 2");
  auto all = PlanningView::Activities(rows_);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "cantine");
  EXPECT_EQ(all[0].name, "Cantine 2");
  EXPECT_EQ(all[1].id, "garderie");
}

TEST_F(PlanningViewTest, ChildrenHaveNamesAndColoursInTheOrderTheyWereAdded) {
  AddChild("f1", "zoe", "Zoé", "#ff0000");
  AddChild("f1", "adam", "Adam", "#00ff00");
  AddChild("f2", "other", "Other", "#0000ff");
  auto children = PlanningView::Children(rows_, "f1");
  ASSERT_EQ(children.size(), 2u);
  EXPECT_EQ(children[0].id, "zoe");
  EXPECT_EQ(children[0].name(), "Zoé Martin");
  EXPECT_EQ(children[0].colour, "#ff0000");
  EXPECT_EQ(children[1].id, "adam");
  EXPECT_EQ(children[1].colour, "#00ff00");
}

TEST_F(PlanningViewTest, ChangedColourAndNameReplaceOnlyTheFieldsGiven) {
  AddChild("f1", "zoe", "Zoé", "#ff0000");
  UpdateGeneral("f1", "zoe", {{"colour", "#123456"}, {"birth_date", "2018-01-02"}});
  auto children = PlanningView::Children(rows_, "f1");
  ASSERT_EQ(children.size(), 1u);
  EXPECT_EQ(children[0].name(), "Zoé Martin");
  EXPECT_EQ(children[0].colour, "#123456");
}

TEST_F(PlanningViewTest, GuardiansAreNotChildren) {
  schema::MemberAddedT added;
  added.family_id = "f1";
  added.member_id = "mum";
  added.kind = schema::MemberKind::Guardian;
  Append("dossier-f1", MakePayload(std::move(added)));
  uint64_t before = PlanningView::Version(rows_, "f1");
  UpdateGeneral("f1", "mum", {{"first_name", "Alice"}});
  EXPECT_TRUE(PlanningView::Children(rows_, "f1").empty());
  EXPECT_EQ(PlanningView::Version(rows_, "f1"), before);
}

TEST_F(PlanningViewTest, RemovedChildDisappears) {
  AddChild("f1", "zoe", "Zoé", "#ff0000");
  AddChild("f1", "adam", "Adam", "#00ff00");
  uint64_t before = PlanningView::Version(rows_, "f1");
  schema::MemberRemovedT removed;
  removed.family_id = "f1";
  removed.member_id = "zoe";
  Append("dossier-f1", MakePayload(std::move(removed)));
  auto children = PlanningView::Children(rows_, "f1");
  ASSERT_EQ(children.size(), 1u);
  EXPECT_EQ(children[0].id, "adam");
  EXPECT_GT(PlanningView::Version(rows_, "f1"), before);
}

TEST_F(PlanningViewTest, EnrolmentsAreKeptPerChildAndChangedInPlace) {
  Enrol("f1", "zoe", "e1", "cantine", Day("2025-09-01"), Day("2026-07-03"),
        commands::kMondayToFriday);
  Enrol("f1", "zoe", "e2", "garderie", Day("2025-09-01"), Day("2026-07-03"), commands::kWednesday);
  Enrol("f1", "adam", "e3", "cantine", Day("2025-09-01"), Day("2026-07-03"), commands::kMonday);
  schema::EnrolmentChangedT changed;
  changed.enrolment_id = "e1";
  changed.from = Day("2025-09-01");
  changed.to = Day("2026-02-27");
  changed.weekdays = commands::kMonday | commands::kTuesday;
  Append("child-zoe", MakePayload(std::move(changed)));

  auto zoe = PlanningView::Enrolments(rows_, "f1", "zoe");
  ASSERT_EQ(zoe.size(), 2u);
  EXPECT_EQ(zoe[0].id, "e1");
  EXPECT_EQ(zoe[0].activity_id, "cantine");
  EXPECT_EQ(zoe[0].to, Day("2026-02-27"));
  EXPECT_EQ(zoe[0].weekdays, commands::kMonday | commands::kTuesday);
  EXPECT_TRUE(zoe[0].Covers(Day("2026-02-24")));   // a Tuesday
  EXPECT_FALSE(zoe[0].Covers(Day("2026-02-25")));  // a Wednesday
  EXPECT_FALSE(zoe[0].Covers(Day("2026-03-02")));  // a Monday after the end
  EXPECT_EQ(zoe[1].activity_id, "garderie");
  EXPECT_TRUE(zoe[1].Covers(Day("2026-02-25")));
  EXPECT_EQ(PlanningView::Enrolments(rows_, "f1", "adam").size(), 1u);
  EXPECT_TRUE(PlanningView::Enrolments(rows_, "f2", "zoe").empty());
}

TEST_F(PlanningViewTest, CoversMatchesTheCalendarsWeekdays) {
  PlanningEnrolment every{"e", "a", Day("2026-01-01"), Day("2026-12-31"), commands::kEveryDay};
  for (int day = Day("2026-03-01"); day <= Day("2026-03-31"); ++day) {
    PlanningEnrolment one{"e", "a", Day("2026-01-01"), Day("2026-12-31"),
                          commands::WeekdayBit(commands::DayOf(day))};
    EXPECT_TRUE(one.Covers(day)) << day;
    EXPECT_TRUE(every.Covers(day));
  }
  PlanningEnrolment ended{"e", "a", Day("2026-03-10"), Day("2026-03-09"), commands::kEveryDay};
  EXPECT_FALSE(ended.Covers(Day("2026-03-09")));
  EXPECT_FALSE(ended.Covers(Day("2026-03-10")));
}

TEST_F(PlanningViewTest, CellsOfARangeComeInDayOrderAcrossMonths) {
  Book("f1", "zoe", "garderie", Day("2026-04-01"), schema::BookingState::Reserved, "r2");
  Book("f1", "zoe", "cantine", Day("2026-03-31"), schema::BookingState::Refused, "r1", "complet");
  Book("f1", "zoe", "cantine", Day("2026-04-01"), schema::BookingState::WaitingList, "r2");
  Book("f1", "zoe", "cantine", Day("2026-02-27"), schema::BookingState::Reserved, "r0");
  Book("f1", "zoe", "cantine", Day("2026-04-02"), schema::BookingState::Reserved, "r3");
  Book("f1", "adam", "cantine", Day("2026-04-01"), schema::BookingState::Reserved, "r2");
  Book("f2", "zoe", "cantine", Day("2026-04-01"), schema::BookingState::Reserved, "r9");

  auto cells = PlanningView::Cells(rows_, "f1", "zoe", Day("2026-03-30"), Day("2026-04-01"));
  ASSERT_EQ(cells.size(), 3u);
  EXPECT_EQ(cells[0].day, Day("2026-03-31"));
  EXPECT_EQ(cells[0].activity_id, "cantine");
  EXPECT_EQ(cells[0].state, schema::BookingState::Refused);
  EXPECT_EQ(cells[0].request_id, "r1");
  EXPECT_EQ(cells[0].reason, "complet");
  EXPECT_EQ(cells[1].day, Day("2026-04-01"));
  EXPECT_EQ(cells[1].activity_id, "cantine");
  EXPECT_EQ(cells[1].state, schema::BookingState::WaitingList);
  EXPECT_EQ(cells[1].reason, "");
  EXPECT_EQ(cells[2].activity_id, "garderie");
  EXPECT_EQ(cells[2].state, schema::BookingState::Reserved);
}

TEST_F(PlanningViewTest, CellsOfDaysBefore1970AndAcrossYearsAreInOrder) {
  Book("f1", "zoe", "a", Day("1969-12-31"), schema::BookingState::Reserved, "r");
  Book("f1", "zoe", "a", Day("1970-01-01"), schema::BookingState::Reserved, "r");
  Book("f1", "zoe", "a", Day("2025-12-31"), schema::BookingState::Reserved, "r");
  Book("f1", "zoe", "a", Day("2026-01-01"), schema::BookingState::Reserved, "r");
  auto cells = PlanningView::Cells(rows_, "f1", "zoe", Day("1969-01-01"), Day("2026-12-31"));
  ASSERT_EQ(cells.size(), 4u);
  EXPECT_EQ(cells[0].day, Day("1969-12-31"));
  EXPECT_EQ(cells[1].day, Day("1970-01-01"));
  EXPECT_EQ(cells[2].day, Day("2025-12-31"));
  EXPECT_EQ(cells[3].day, Day("2026-01-01"));
}

TEST_F(PlanningViewTest, ACellBackToNoneIsDeleted) {
  Book("f1", "zoe", "cantine", Day("2026-03-02"), schema::BookingState::ReservationRequested, "r1");
  size_t with_cell = rows_.size();
  Book("f1", "zoe", "cantine", Day("2026-03-02"), schema::BookingState::None, "r1");
  EXPECT_TRUE(
      PlanningView::Cells(rows_, "f1", "zoe", Day("2026-03-01"), Day("2026-03-31")).empty());
  EXPECT_EQ(rows_.size(), with_cell - 1);
}

TEST_F(PlanningViewTest, EveryChangeToAFamilysPlanningBumpsOnlyItsVersion) {
  EXPECT_EQ(PlanningView::Version(rows_, "f1"), 0u);
  std::vector<uint64_t> seen;
  auto bumped = [&] {
    uint64_t v = PlanningView::Version(rows_, "f1");
    bool grew = seen.empty() || v > seen.back();
    seen.push_back(v);
    return grew;
  };
  AddChild("f1", "zoe", "Zoé", "#ff0000");
  EXPECT_TRUE(bumped());
  Enrol("f1", "zoe", "e1", "cantine", Day("2026-01-05"), Day("2026-07-03"),
        commands::kMondayToFriday);
  EXPECT_TRUE(bumped());
  schema::EnrolmentChangedT changed;
  changed.enrolment_id = "e1";
  changed.from = Day("2026-01-05");
  changed.to = Day("2026-03-31");
  changed.weekdays = commands::kMonday;
  Append("child-zoe", MakePayload(std::move(changed)));
  EXPECT_TRUE(bumped());
  Book("f1", "zoe", "cantine", Day("2026-03-02"), schema::BookingState::Reserved, "r1");
  EXPECT_TRUE(bumped());

  uint64_t f1 = PlanningView::Version(rows_, "f1");
  AddChild("f2", "other", "Other", "#0000ff");
  Book("f2", "other", "cantine", Day("2026-03-02"), schema::BookingState::Reserved, "r2");
  EXPECT_EQ(PlanningView::Version(rows_, "f1"), f1);
  EXPECT_GT(PlanningView::Version(rows_, "f2"), f1);
}

TEST_F(PlanningViewTest, ActivityDefinitionsBumpTheActivitiesVersionNotTheFamilies) {
  AddChild("f1", "zoe", "Zoé", "#ff0000");
  uint64_t f1 = PlanningView::Version(rows_, "f1");
  EXPECT_EQ(PlanningView::ActivitiesVersion(rows_), 0u);
  DefineActivity("cantine", "Cantine");
  uint64_t first = PlanningView::ActivitiesVersion(rows_);
  EXPECT_GT(first, 0u);
  DefineActivity("cantine", "Cantine 2");
  EXPECT_GT(PlanningView::ActivitiesVersion(rows_), first);
  EXPECT_EQ(PlanningView::Version(rows_, "f1"), f1);
}

TEST_F(PlanningViewTest, EventsOfOtherKindsWriteNothing) {
  schema::OperatorNoteT note;
  note.text = "hello";
  Append("ops-1", MakePayload(std::move(note)));
  EXPECT_EQ(rows_.size(), 0u);
}

}  // namespace
}  // namespace portail::projections
