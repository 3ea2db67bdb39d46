// Tests of the requests view: its binary rows read back exactly as the JSON rows of its format 2
// (requests_view_v2.h) were, over hand-made and random event sequences, in memory.
#include "projections/requests_view.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "commands/command.h"
#include "tests/projections/requests_view_v2.h"
#include "tests/support/memory_rows.h"

namespace portail::projections {
namespace {

using commands::MakePayload;
using portail::testing::MemoryRows;

std::string Describe(const std::vector<RequestRow>& rows) {
  std::ostringstream out;
  for (const auto& r : rows) {
    out << r.position << ' ' << r.created_at_us << ' ' << r.unread << ' ' << r.json << '\n';
  }
  return out.str();
}

std::string Describe(const std::optional<RequestHistory>& h) {
  if (!h) return "none";
  std::ostringstream out;
  out << h->request_id << ' ' << h->family_id << ' ' << h->last_update << '\n'
      << Describe(std::vector<RequestRow>{h->summary});
  for (const auto& e : h->entries) out << e.at_us << ' ' << e.json << '\n';
  return out.str();
}

std::string Describe(const std::vector<QueuedRequest>& queue) {
  std::ostringstream out;
  for (const auto& q : queue) {
    out << q.position << ' ' << q.created_at_us << ' ' << q.request_id << ' ' << q.family_id << ' '
        << q.kind << ' ' << q.by_id << ' ' << q.by_name << '\n';
    for (const auto& d : q.days) {
      out << "  " << d.child_id << ' ' << d.activity_id << ' ' << d.day << ' ' << d.state << ' '
          << d.reason << '\n';
    }
  }
  return out.str();
}

std::string Describe(const std::vector<PendingCount>& counts) {
  std::ostringstream out;
  for (const auto& c : counts) out << c.activity_id << ' ' << c.requests << ' ' << c.days << '\n';
  return out.str();
}

// Applies the same events to the current view and to the format 2 one, each over its own rows.
class RequestsViewTest : public ::testing::Test {
 protected:
  // Applies `payload` as the next event of the log, recorded at `at` by `actor`.
  void Append(const std::string& stream, const schema::PayloadUnion& payload,
              const std::string& actor = "account-alice", int64_t at = 1'000) {
    flatbuffers::FlatBufferBuilder fbb;
    auto stream_off = fbb.CreateString(stream);
    auto actor_off = fbb.CreateString(actor);
    auto payload_off = payload.Pack(fbb);
    auto root = schema::CreateEventRecord(fbb, ++position_, stream_off, 1, at, actor_off, 0, 0,
                                          nullptr, nullptr, payload.type, payload_off);
    fbb.Finish(root);
    const auto& event = *flatbuffers::GetRoot<schema::EventRecord>(fbb.GetBufferPointer());
    view_.Apply(event, rows_);
    reference_.Apply(event, reference_rows_);
  }

  void Submit(const std::string& family, const std::string& request, schema::RequestKind kind,
              std::vector<std::string> children, std::vector<std::string> activities, int from,
              int to, const std::string& by_name, bool not_taken = false,
              const std::string& actor = "account-alice", int64_t at = 1'000) {
    schema::RequestSubmittedT s;
    s.request_id = request;
    s.family_id = family;
    s.kind = kind;
    s.from = from;
    s.to = to;
    s.weekdays = 0x15;
    s.children = std::move(children);
    s.activities = std::move(activities);
    if (not_taken) {
      auto line = std::make_unique<schema::RefusedLineT>();
      line->child_id = s.children.empty() ? "" : s.children[0];
      line->activity_id = s.activities.empty() ? "" : s.activities[0];
      line->day = from;
      line->code = "past_deadline";
      line->reason = "Trop tard \"pour\" ce jour";
      s.not_taken.push_back(std::move(line));
    }
    s.by_name = by_name;
    Append("request-" + request, MakePayload(std::move(s)), actor, at);
  }

  void Book(const std::string& request, const std::string& child, const std::string& activity,
            int day, schema::BookingState state, schema::BookingCause cause,
            const std::string& actor, int64_t at, const std::string& reason = "",
            const std::string& by_name = "Agent Mairie") {
    schema::BookingChangedT b;
    b.activity_id = activity;
    b.day = day;
    b.child_id = child;
    b.family_id = "f1";
    b.request_id = request;
    b.state = state;
    b.cause = cause;
    b.reason = reason;
    b.by_name = by_name;
    Append("slot-" + activity + "-" + std::to_string(day), MakePayload(std::move(b)), actor, at);
  }

