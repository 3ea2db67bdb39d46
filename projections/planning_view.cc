// The planning view (see planning_view.h). Rows are compact binary values: fixed-width integers
// big-endian, strings separated by '\0'; an activity is its ActivityDefined table re-encoded as a
// flatbuffer of its own.
#include "projections/planning_view.h"

#include <algorithm>
#include <chrono>

#include "events/stored_event.h"
#include "projections/accounts_view.h"
#include "projections/row_bytes.h"

namespace portail::projections {
namespace {

using events::Str;
using events::StrView;

constexpr std::string_view kActivitiesVersionKey = "g";
constexpr std::string_view kActivityPrefix = "a/";

// A day as 4 bytes that sort as the days do (the sign bit flipped).
std::string DayBytes(int day) { return BigEndian(static_cast<uint32_t>(day) ^ 0x80000000u, 4); }
int DayFromBytes(std::string_view bytes) {
  return static_cast<int>(static_cast<uint32_t>(FromBigEndian(bytes.substr(0, 4))) ^ 0x80000000u);
}
// Appends the calendar month of `day` as 2 bytes that sort as the months do.
void AppendMonth(std::string& out, int day) {
  std::chrono::year_month_day ymd{std::chrono::sys_days(std::chrono::days(day))};
  int month = static_cast<int>(ymd.year()) * 12 + static_cast<int>(unsigned(ymd.month())) - 1;
  AppendBigEndian(out, static_cast<uint64_t>(std::clamp(month, 0, 0xffff)), 2);
}
// The first day of the month after `day`'s.
int NextMonth(int day) {
  std::chrono::year_month_day ymd{std::chrono::sys_days(std::chrono::days(day))};
  std::chrono::year_month next = ymd.year() / ymd.month() + std::chrono::months(1);
  return static_cast<int>(std::chrono::sys_days(next / 1).time_since_epoch().count());
}

std::string ActivityKey(std::string_view activity) {
  return std::string(kActivityPrefix) + std::string(activity);
}
std::string FamilyOfChildKey(std::string_view child) { return "k/" + std::string(child); }
std::string EnrolmentPrefix(std::string_view family, std::string_view child) {
  return "e/" + std::string(family) + "/" + std::string(child) + "/";
}
std::string ChildrenPrefix(std::string_view family) { return "c/" + std::string(family) + "/"; }
std::string ChildKey(std::string_view family, std::string_view child) {
  return ChildrenPrefix(family) + std::string(child);
}
// The row of `child`'s cells in `day`'s month. Built in one buffer: a booking writes one per
// event.
std::string MonthKey(std::string_view family, std::string_view child, int day) {
  std::string key;
  key.reserve(2 + family.size() + 1 + child.size() + 1 + 2);
  key.append("m/").append(family).append("/").append(child).append("/");
  AppendMonth(key, day);
  return key;
}
std::string VersionKey(std::string_view family) {
  std::string key;
  key.reserve(2 + family.size());
  return key.append("v/").append(family);
}

// Enrolment: from (4) to (4) weekdays (1) activity id.
std::string EncodeEnrolment(std::string_view activity, int from, int to, uint8_t weekdays) {
  return DayBytes(from) + DayBytes(to) + static_cast<char>(weekdays) + std::string(activity);
}
std::optional<PlanningEnrolment> DecodeEnrolment(std::string_view id, std::string_view value) {
  if (value.size() < 9) return std::nullopt;
  return PlanningEnrolment{std::string(id), std::string(value.substr(9)),
                           DayFromBytes(value.substr(0, 4)), DayFromBytes(value.substr(4, 4)),
                           static_cast<uint8_t>(value[8])};
}

// Child: added position (8) first name '\0' last name '\0' colour.
struct ChildRow {
  uint64_t added = 0;
  std::string first_name;
  std::string last_name;
  std::string colour;
};
std::string EncodeChild(const ChildRow& c) {
  return BigEndian(c.added, 8) + c.first_name + '\0' + c.last_name + '\0' + c.colour;
}
std::optional<ChildRow> DecodeChild(std::string_view value) {
  if (value.size() < 8) return std::nullopt;
  ChildRow c;
  c.added = FromBigEndian(value.substr(0, 8));
  std::string_view rest = value.substr(8);
  size_t a = rest.find('\0');
  size_t b = a == std::string_view::npos ? a : rest.find('\0', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  c.first_name = rest.substr(0, a);
  c.last_name = rest.substr(a + 1, b - a - 1);
  c.colour = rest.substr(b + 1);
  return c;
}

// A month row's cells (see planning_view.h), one after the other in (day, activity) order.
void AppendText(std::string& out, std::string_view text) {
  size_t n = std::min<size_t>(text.size(), 0xffff);
  AppendBigEndian(out, n, 2);
  out.append(text.substr(0, n));
}
void AppendCell(std::string& out, int day, std::string_view activity, schema::BookingState state,
                std::string_view request, std::string_view reason) {
  AppendBigEndian(out, static_cast<uint32_t>(day) ^ 0x80000000u, 4);  // as DayBytes()
  AppendText(out, activity);
  out.push_back(static_cast<char>(state));
  AppendText(out, request);
  AppendText(out, reason);
}

// Reads the cells of a month row: `fn(day, activity, state, request, reason, bytes)` for each,
// `bytes` being the whole encoded cell; stops early when `fn` returns false. False if the row is
// malformed.
template <class Fn>
bool ForEachCell(std::string_view row, Fn&& fn) {
  auto text = [&row](std::string_view* out) {
    if (row.size() < 2) return false;
    size_t n = FromBigEndian(row.substr(0, 2));
    if (row.size() < 2 + n) return false;
    *out = row.substr(2, n);
    row.remove_prefix(2 + n);
    return true;
  };
  while (!row.empty()) {
    std::string_view start = row;
    if (row.size() < 4) return false;
    int day = DayFromBytes(row.substr(0, 4));
    row.remove_prefix(4);
    std::string_view activity, request, reason;
    if (!text(&activity) || row.empty()) return false;
    auto state = static_cast<schema::BookingState>(row[0]);
    row.remove_prefix(1);
    if (!text(&request) || !text(&reason)) return false;
    std::string_view bytes = start.substr(0, start.size() - row.size());
    if (!fn(day, activity, state, request, reason, bytes)) return true;
  }
  return true;
}

// Sets (state None: removes) the cell of `e`'s day and activity in its month row `old`.
std::string WithCell(std::string_view old, const schema::BookingChanged& e) {
  std::string_view activity = StrView(e.activity_id());
  std::string out;
  out.reserve(old.size() + 64);
  bool placed = e.state() == schema::BookingState::None;
  auto place = [&] {
    AppendCell(out, e.day(), activity, e.state(), StrView(e.request_id()), StrView(e.reason()));
    placed = true;
  };
  ForEachCell(old, [&](int day, std::string_view a, schema::BookingState, std::string_view,
                       std::string_view, std::string_view bytes) {
    bool same = day == e.day() && a == activity;
    if (!placed && (day > e.day() || (day == e.day() && a >= activity))) place();
    if (!same) out.append(bytes);
    return true;
  });
  if (!placed) place();
  return out;
}

PlanningNotice NoticeOf(const schema::Notice* notice) {
  PlanningNotice out;
  if (notice == nullptr) return out;
  out.kind = notice->kind();
  out.days = notice->days();
  out.at_minutes = notice->at_minutes();
  return out;
}

std::optional<PlanningActivity> DecodeActivity(std::string_view value) {
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(value.data()), value.size());
  if (!verifier.VerifyBuffer<schema::ActivityDefined>(nullptr)) return std::nullopt;
  const auto* d = flatbuffers::GetRoot<schema::ActivityDefined>(value.data());
  PlanningActivity a;
  a.id = Str(d->activity_id());
  a.name = Str(d->name());
  a.kind = d->kind();
  a.weekdays = d->weekdays();
  if (d->periods() != nullptr) {
    for (const auto* p : *d->periods()) a.periods.emplace_back(p->from(), p->to());
  }
  if (d->closed_days() != nullptr) {
    a.closed_days.assign(d->closed_days()->begin(), d->closed_days()->end());
  }
  a.capacity = d->capacity();
  a.reservation_notice = NoticeOf(d->reservation_notice());
  a.absence_notice = NoticeOf(d->absence_notice());
  a.mode = d->mode();
  return a;
}

void Touch(events::ViewWriter& rows, std::string_view family, uint64_t position) {
  rows.Put(VersionKey(family), BigEndian(position, 8));
}

// Applies a dossier event about a child's presence, name or colour.
void ApplyChild(const schema::EventRecord& event, events::ViewWriter& rows) {
  std::string family(StreamEntityId(Str(event.stream_id())));
  switch (event.payload_type()) {
    case schema::Payload::MemberAdded: {
      const auto* e = event.payload_as_MemberAdded();
      if (e->kind() != schema::MemberKind::Child) return;
      ChildRow row;
      row.added = event.position();
      rows.Put(ChildKey(family, Str(e->member_id())), EncodeChild(row));
      break;
    }
    case schema::Payload::SectionUpdated: {
      const auto* e = event.payload_as_SectionUpdated();
      if (Str(e->section()) != "general" || e->fields() == nullptr) return;
      std::string key = ChildKey(family, Str(e->member_id()));
      auto value = rows.Get(key);
      if (!value) return;  // not a child of this family
      auto row = DecodeChild(*value);
      if (!row) return;
      bool changed = false;
      for (const auto* f : *e->fields()) {
        std::string name = Str(f->name());
        std::string* target = name == "first_name"  ? &row->first_name
                              : name == "last_name" ? &row->last_name
                              : name == "colour"    ? &row->colour
                                                    : nullptr;
        if (target == nullptr) continue;
        *target = Str(f->value());
        changed = true;
      }
      if (!changed) return;
      rows.Put(key, EncodeChild(*row));
      break;
    }
    case schema::Payload::MemberRemoved: {
      std::string key = ChildKey(family, Str(event.payload_as_MemberRemoved()->member_id()));
      if (!rows.Get(key)) return;
      rows.Delete(key);
      break;
    }
    default:
      return;
  }
  Touch(rows, family, event.position());
}

}  // namespace

bool PlanningEnrolment::Covers(int day) const {
  if (day < from || day > to) return false;
  // 1970-01-01 was a Thursday: bit 3.
  int weekday = ((day % 7) + 7 + 3) % 7;
  return (weekdays >> weekday) & 1;
}

std::string PlanningChild::name() const {
  return first_name.empty()  ? last_name
         : last_name.empty() ? first_name
                             : first_name + " " + last_name;
}

bool PlanningView::Folds(schema::Payload type) const {
  switch (type) {
    case schema::Payload::ActivityDefined:
    case schema::Payload::ChildEnrolled:
    case schema::Payload::EnrolmentChanged:
    case schema::Payload::BookingChanged:
    case schema::Payload::MemberAdded:
    case schema::Payload::SectionUpdated:
    case schema::Payload::MemberRemoved:
      return true;
    default:
      return false;
  }
}

void PlanningView::Apply(const schema::EventRecord& event, events::ViewWriter& rows) {
  switch (event.payload_type()) {
    case schema::Payload::ActivityDefined: {
      const auto* e = event.payload_as_ActivityDefined();
      auto defined = std::unique_ptr<schema::ActivityDefinedT>(e->UnPack());
      flatbuffers::FlatBufferBuilder fbb;
      fbb.Finish(schema::CreateActivityDefined(fbb, defined.get()));
      rows.Put(
          ActivityKey(Str(e->activity_id())),
          std::string_view(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()));
      rows.Put(kActivitiesVersionKey, BigEndian(event.position(), 8));
      return;
    }
    case schema::Payload::ChildEnrolled: {
      const auto* e = event.payload_as_ChildEnrolled();
      std::string family = Str(e->family_id());
      std::string child = Str(e->child_id());
      rows.Put(FamilyOfChildKey(child), family);
      rows.Put(EnrolmentPrefix(family, child) + Str(e->enrolment_id()),
               EncodeEnrolment(Str(e->activity_id()), e->from(), e->to(), e->weekdays()));
      Touch(rows, family, event.position());
      return;
    }
    case schema::Payload::EnrolmentChanged: {
      const auto* e = event.payload_as_EnrolmentChanged();
      std::string child(StreamEntityId(Str(event.stream_id())));
      auto family = rows.Get(FamilyOfChildKey(child));
      if (!family) return;
      std::string key = EnrolmentPrefix(*family, child) + Str(e->enrolment_id());
      auto value = rows.Get(key);
      if (!value) return;
      auto old = DecodeEnrolment("", *value);
      if (!old) return;
      rows.Put(key, EncodeEnrolment(old->activity_id, e->from(), e->to(), e->weekdays()));
      Touch(rows, *family, event.position());
      return;
    }
    case schema::Payload::BookingChanged: {
      const auto* e = event.payload_as_BookingChanged();
      std::string_view family = StrView(e->family_id());
      std::string key = MonthKey(family, StrView(e->child_id()), e->day());
      std::string row = WithCell(rows.Get(key).value_or(std::string()), *e);
      if (row.empty()) {
        rows.Delete(key);
      } else {
        rows.Put(key, row);
      }
      Touch(rows, family, event.position());
      return;
    }
    case schema::Payload::MemberAdded:
    case schema::Payload::SectionUpdated:
    case schema::Payload::MemberRemoved:
      ApplyChild(event, rows);
      return;
    default:
      return;
  }
}

std::optional<PlanningActivity> PlanningView::Activity(const events::ViewReader& rows,
                                                       std::string_view activity_id) {
  auto value = rows.Get(ActivityKey(activity_id));
  if (!value) return std::nullopt;
  return DecodeActivity(*value);
}

std::vector<PlanningActivity> PlanningView::Activities(const events::ViewReader& rows) {
  std::vector<PlanningActivity> out;
  rows.Scan(kActivityPrefix, [&](std::string_view, std::string_view value) {
    if (auto a = DecodeActivity(value)) out.push_back(std::move(*a));
    return true;
  });
  return out;
}

std::vector<PlanningEnrolment> PlanningView::Enrolments(const events::ViewReader& rows,
                                                        std::string_view family_id,
                                                        std::string_view child_id) {
  std::vector<PlanningEnrolment> out;
  std::string prefix = EnrolmentPrefix(family_id, child_id);
  rows.Scan(prefix, [&](std::string_view key, std::string_view value) {
    if (auto e = DecodeEnrolment(key.substr(prefix.size()), value)) out.push_back(std::move(*e));
    return true;
  });
  return out;
}

std::vector<PlanningChild> PlanningView::Children(const events::ViewReader& rows,
                                                  std::string_view family_id) {
  std::vector<std::pair<uint64_t, PlanningChild>> found;
  std::string prefix = ChildrenPrefix(family_id);
  rows.Scan(prefix, [&](std::string_view key, std::string_view value) {
    auto row = DecodeChild(value);
    if (!row) return true;
    found.emplace_back(
        row->added,
        PlanningChild{std::string(key.substr(prefix.size())), std::move(row->first_name),
                      std::move(row->last_name), std::move(row->colour)});
    return true;
  });
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<PlanningChild> out;
  out.reserve(found.size());
  for (auto& [added, child] : found) out.push_back(std::move(child));
  return out;
}

std::vector<PlanningCell> PlanningView::Cells(const events::ViewReader& rows,
                                              std::string_view family_id, std::string_view child_id,
                                              int from_day, int to_day) {
  std::vector<PlanningCell> out;
  for (int month = from_day; month <= to_day; month = NextMonth(month)) {
    auto row = rows.Get(MonthKey(family_id, child_id, month));
    if (!row) continue;
    ForEachCell(*row, [&](int day, std::string_view activity, schema::BookingState state,
                          std::string_view request, std::string_view reason, std::string_view) {
      if (day < from_day) return true;
      if (day > to_day) return false;
      out.push_back(PlanningCell{day, std::string(activity), state, std::string(request),
                                 std::string(reason)});
      return true;
    });
  }
  return out;
}

uint64_t PlanningView::Version(const events::ViewReader& rows, std::string_view family_id) {
  auto value = rows.Get(VersionKey(family_id));
  return value ? FromBigEndian(*value) : 0;
}

uint64_t PlanningView::ActivitiesVersion(const events::ViewReader& rows) {
  auto value = rows.Get(kActivitiesVersionKey);
  return value ? FromBigEndian(*value) : 0;
}

}  // namespace portail::projections
