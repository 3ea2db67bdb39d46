// The planning's aggregates and commands: activities (activity-<id>), children's enrolments
// (child-<id>), requests (request-<id>) and each activity-day's bookings and places
// (slot-<activity>-<day>). A request or a decision appends to every stream it touches in one
// atomic batch, each with the version its decision saw: capacity can never be exceeded.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "commands/command.h"
#include "commands/planning_rules.h"

namespace portail::commands {

std::string ActivityStream(std::string_view activity_id);
std::string ChildStream(std::string_view child_id);
std::string RequestStream(std::string_view request_id);
std::string SlotStream(std::string_view activity_id, Day day);

class ActivityState : public AggregateState {
 public:
  std::unique_ptr<AggregateState> Clone() const override {
    return std::make_unique<ActivityState>(*this);
  }
  bool exists = false;
  ActivityRules rules;

 protected:
  void Evolve(const schema::EventRecord& event) override;
};

class ChildState : public AggregateState {
 public:
  std::unique_ptr<AggregateState> Clone() const override {
    return std::make_unique<ChildState>(*this);
  }
  std::string family_id;
  std::vector<Enrolment> enrolments;

 protected:
  void Evolve(const schema::EventRecord& event) override;
};

// One child-activity-day of a request.
struct BookingKey {
  std::string child_id;
  std::string activity_id;
  Day day;
  auto operator<=>(const BookingKey&) const = default;
};

class RequestState : public AggregateState {
 public:
  std::unique_ptr<AggregateState> Clone() const override {
    return std::make_unique<RequestState>(*this);
  }
  bool exists = false;
  std::string family_id;
  schema::RequestKind kind = schema::RequestKind::Reservation;
  std::vector<BookingKey> taken;
  bool cancelled = false;

 protected:
  void Evolve(const schema::EventRecord& event) override;
};

// The bookings of one activity on one day.
class SlotState : public AggregateState {
 public:
  std::unique_ptr<AggregateState> Clone() const override {
    return std::make_unique<SlotState>(*this);
  }
  struct Booking {
    schema::BookingState state = schema::BookingState::None;
    std::string request_id;
    std::string family_id;
  };
  std::map<std::string, Booking> children;  // by child id
  std::vector<std::string> waiting;         // child ids on the waiting list, first come first
  // Places in use: reserved days, and reserved days with an absence not yet accepted.
  int Taken() const;
  schema::BookingState StateOf(const std::string& child_id) const;

 protected:
  void Evolve(const schema::EventRecord& event) override;
};

// Registers the factories of "activity", "child", "request" and "slot" streams.
void RegisterPlanningAggregates(AggregateRegistry& registry);

// An agent creates (`create`) or redefines an activity.
class DefineActivity : public Command {
 public:
  ActivityRules rules;
  bool create = true;
  std::vector<std::string> Streams() const override { return {ActivityStream(rules.id)}; }
  Result<Decision> Decide(const States& states, Micros now) const override;
};

// An agent enrols a child of a family in an activity for a range of days and weekdays.
class EnrolChild : public Command {
 public:
  std::string family_id;
  std::string child_id;
  Enrolment enrolment;
  std::string by_name;
  std::vector<std::string> Streams() const override;
  Result<Decision> Decide(const States& states, Micros now) const override;
};

// An agent changes or ends an enrolment (to < from ends it before it began).
class ChangeEnrolment : public Command {
 public:
  std::string child_id;
  Enrolment enrolment;  // id, from, to, weekdays
  std::string by_name;
  std::vector<std::string> Streams() const override { return {ChildStream(child_id)}; }
  Result<Decision> Decide(const States& states, Micros now) const override;
};

// A line of a request that could not be taken, and why.
struct RefusedDay {
  BookingKey key;
  ErrorCode code;
  std::string reason;
};

// The reply of SubmitRequest: each day taken with its state, and the others with their reason.
struct SubmitReply {
  std::vector<std::pair<BookingKey, schema::BookingState>> taken;
  std::vector<RefusedDay> not_taken;
};

// A family asks for reservations or absences: several children, activities and days at once
// (one day from the planning, or a period with weekdays from the form). Every day is checked by
// the same rules; the request groups the days taken. Automatic activities decide at once
// (accepted while places last, else waiting list; absences accepted, freeing a place for the
// first waiting child). Nothing taken: the (first) reason as the error.
class SubmitRequest : public Command {
 public:
  static constexpr int kMaxDays = 366;
  std::string request_id;
  std::string family_id;
  schema::RequestKind kind = schema::RequestKind::Reservation;
  std::vector<std::string> children;
  std::vector<std::string> activities;
  Day from;
  Day to;
  uint8_t weekdays = kEveryDay;
  std::string by_name;
  std::vector<std::string> Streams() const override;
  Result<Decision> Decide(const States& states, Micros now) const override;
  // The days of the range on the weekdays asked (for every activity: the streams must be known
  // before the activities' own weekdays are).
  std::vector<Day> Days() const { return DaysInRange(from, to, weekdays); }
};

enum class Outcome { kAccept, kRefuse, kWaitingList };

struct DayDecision {
  BookingKey key;
  Outcome outcome = Outcome::kAccept;
  std::string reason;
};

// An agent answers days of a request: accept (within capacity), refuse (with a reason), or put
// on the waiting list. An accepted absence frees a place, given at once to the first waiting
// child where the activity is automatic. All or nothing.
class DecideBookings : public Command {
 public:
  std::string request_id;
  std::vector<DayDecision> decisions;
  std::string by_name;
  std::vector<std::string> Streams() const override;
  Result<Decision> Decide(const States& states, Micros now) const override;
};

// A family cancels what is still pending in its request (`taken`: the request's days, as
// recorded when it was submitted; checked against the request).
class CancelRequest : public Command {
 public:
  std::string request_id;
  std::string family_id;
  std::vector<BookingKey> taken;
  std::string by_name;
  std::vector<std::string> Streams() const override;
  Result<Decision> Decide(const States& states, Micros now) const override;
};

}  // namespace portail::commands