  void Message(const std::string& request, bool from_town, const std::string& text,
               const std::string& actor, int64_t at) {
    schema::RequestMessageT m;
    m.request_id = request;
    m.family_id = "f1";
    m.from_town = from_town;
    m.text = text;
    m.by_name = from_town ? "Agent Mairie" : "Alice";
    Append("request-" + request, MakePayload(std::move(m)), actor, at);
  }

  void Read(const std::string& account, const std::string& request, uint64_t up_to) {
    if (request.empty()) {
      schema::AllRequestsReadT r;
      r.account_id = account;
      r.up_to_position = up_to;
      Append("reads-" + account, MakePayload(std::move(r)), "account-" + account);
    } else {
      schema::RequestReadT r;
      r.account_id = account;
      r.request_id = request;
      r.up_to_position = up_to;
      Append("reads-" + account, MakePayload(std::move(r)), "account-" + account);
    }
  }

  void ProposeChange(const std::string& family, const std::string& change,
                     const std::string& member) {
    schema::ChangeProposedT c;
    c.family_id = family;
    c.change_id = change;
    c.kind = member.empty() ? schema::ChangeKind::Update : schema::ChangeKind::AddMember;
    c.member_id = member.empty() ? "m1" : member;
    auto section = std::make_unique<schema::SectionValuesT>();
    section->section = "general";
    c.sections.push_back(std::move(section));
    c.by_name = "Alice";
    Append("dossier-" + family, MakePayload(std::move(c)));
  }

  void DecideChange(const std::string& change, int how, const std::string& actor, int64_t at) {
    switch (how) {
      case 0: {
        schema::ChangeApprovedT c;
        c.change_id = change;
        c.by_name = "Agent Mairie";
        Append("dossier-f1", MakePayload(std::move(c)), actor, at);
        break;
      }
      case 1: {
        schema::ChangeRejectedT c;
        c.change_id = change;
        c.reason = "Pièce manquante";
        c.by_name = "Agent Mairie";
        Append("dossier-f1", MakePayload(std::move(c)), actor, at);
        break;
      }
      case 2: {
        schema::ChangeWithdrawnT c;
        c.change_id = change;
        c.by_name = "Alice";
        Append("dossier-f1", MakePayload(std::move(c)), actor, at);
        break;
      }
      default: {
        schema::ChangeSupersededT c;
        c.change_id = change;
        c.by_change_id = "x9";
        Append("dossier-f1", MakePayload(std::move(c)), actor, at);
        break;
      }
    }
  }

  void Cancel(const std::string& request, const std::string& actor, int64_t at) {
    schema::RequestCancelledT c;
    c.request_id = request;
    c.by_name = "Alice";
    Append("request-" + request, MakePayload(std::move(c)), actor, at);
  }

  // Every read function, with many arguments, returns the same from both views.
  void ExpectSameReads(const std::vector<std::string>& requests) {
    const std::vector<std::vector<std::string>> families = {{"f1"}, {"f2"}, {"f1", "f2"}, {}};
    std::vector<RequestFilter> filters(1);
    for (std::string kind : {"reservation", "absence", "dossier_change", "nope"}) {
      filters.emplace_back().kind = kind;
    }
    for (std::string state : {"pending", "partly_decided", "accepted", "partly_accepted", "refused",
                              "waiting_list", "cancelled", "superseded"}) {
      filters.emplace_back().state = state;
    }
    for (std::string child : {"c1", "c2", "m1", "c"}) filters.emplace_back().child_id = child;
    filters.emplace_back().from_day = 103;
    filters.emplace_back().to_day = 101;
    filters.emplace_back().from_day = 101;
    filters.back().to_day = 102;
    for (std::string account : {"alice", "bob"}) {
      for (const auto& f : families) {
        for (const auto& filter : filters) {
          for (uint64_t before : {uint64_t{0}, position_ / 2, position_ / 3}) {
            for (size_t limit : {size_t{1}, size_t{3}, size_t{1000}}) {
              EXPECT_EQ(Describe(RequestsView::List(rows_, f, account, filter, before, limit)),
                        Describe(RequestsViewV2::List(reference_rows_, f, account, filter, before,
                                                      limit)))
                  << account << " " << filter.kind << filter.state << filter.child_id;
            }
          }
        }
      }
      for (const auto& r : requests) {
        EXPECT_EQ(Describe(RequestsView::History(rows_, r, account)),
                  Describe(RequestsViewV2::History(reference_rows_, r, account)))
            << r;
      }
    }
    for (std::string activity : {"", "a1", "a2", "a9"}) {
      for (std::optional<int> day : {std::optional<int>(), std::optional<int>(101)}) {
        for (std::string kind : {"", "reservation", "absence"}) {
          for (uint64_t after : {uint64_t{0}, position_ / 2}) {
            for (size_t limit : {size_t{0}, size_t{2}, size_t{1000}}) {
              EXPECT_EQ(Describe(RequestsView::Queue(rows_, activity, day, kind, after, limit)),
                        Describe(RequestsViewV2::Queue(reference_rows_, activity, day, kind, after,
                                                       limit)));
            }
          }
        }
      }
    }
    EXPECT_EQ(Describe(RequestsView::PendingByActivity(rows_)),
              Describe(RequestsViewV2::PendingByActivity(reference_rows_)));
  }

