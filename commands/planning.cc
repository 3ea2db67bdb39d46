// The planning's deciders (see planning.h).
#include "commands/planning.h"

#include <algorithm>
#include <set>

#include "commands/dossier.h"
#include "events/stored_event.h"

namespace portail::commands {
namespace {

using events::Str;
using schema::BookingState;

bool Pending(BookingState state) {
  return state == BookingState::ReservationRequested || state == BookingState::WaitingList ||
         state == BookingState::AbsenceRequested;
}

bool HoldsPlace(BookingState state) {
  return state == BookingState::Reserved || state == BookingState::AbsenceRequested;
}

std::string DayText(const BookingKey& key) { return FormatDay(key.day); }

// The slots one decision changes, with the bookings as they stand after the events decided so
// far: several lines of one command may touch the same slot.
class SlotChanges {
 public:
  SlotChanges(const States& states, std::string family_id, std::string by_name)
      : states_(states), family_id_(std::move(family_id)), by_name_(std::move(by_name)) {}

  SlotState& Slot(const std::string& activity_id, Day day) {
    std::string stream = SlotStream(activity_id, day);
    auto found = slots_.find(stream);
    if (found == slots_.end()) {
      const auto* state = states_.As<SlotState>(stream);
      found = slots_.emplace(stream, state ? *state : SlotState()).first;
    }
    return found->second;
  }

  // Records a booking change (updating the working copy of its slot).
  void Change(const BookingKey& key, const std::string& request_id, BookingState state,
              schema::BookingCause cause, const std::string& reason = "",
              const std::string& family_id = "") {
    SlotState& slot = Slot(key.activity_id, key.day);
    auto& booking = slot.children[key.child_id];
    std::erase(slot.waiting, key.child_id);
    if (state == BookingState::WaitingList) slot.waiting.push_back(key.child_id);
    booking.state = state;
    booking.request_id = request_id;
    if (!family_id.empty()) booking.family_id = family_id;
    if (booking.family_id.empty()) booking.family_id = family_id_;
    schema::BookingChangedT changed;
    changed.activity_id = key.activity_id;
    changed.day = DaysOf(key.day);
    changed.child_id = key.child_id;
    changed.family_id = booking.family_id;
    changed.request_id = request_id;
    changed.state = state;
    changed.cause = cause;
    changed.reason = reason;
    changed.by_name = by_name_;
    events_[SlotStream(key.activity_id, key.day)].push_back(MakePayload(std::move(changed)));
  }

  // Gives a freed place to the first waiting child, if any.
  void Promote(const std::string& activity_id, Day day, int capacity) {
    SlotState& slot = Slot(activity_id, day);
    if (slot.waiting.empty() || slot.Taken() >= capacity) return;
    std::string child = slot.waiting.front();
    std::string request_id = slot.children[child].request_id;
    std::string family_id = slot.children[child].family_id;
    Change({child, activity_id, day}, request_id, BookingState::Reserved,
           schema::BookingCause::Promoted, "", family_id);
  }

  void AppendTo(Decision& decision) {
    for (auto& [stream, events] : events_) {
      decision.appends.push_back({stream, {}, std::move(events)});
    }
  }