  RequestsView view_;
  RequestsViewV2 reference_;
  MemoryRows rows_;
  MemoryRows reference_rows_;
  uint64_t position_ = 0;
};

using schema::BookingCause;
using schema::BookingState;

TEST_F(RequestsViewTest, AReservationDecidedDayByDayReadsAsBefore) {
  Submit("f1", "r1", schema::RequestKind::Reservation, {"c1", "c2"}, {"a1"}, 101, 104, "Alice",
         true);
  for (int day : {101, 102, 104}) {
    for (std::string child : {"c1", "c2"}) {
      Book("r1", child, "a1", day, BookingState::ReservationRequested, BookingCause::Requested,
           "account-alice", 1'000, "", "Alice");
    }
  }
  ExpectSameReads({"r1"});
  Book("r1", "c1", "a1", 101, BookingState::Reserved, BookingCause::Decided, "agent", 2'000);
  Book("r1", "c2", "a1", 101, BookingState::Refused, BookingCause::Decided, "agent", 2'000,
       "Plus de place");
  ExpectSameReads({"r1"});
  Message("r1", true, "Merci de \"confirmer\"\n", "agent", 3'000);
  Read("alice", "r1", position_);
  Book("r1", "c1", "a1", 102, BookingState::WaitingList, BookingCause::Decided, "agent", 4'000);
  Book("r1", "c1", "a1", 102, BookingState::Reserved, BookingCause::Promoted, "system", 5'000);
  ExpectSameReads({"r1", "r2"});
  Cancel("r1", "account-alice", 6'000);
  Book("r1", "c1", "a1", 104, BookingState::None, BookingCause::Cancelled, "account-alice", 6'000);
  Book("r1", "c2", "a1", 104, BookingState::None, BookingCause::Cancelled, "account-alice", 6'000);
  ExpectSameReads({"r1"});
}

TEST_F(RequestsViewTest, AnAbsenceRefusedLeavesTheDayReservedAndReadsRefused) {
  Submit("f1", "r1", schema::RequestKind::Absence, {"c1"}, {"a2"}, 103, 103, "Alice");
  Book("r1", "c1", "a2", 103, BookingState::AbsenceRequested, BookingCause::Requested,
       "account-alice", 1'000, "", "Alice");
  Book("r1", "c1", "a2", 103, BookingState::Reserved, BookingCause::Decided, "agent", 2'000,
       "Trop tard");
  ExpectSameReads({"r1"});
  auto list = RequestsView::List(rows_, {"f1"}, "alice", {}, 0, 10);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_NE(list[0].json.find("\"state\":\"refused\""), std::string::npos) << list[0].json;
  EXPECT_EQ(list[0].unread, 1);
}

TEST_F(RequestsViewTest, DossierChangesKeepTheirStatusAndReadAsBefore) {
  ProposeChange("f1", "ch1", "");
  ProposeChange("f1", "ch2", "m2");
  ProposeChange("f1", "ch3", "");
  DecideChange("ch1", 0, "agent", 2'000);
  DecideChange("ch2", 1, "agent", 2'000);
  DecideChange("ch3", 3, "system", 2'000);
  ExpectSameReads({"ch1", "ch2", "ch3"});
  auto h = RequestsView::History(rows_, "ch2", "alice");
  ASSERT_TRUE(h.has_value());
  EXPECT_NE(h->summary.json.find("\"state\":\"refused\""), std::string::npos) << h->summary.json;
}

// The counts leave out the moves of the request last booked until another is: they read the same
// after every event, however the requests' bookings interleave.
TEST_F(RequestsViewTest, PendingCountsReadAsBeforeAfterEveryEvent) {
  std::mt19937 random(20261130);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  const std::vector<std::string> activities = {"a1", "a2", "a3"};
  for (const std::string r : {"r1", "r2", "r3"}) {
    Submit("f1", r, r == "r3" ? schema::RequestKind::Absence : schema::RequestKind::Reservation,
           {"c1", "c2"}, activities, 100, 103, "Alice");
  }
  for (int i = 0; i < 400; ++i) {
    std::string request = "r" + std::to_string(1 + pick(3));
    auto state =
        pick(2) == 0 ? BookingState::ReservationRequested : static_cast<BookingState>(pick(7));
    Book(request, pick(2) == 0 ? "c1" : "c2", activities[pick(3)], 100 + pick(4), state,
         static_cast<BookingCause>(pick(5)), "agent", 1'000 + 1'000 * (i / 5));
    ASSERT_EQ(Describe(RequestsView::PendingByActivity(rows_)),
              Describe(RequestsViewV2::PendingByActivity(reference_rows_)))
        << "after booking " << i;
  }
  ExpectSameReads({"r1", "r2", "r3"});
}

TEST_F(RequestsViewTest, RandomLogsReadAsBefore) {
  std::mt19937 random(20261129);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  const std::vector<std::string> children = {"c1", "c2", "c3"};
  const std::vector<std::string> activities = {"a1", "a2", "a3"};
  const std::vector<std::string> actors = {"account-alice", "agent", "system"};
  const std::vector<std::string> names = {"Alice", "Agent \"Mairie\"", "Zoé\n\t\\", "bad \xff"};
  std::vector<std::string> requests;
  int64_t at = 1'000;
  std::string actor = actors[0];
  for (int i = 0; i < 1500; ++i) {
    if (pick(3) == 0) {  // a new append: another time, often another actor
      at += 1'000;
      actor = actors[pick(3)];
    }
    int what = pick(100);
    if (requests.empty() || what < 8) {
      std::string id = (pick(10) == 0 ? "ch" : "r") + std::to_string(requests.size());
      if (id.starts_with("ch")) {
        ProposeChange(pick(2) == 0 ? "f1" : "f2", id, pick(2) == 0 ? "" : "m1");
      } else {
        std::vector<std::string> cs(children.begin(), children.begin() + 1 + pick(3));
        std::vector<std::string> as(activities.begin(), activities.begin() + 1 + pick(3));
        int from = 100 + pick(4);
        Submit(pick(3) == 0 ? "f2" : "f1", id,
               pick(3) == 0 ? schema::RequestKind::Absence : schema::RequestKind::Reservation, cs,
               as, from, from + pick(3), names[pick(4)], pick(4) == 0, actor, at);
      }
      requests.push_back(id);
    } else if (what < 85) {
      std::string request = pick(30) == 0 ? "unknown" : requests[pick(requests.size())];
      Book(request, children[pick(3)], activities[pick(3)], 100 + pick(6),
           static_cast<BookingState>(pick(7)), static_cast<BookingCause>(pick(5)), actor, at,
           pick(4) == 0 ? "Plus de place \"ici\"" : "", names[pick(4)]);
    } else if (what < 90) {
      Message(requests[pick(requests.size())], pick(2) == 0, names[pick(4)], actor, at);
    } else if (what < 93) {
      Cancel(requests[pick(requests.size())], actor, at);
    } else if (what < 96) {
      DecideChange(requests[pick(requests.size())], pick(4), actor, at);
    } else {
      Read(pick(2) == 0 ? "alice" : "bob", pick(2) == 0 ? "" : requests[pick(requests.size())],
           position_ - pick(static_cast<int>(position_)));
    }
    if (i % 300 == 299) ExpectSameReads(requests);
    if (HasFailure()) return;
  }
  requests.push_back("unknown");
  ExpectSameReads(requests);
}

}  // namespace
}  // namespace portail::projections