 private:
  const States& states_;
  std::string family_id_;
  std::string by_name_;
  std::map<std::string, SlotState> slots_;
  std::map<std::string, std::vector<schema::PayloadUnion>> events_;
};

}  // namespace

std::string ActivityStream(std::string_view id) { return "activity-" + std::string(id); }
std::string ChildStream(std::string_view id) { return "child-" + std::string(id); }
std::string RequestStream(std::string_view id) { return "request-" + std::string(id); }
std::string SlotStream(std::string_view activity_id, Day day) {
  return "slot-" + std::string(activity_id) + "-" + std::to_string(DaysOf(day));
}

void ActivityState::Evolve(const schema::EventRecord& event) {
  if (event.payload_type() == schema::Payload::ActivityDefined) {
    exists = true;
    rules = RulesOf(*event.payload_as_ActivityDefined());
  }
}

void ChildState::Evolve(const schema::EventRecord& event) {
  if (event.payload_type() == schema::Payload::ChildEnrolled) {
    const auto* e = event.payload_as_ChildEnrolled();
    family_id = Str(e->family_id());
    enrolments.push_back({Str(e->enrolment_id()), Str(e->activity_id()), DayOf(e->from()),
                          DayOf(e->to()), e->weekdays()});
  } else if (event.payload_type() == schema::Payload::EnrolmentChanged) {
    const auto* e = event.payload_as_EnrolmentChanged();
    for (auto& enrolment : enrolments) {
      if (enrolment.id != Str(e->enrolment_id())) continue;
      enrolment.from = DayOf(e->from());
      enrolment.to = DayOf(e->to());
      enrolment.weekdays = e->weekdays();
    }
  }
}

void RequestState::Evolve(const schema::EventRecord& event) {
  if (event.payload_type() == schema::Payload::RequestSubmitted) {
    const auto* e = event.payload_as_RequestSubmitted();
    exists = true;
    family_id = Str(e->family_id());
    kind = e->kind();
    if (e->taken() != nullptr) {
      for (const auto* line : *e->taken()) {
        taken.push_back({Str(line->child_id()), Str(line->activity_id()), DayOf(line->day())});
      }
    }
  } else if (event.payload_type() == schema::Payload::RequestCancelled) {
    cancelled = true;
  }
}

int SlotState::Taken() const {
  int taken = 0;
  for (const auto& [child, booking] : children) taken += HoldsPlace(booking.state) ? 1 : 0;
  return taken;
}

BookingState SlotState::StateOf(const std::string& child_id) const {
  auto found = children.find(child_id);
  return found == children.end() ? BookingState::None : found->second.state;
}

void SlotState::Evolve(const schema::EventRecord& event) {
  if (event.payload_type() != schema::Payload::BookingChanged) return;
  const auto* e = event.payload_as_BookingChanged();
  std::string child = Str(e->child_id());
  std::erase(waiting, child);
  if (e->state() == BookingState::None) {
    children.erase(child);
    return;
  }
  Booking& booking = children[child];
  booking.state = e->state();
  booking.request_id = Str(e->request_id());
  booking.family_id = Str(e->family_id());
  if (e->state() == BookingState::WaitingList) waiting.push_back(child);
}

void RegisterPlanningAggregates(AggregateRegistry& registry) {
  registry.Register("activity", [] { return std::make_unique<ActivityState>(); });
  registry.Register("child", [] { return std::make_unique<ChildState>(); });
  registry.Register("request", [] { return std::make_unique<RequestState>(); });
  registry.Register("slot", [] { return std::make_unique<SlotState>(); });
}

Result<Decision> DefineActivity::Decide(const States& states, Micros) const {
  const auto* state = states.As<ActivityState>(ActivityStream(rules.id));
  if (create && state->exists) return Fail(ErrorCode::kConflict, "activity id already in use");
  if (!create && !state->exists) return Fail(ErrorCode::kNotFound, "no such activity");
  if (auto ok = CheckActivity(rules); !ok) return std::unexpected(ok.error());
  schema::ActivityDefinedT defined;
  defined.activity_id = rules.id;
  defined.name = rules.name;
  defined.kind = rules.kind;
  defined.weekdays = rules.calendar.weekdays;
  for (const auto& [from, to] : rules.calendar.periods) {
    auto range = std::make_unique<schema::DayRangeT>();
    range->from = DaysOf(from);
    range->to = DaysOf(to);
    defined.periods.push_back(std::move(range));
  }
  for (Day day : rules.calendar.closed_days) defined.closed_days.push_back(DaysOf(day));
  defined.capacity = rules.capacity;
  defined.reservation_notice = NoticeT(rules.reservation_notice);
  defined.absence_notice = NoticeT(rules.absence_notice);
  defined.mode = rules.automatic ? schema::DecisionMode::Automatic : schema::DecisionMode::Agent;
  Decision decision;
  decision.appends.push_back({ActivityStream(rules.id), {}, {MakePayload(std::move(defined))}});
  decision.reply = rules.id;
  return decision;
}

std::vector<std::string> EnrolChild::Streams() const {
  return {ChildStream(child_id), ActivityStream(enrolment.activity_id), DossierStream(family_id)};
}

Result<Decision> EnrolChild::Decide(const States& states, Micros) const {
  const auto* dossier = states.As<DossierState>(DossierStream(family_id));
  const auto* member = dossier->Member(child_id);
  if (member == nullptr || member->kind != schema::dossier::Kind::kChild) {
    return Fail(ErrorCode::kNotFound, "no such child in this family");
  }
  const auto* activity = states.As<ActivityState>(ActivityStream(enrolment.activity_id));
  if (!activity->exists) return Fail(ErrorCode::kNotFound, "no such activity");
  if (enrolment.to < enrolment.from || (enrolment.weekdays & kEveryDay) == 0) {
    return std::unexpected(
        Error(ErrorCode::kInvalid, "the enrolment has no day",
              {{"to", "must not be before from"}, {"weekdays", "must name at least one day"}}));
  }
  const auto* child = states.As<ChildState>(ChildStream(child_id));
  for (const auto& e : child->enrolments) {
    if (e.activity_id == enrolment.activity_id && e.from <= enrolment.to &&
        enrolment.from <= e.to) {
      return Fail(ErrorCode::kConflict, "the child is already enrolled in " + activity->rules.name +
                                            " from " + FormatDay(e.from) + " to " +
                                            FormatDay(e.to) + "; change that enrolment instead");
    }
  }
  schema::ChildEnrolledT enrolled;
  enrolled.enrolment_id = enrolment.id;
  enrolled.family_id = family_id;
  enrolled.child_id = child_id;
  enrolled.activity_id = enrolment.activity_id;
  enrolled.from = DaysOf(enrolment.from);
  enrolled.to = DaysOf(enrolment.to);
  enrolled.weekdays = enrolment.weekdays;
  enrolled.by_name = by_name;
  Decision decision;
  decision.appends.push_back({ChildStream(child_id), {}, {MakePayload(std::move(enrolled))}});
  decision.reply = enrolment.id;
  return decision;
}

Result<Decision> ChangeEnrolment::Decide(const States& states, Micros) const {
  const auto* child = states.As<ChildState>(ChildStream(child_id));
  bool known = std::any_of(child->enrolments.begin(), child->enrolments.end(),
                           [&](const Enrolment& e) { return e.id == enrolment.id; });
  if (!known) return Fail(ErrorCode::kNotFound, "no such enrolment of this child");
  if ((enrolment.weekdays & kEveryDay) == 0) {
    return std::unexpected(Error(ErrorCode::kInvalid, "weekdays must name at least one day",
                                 {{"weekdays", "must name at least one day"}}));
  }
  schema::EnrolmentChangedT changed;
  changed.enrolment_id = enrolment.id;
  changed.from = DaysOf(enrolment.from);
  changed.to = DaysOf(enrolment.to);
  changed.weekdays = enrolment.weekdays;
  changed.by_name = by_name;
  Decision decision;
  decision.appends.push_back({ChildStream(child_id), {}, {MakePayload(std::move(changed))}});
  decision.reply = enrolment.id;
  return decision;
}

std::vector<std::string> SubmitRequest::Streams() const {
  std::vector<std::string> streams = {RequestStream(request_id), DossierStream(family_id)};
  for (const auto& c : children) streams.push_back(ChildStream(c));
  std::vector<Day> days = Days();
  for (const auto& a : activities) {
    streams.push_back(ActivityStream(a));
    for (Day day : days) streams.push_back(SlotStream(a, day));
  }
  return streams;
}

Result<Decision> SubmitRequest::Decide(const States& states, Micros now) const {
  if (states.Get(RequestStream(request_id)).version() > 0) {
    return Fail(ErrorCode::kConflict, "request id already in use; retry");
  }
  const auto* dossier = states.As<DossierState>(DossierStream(family_id));
  for (const auto& c : children) {
    const auto* member = dossier->Member(c);
    if (member == nullptr || member->kind != schema::dossier::Kind::kChild) {
      return std::unexpected(Error(ErrorCode::kNotFound, "no such child in this family",
                                   {{"children", c + " is not a child of this family"}}));
    }
  }
  bool reservation = kind == schema::RequestKind::Reservation;
  SlotChanges changes(states, family_id, by_name);
  SubmitReply reply;
  schema::RequestSubmittedT submitted;
  std::vector<Day> days = Days();
  for (const auto& a : activities) {
    const auto* activity = states.As<ActivityState>(ActivityStream(a));
    if (!activity->exists) {
      return std::unexpected(Error(ErrorCode::kNotFound, "no such activity",
                                   {{"activities", a + " is not an activity"}}));
    }
    const ActivityRules& rules = activity->rules;
    for (Day day : days) {
      if ((rules.calendar.weekdays & WeekdayBit(day)) == 0) continue;  // never runs that day
      for (const auto& c : children) {
        BookingKey key{c, a, day};
        const auto* child = states.As<ChildState>(ChildStream(c));
        bool enrolled = EnrolledOn(child->enrolments, a, day);
        SlotState& slot = changes.Slot(a, day);
        BookingState state = slot.StateOf(c);
        Status ok = reservation ? CheckReservation(rules, enrolled, state, day, now)
                                : CheckAbsence(rules, enrolled, state, day, now);
        if (!ok) {
          reply.not_taken.push_back({key, ok.error().code, ok.error().message});
          continue;
        }
        BookingState next;
        schema::BookingCause cause = schema::BookingCause::Requested;
        if (!rules.automatic) {
          next = reservation ? BookingState::ReservationRequested : BookingState::AbsenceRequested;
        } else if (reservation) {
          next = slot.Taken() < rules.capacity ? BookingState::Reserved : BookingState::WaitingList;
          cause = schema::BookingCause::Automatic;
        } else {
          next = BookingState::Absent;
          cause = schema::BookingCause::Automatic;
        }
        changes.Change(key, request_id, next, cause);
        if (next == BookingState::Absent) changes.Promote(a, day, rules.capacity);
        reply.taken.emplace_back(key, next);
      }
    }
  }
  if (reply.taken.empty()) {
    if (reply.not_taken.empty()) {
      return Fail(ErrorCode::kInvalid, "the period has no day on which these activities run");
    }
    const RefusedDay& first = reply.not_taken.front();
    if (reply.not_taken.size() == 1) return Fail(first.code, first.reason);
    std::vector<FieldError> days;
    for (const auto& refused : reply.not_taken) {
      if (days.size() == 50) break;
      days.push_back(
          {DayText(refused.key) + "/" + refused.key.child_id + "/" + refused.key.activity_id,
           refused.reason});
    }
    return std::unexpected(Error(first.code,
                                 "none of the " + std::to_string(reply.not_taken.size()) +
                                     " days can be taken; the first: " + first.reason,
                                 std::move(days)));
  }
  submitted.request_id = request_id;
  submitted.family_id = family_id;
  submitted.kind = kind;
  submitted.from = DaysOf(from);
  submitted.to = DaysOf(to);
  submitted.weekdays = weekdays;
  submitted.children = children;
  submitted.activities = activities;
  submitted.by_name = by_name;
  for (const auto& [key, state] : reply.taken) {
    auto line = std::make_unique<schema::BookingLineT>();
    line->child_id = key.child_id;
    line->activity_id = key.activity_id;
    line->day = DaysOf(key.day);
    submitted.taken.push_back(std::move(line));
  }
  for (const auto& refused : reply.not_taken) {
    auto line = std::make_unique<schema::RefusedLineT>();
    line->child_id = refused.key.child_id;
    line->activity_id = refused.key.activity_id;
    line->day = DaysOf(refused.key.day);
    line->code = std::string(ErrorCodeName(refused.code));
    line->reason = refused.reason;
    submitted.not_taken.push_back(std::move(line));
  }
  Decision decision;
  decision.appends.push_back({RequestStream(request_id), {}, {MakePayload(std::move(submitted))}});
  changes.AppendTo(decision);
  decision.reply = std::move(reply);
  return decision;
}

std::vector<std::string> DecideBookings::Streams() const {
  std::set<std::string> streams;
  for (const auto& d : decisions) {
    streams.insert(ActivityStream(d.key.activity_id));
    streams.insert(SlotStream(d.key.activity_id, d.key.day));
  }
  std::vector<std::string> out = {RequestStream(request_id)};
  out.insert(out.end(), streams.begin(), streams.end());
  return out;
}

Result<Decision> DecideBookings::Decide(const States& states, Micros) const {
  const auto* request = states.As<RequestState>(RequestStream(request_id));
  if (!request->exists) return Fail(ErrorCode::kNotFound, "no such request");
  if (decisions.empty()) return Fail(ErrorCode::kInvalid, "no day to decide");
  SlotChanges changes(states, request->family_id, by_name);
  std::set<BookingKey> seen;
  for (const auto& d : decisions) {
    const BookingKey& key = d.key;
    std::string day = DayText(key);
    if (!seen.insert(key).second) return Fail(ErrorCode::kInvalid, day + " is decided twice");
    if (std::find(request->taken.begin(), request->taken.end(), key) == request->taken.end()) {
      return Fail(ErrorCode::kNotFound, "the request has no such day: " + day);
    }
    const ActivityRules& rules = states.As<ActivityState>(ActivityStream(key.activity_id))->rules;
    SlotState& slot = changes.Slot(key.activity_id, key.day);
    auto found = slot.children.find(key.child_id);
    BookingState state = found != slot.children.end() && found->second.request_id == request_id
                             ? found->second.state
                             : BookingState::None;
    if (!Pending(state)) {
      return Fail(ErrorCode::kConflict,
                  day + " is no longer pending (" + std::string(BookingStateName(state)) + ")");
    }
    bool absence = state == BookingState::AbsenceRequested;
    switch (d.outcome) {
      case Outcome::kAccept:
        if (absence) {
          changes.Change(key, request_id, BookingState::Absent, schema::BookingCause::Decided);
          if (rules.automatic) changes.Promote(key.activity_id, key.day, rules.capacity);
        } else {
          if (slot.Taken() >= rules.capacity) {
            return Fail(ErrorCode::kFull, "no place left in " + rules.name + " on " + day + " (" +
                                              std::to_string(rules.capacity) +
                                              " places): put it on the waiting list or refuse it");
          }
          changes.Change(key, request_id, BookingState::Reserved, schema::BookingCause::Decided);
        }
        break;
      case Outcome::kRefuse:
        changes.Change(key, request_id, absence ? BookingState::Reserved : BookingState::Refused,
                       schema::BookingCause::Decided, d.reason);
        break;
      case Outcome::kWaitingList:
        if (absence || state == BookingState::WaitingList) {
          return Fail(ErrorCode::kInvalid,
                      day + (absence ? ": an absence cannot wait" : " is already waiting"));
        }
        changes.Change(key, request_id, BookingState::WaitingList, schema::BookingCause::Decided);
        break;
    }
  }
  Decision decision;
  changes.AppendTo(decision);
  return decision;
}

std::vector<std::string> CancelRequest::Streams() const {
  std::vector<std::string> streams = {RequestStream(request_id)};
  std::set<std::string> slots;
  for (const auto& key : taken) slots.insert(SlotStream(key.activity_id, key.day));
  streams.insert(streams.end(), slots.begin(), slots.end());
  return streams;
}

Result<Decision> CancelRequest::Decide(const States& states, Micros) const {
  const auto* request = states.As<RequestState>(RequestStream(request_id));
  if (!request->exists || request->family_id != family_id) {
    return Fail(ErrorCode::kNotFound, "no such request");
  }
  if (request->taken != taken) {
    return Fail(ErrorCode::kInternal, "the request's days were read wrongly; retry");
  }
  SlotChanges changes(states, family_id, by_name);
  int cancelled = 0;
  for (const auto& key : taken) {
    SlotState& slot = changes.Slot(key.activity_id, key.day);
    auto found = slot.children.find(key.child_id);
    if (found == slot.children.end() || found->second.request_id != request_id ||
        !Pending(found->second.state)) {
      continue;
    }
    BookingState back = found->second.state == BookingState::AbsenceRequested
                            ? BookingState::Reserved
                            : BookingState::None;
    changes.Change(key, request_id, back, schema::BookingCause::Cancelled);
    ++cancelled;
  }
  if (cancelled == 0) {
    return Fail(ErrorCode::kConflict, "nothing is pending in this request any more");
  }
  schema::RequestCancelledT cancel;
  cancel.request_id = request_id;
  cancel.by_name = by_name;
  Decision decision;
  decision.appends.push_back({RequestStream(request_id), {}, {MakePayload(std::move(cancel))}});
  changes.AppendTo(decision);
  decision.reply = cancelled;
  return decision;
}

}  // namespace portail::commands
