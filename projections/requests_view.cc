// The requests view (see requests_view.h). Each request's folded state is one JSON row from
// which every event re-renders its list row; history entries, the queue, the pending counts and
// the read markers are rows of their own.
#include "projections/requests_view.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "events/stored_event.h"
#include "projections/accounts_view.h"

namespace portail::projections {
namespace {

using Json = nlohmann::json;
using events::Str;

std::string BigEndian(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}
uint64_t FromBigEndian(std::string_view bytes) {
  uint64_t v = 0;
  for (char c : bytes.substr(0, 8)) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

std::string StateKey(std::string_view request) { return "s/" + std::string(request); }
std::string HistoryPrefix(std::string_view request) { return "h/" + std::string(request) + "/"; }
std::string ListPrefix(std::string_view family) { return "l/" + std::string(family) + "/"; }
std::string ListKey(std::string_view family, uint64_t position) {
  return ListPrefix(family) + BigEndian(~position);
}
constexpr std::string_view kQueuePrefix = "q/";
std::string IndexKey(std::string_view request) { return "i/" + std::string(request); }
std::string CountKey(std::string_view activity) { return "c/" + std::string(activity); }
std::string ReadPrefix(std::string_view account) { return "r/" + std::string(account) + "/"; }
std::string AllReadKey(std::string_view account) { return "a/" + std::string(account); }

std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// `json` (an object) without its closing brace.
std::string Open(const Json& json) {
  std::string text = Dump(json);
  text.pop_back();
  return text;
}

std::string DayText(int days) {
  std::chrono::year_month_day ymd{std::chrono::sys_days(std::chrono::days(days))};
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

Json WeekdayNames(unsigned mask) {
  static constexpr const char* kNames[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  Json out = Json::array();
  for (int i = 0; i < 7; ++i) {
    if (mask & (1u << i)) out.push_back(kNames[i]);
  }
  return out;
}

Json Person(const schema::EventRecord& event, const flatbuffers::String* name) {
  return Json{{"id", std::string(StreamEntityId(Str(event.actor())))}, {"name", Str(name)}};
}

// A day's outcome for the request it belongs to.
std::string DayOutcome(schema::RequestKind kind, const schema::BookingChanged& e) {
  using schema::BookingState;
  if (e.cause() == schema::BookingCause::Cancelled) return "cancelled";
  switch (e.state()) {
    case BookingState::ReservationRequested:
    case BookingState::AbsenceRequested:
      return "pending";
    case BookingState::WaitingList:
      return "waiting_list";
    case BookingState::Reserved:  // an absence refused leaves the day reserved
      return kind == schema::RequestKind::Absence ? "refused" : "accepted";
    case BookingState::Absent:
      return "accepted";
    case BookingState::Refused:
      return "refused";
    default:
      return "cancelled";
  }
}

// The request's state from its days' outcomes (dossier changes keep their own status).
std::string StateOf(const Json& state) {
  if (state["kind"] == "dossier_change") return state["status"];
  std::map<std::string, int> n;
  for (const auto& day : state["days"]) n[day["s"].get<std::string>()]++;
  int live = static_cast<int>(state["days"].size()) - n["cancelled"];
  if (live == 0) return "cancelled";
  if (n["pending"] > 0) return n["pending"] == live ? "pending" : "partly_decided";
  if (n["accepted"] == live) return "accepted";
  if (n["refused"] == live) return "refused";
  if (n["waiting_list"] == live) return "waiting_list";
  if (n["accepted"] > 0) return "partly_accepted";
  return "waiting_list";  // some waiting, the others refused
}

// Pending days per activity.
std::map<std::string, int> PendingDays(const Json& state) {
  std::map<std::string, int> out;
  if (!state.is_object() || state["kind"] == "dossier_change") return out;
  for (const auto& day : state["days"]) {
    if (day["s"] == "pending") out[day["a"].get<std::string>()]++;
  }
  return out;
}

// The list row: a header line of the filter fields, then the summary without its closing brace.
std::string ListRow(const Json& state) {
  std::string kind = state["kind"];
  Json summary{{"id", state["id"]},
               {"family_id", state["family"]},
               {"kind", kind},
               {"state", state["state"]}};
  std::string children;
  std::string from;
  std::string to;
  if (kind == "dossier_change") {
    summary["change_kind"] = state["change_kind"];
    summary["member_id"] = state["member_id"];
    children = state["member_id"].get<std::string>();
  } else {
    summary["children"] = state["children"];
    summary["activities"] = state["activities"];
    int first = state["from"];
    int last = state["to"];
    if (first == last) {
      summary["date"] = DayText(first);
    } else {
      summary["from"] = DayText(first);
      summary["to"] = DayText(last);
      summary["weekdays"] = WeekdayNames(state["weekdays"]);
    }
    Json counts = Json::object();
    for (const auto& day : state["days"]) {
      std::string s = day["s"];
      counts[s] = counts.value(s, 0) + 1;
    }
    summary["days"] = counts;
    from = std::to_string(first);
    to = std::to_string(last);
    for (const auto& c : state["children"]) children += c.get<std::string>() + ",";
  }
  summary["created_by"] = state["by"];
  std::string updates;
  for (const auto& u : state["updates"]) updates += std::to_string(u.get<uint64_t>()) + ",";
  std::string header = state["id"].get<std::string>() + '\t' + kind + '\t' +
                       state["state"].get<std::string>() + '\t' + from + '\t' + to + '\t' +
                       std::to_string(state["at"].get<int64_t>()) + '\t' + children + '\t' +
                       updates;
  return header + '\n' + Open(summary);
}

// The header fields of a list row.
struct ListHeader {
  std::string_view id, kind, state, from, to, at, children, updates;
  std::string_view json;
};

std::optional<ListHeader> ParseHeader(std::string_view value) {
  size_t newline = value.find('\n');
  if (newline == std::string_view::npos) return std::nullopt;
  ListHeader h;
  h.json = value.substr(newline + 1);
  std::string_view line = value.substr(0, newline);
  std::string_view* fields[] = {&h.id, &h.kind, &h.state,    &h.from,
                                &h.to, &h.at,   &h.children, &h.updates};
  for (size_t i = 0; i < std::size(fields); ++i) {
    size_t tab = line.find('\t');
    *fields[i] = line.substr(0, tab);
    if (tab == std::string_view::npos) {
      if (i + 1 != std::size(fields)) return std::nullopt;
      break;
    }
    line.remove_prefix(tab + 1);
  }
  return h;
}

int64_t ToInt(std::string_view text) {
  int64_t v = 0;
  bool negative = !text.empty() && text[0] == '-';
  for (char c : text.substr(negative ? 1 : 0)) v = v * 10 + (c - '0');
  return negative ? -v : v;
}

bool ListHas(std::string_view list, std::string_view item) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (list.substr(0, comma) == item) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

int UnreadAfter(std::string_view updates, uint64_t read) {
  int n = 0;
  while (!updates.empty()) {
    size_t comma = updates.find(',');
    if (static_cast<uint64_t>(ToInt(updates.substr(0, comma))) > read) ++n;
    if (comma == std::string_view::npos) break;
    updates.remove_prefix(comma + 1);
  }
  return n;
}

uint64_t Marker(const events::ViewReader& rows, const std::string& key) {
  auto value = rows.Get(key);
  return value ? FromBigEndian(*value) : 0;
}

void RaiseMarker(events::ViewWriter& rows, const std::string& key, uint64_t position) {
  auto value = rows.Get(key);
  if (value && FromBigEndian(*value) >= position) return;
  rows.Put(key, BigEndian(position));
}

std::optional<Json> Load(events::ViewWriter& rows, const std::string& request) {
  auto value = rows.Get(StateKey(request));
  if (!value) return std::nullopt;
  Json state = Json::parse(*value, nullptr, false);
  if (state.is_discarded()) return std::nullopt;
  return state;
}

std::optional<Json> Load(const events::ViewReader& rows, std::string_view request) {
  auto value = rows.Get(StateKey(request));
  if (!value) return std::nullopt;
  Json state = Json::parse(*value, nullptr, false);
  if (state.is_discarded()) return std::nullopt;
  return state;
}

Json NewState(const schema::EventRecord& event, std::string id, std::string family,
              std::string kind, const flatbuffers::String* by_name) {
  return Json{
      {"id", std::move(id)},     {"family", std::move(family)},  {"kind", std::move(kind)},
      {"pos", event.position()}, {"at", event.recorded_at_us()}, {"by", Person(event, by_name)},
      {"days", Json::array()},   {"updates", Json::array()},     {"group", Json::object()}};
}

// Adds `event`'s part to the request's history: merged into the last entry when it is of the
// same append (same type, time and actor), else a new entry. Returns whether it is new.
bool AddToHistory(events::ViewWriter& rows, Json& state, const schema::EventRecord& event,
                  const std::string& type, const Json& entry, const Json& day) {
  const Json& group = state["group"];
  std::string actor = Str(event.actor());
  std::string request = state["id"];
  if (group.value("type", "") == type && group.value("at", int64_t{-1}) == event.recorded_at_us() &&
      group.value("actor", "") == actor && !day.is_null()) {
    std::string key = HistoryPrefix(request) + BigEndian(group["key"].get<uint64_t>());
    if (auto value = rows.Get(key)) {
      size_t newline = value->find('\n');
      Json last = newline == std::string::npos
                      ? Json(nullptr)
                      : Json::parse(value->substr(newline + 1) + "}", nullptr, false);
      if (last.is_object()) {
        last["days"].push_back(day);
        rows.Put(key, value->substr(0, newline + 1) + Open(last));
        return false;
      }
    }
  }
  Json out = entry;
  out["position"] = event.position();
  out["type"] = type;
  if (!day.is_null()) out["days"].push_back(day);
  // The time apart, so reading a history parses no JSON.
  rows.Put(HistoryPrefix(request) + BigEndian(event.position()),
           std::to_string(event.recorded_at_us()) + '\n' + Open(out));
  state["group"] = {
      {"type", type}, {"at", event.recorded_at_us()}, {"actor", actor}, {"key", event.position()}};
  return true;
}

bool IsTown(const std::string& type) {
  return type == "decision" || type == "promotion" || type == "town_message";
}

// Folds `event` into its request; returns the request's id ("" when the event is not about one).
std::string Fold(const schema::EventRecord& event, events::ViewWriter& rows, Json* out_before,
                 Json* out_after) {
  Json state;
  std::string type;  // the history entry's type
  Json entry = Json::object();
  Json day;  // a day merged into an entry of the same append
  switch (event.payload_type()) {
    case schema::Payload::RequestSubmitted: {
      const auto* e = event.payload_as_RequestSubmitted();
      bool absence = e->kind() == schema::RequestKind::Absence;
      state = NewState(event, Str(e->request_id()), Str(e->family_id()),
                       absence ? "absence" : "reservation", e->by_name());
      state["from"] = e->from();
      state["to"] = e->to();
      state["weekdays"] = e->weekdays();
      Json children = Json::array();
      if (e->children()) {
        for (const auto* c : *e->children()) children.push_back(c->str());
      }
      Json activities = Json::array();
      if (e->activities()) {
        for (const auto* a : *e->activities()) activities.push_back(a->str());
      }
      state["children"] = children;
      state["activities"] = activities;
      Json not_taken = Json::array();
      if (e->not_taken()) {
        for (const auto* line : *e->not_taken()) {
          not_taken.push_back({{"child_id", Str(line->child_id())},
                               {"activity_id", Str(line->activity_id())},
                               {"date", DayText(line->day())},
                               {"code", Str(line->code())},
                               {"reason", Str(line->reason())}});
        }
      }
      *out_before = Json();
      type = "created";
      entry = {{"by", state["by"]}, {"days", Json::array()}, {"not_taken", not_taken}};
      break;
    }
    case schema::Payload::BookingChanged: {
      const auto* e = event.payload_as_BookingChanged();
      auto loaded = Load(rows, Str(e->request_id()));
      if (!loaded) return "";
      state = std::move(*loaded);
      *out_before = state;
      auto kind = state["kind"] == "absence" ? schema::RequestKind::Absence
                                             : schema::RequestKind::Reservation;
      std::string outcome = DayOutcome(kind, *e);
      std::string child = Str(e->child_id());
      std::string activity = Str(e->activity_id());
      Json* found = nullptr;
      for (auto& d : state["days"]) {
        if (d["c"] == child && d["a"] == activity && d["d"] == e->day()) found = &d;
      }
      if (found == nullptr) {
        state["days"].push_back({{"c", child}, {"a", activity}, {"d", e->day()}});
        found = &state["days"].back();
      }
      (*found)["s"] = outcome;
      if (Str(e->reason()).empty()) {
        found->erase("r");
      } else {
        (*found)["r"] = Str(e->reason());
      }
      day = {{"child_id", child},
             {"activity_id", activity},
             {"date", DayText(e->day())},
             {"state", outcome}};
      if (!Str(e->reason()).empty()) day["reason"] = Str(e->reason());
      switch (e->cause()) {
        case schema::BookingCause::Decided:
          type = "decision";
          entry = {{"by", Person(event, e->by_name())}, {"days", Json::array()}};
          break;
        case schema::BookingCause::Promoted:
          type = "promotion";
          entry = {{"automatic", true}, {"days", Json::array()}};
          break;
        case schema::BookingCause::Cancelled:
          type = "cancelled";
          entry = {{"by", Person(event, e->by_name())}, {"days", Json::array()}};
          break;
        default:  // the days taken when the request was made (automatic answers included)
          type = "created";
          entry = {{"by", Person(event, e->by_name())}, {"days", Json::array()}};
          break;
      }
      break;
    }
    case schema::Payload::RequestCancelled: {
      const auto* e = event.payload_as_RequestCancelled();
      auto loaded = Load(rows, Str(e->request_id()));
      if (!loaded) return "";
      state = std::move(*loaded);
      *out_before = state;
      state["cancelled"] = true;
      type = "cancelled";
      entry = {{"by", Person(event, e->by_name())}, {"days", Json::array()}};
      break;
    }
    case schema::Payload::RequestMessage: {
      const auto* e = event.payload_as_RequestMessage();
      auto loaded = Load(rows, Str(e->request_id()));
      if (!loaded) return "";
      state = std::move(*loaded);
      *out_before = state;
      type = e->from_town() ? "town_message" : "family_message";
      entry = {{"by", Person(event, e->by_name())},
               {"from_town", e->from_town()},
               {"text", Str(e->text())}};
      break;
    }
    case schema::Payload::ChangeProposed: {
      const auto* e = event.payload_as_ChangeProposed();
      std::string family(StreamEntityId(Str(event.stream_id())));
      state = NewState(event, Str(e->change_id()), family, "dossier_change", e->by_name());
      state["change_kind"] = e->kind() == schema::ChangeKind::AddMember ? "add_member" : "update";
      state["member_id"] = Str(e->member_id());
      state["status"] = "pending";
      Json sections = Json::array();
      if (e->sections()) {
        for (const auto* s : *e->sections()) sections.push_back(Str(s->section()));
      }
      *out_before = Json();
      type = "created";
      entry = {{"by", state["by"]}, {"sections", sections}};
      break;
    }
    case schema::Payload::ChangeApproved:
    case schema::Payload::ChangeRejected:
    case schema::Payload::ChangeWithdrawn:
    case schema::Payload::ChangeSuperseded: {
      std::string change_id;
      std::string status;
      const flatbuffers::String* by_name = nullptr;
      std::string reason;
      if (const auto* e = event.payload_as_ChangeApproved()) {
        change_id = Str(e->change_id());
        status = "accepted";
        by_name = e->by_name();
      } else if (const auto* e = event.payload_as_ChangeRejected()) {
        change_id = Str(e->change_id());
        status = "refused";
        by_name = e->by_name();
        reason = Str(e->reason());
      } else if (const auto* e = event.payload_as_ChangeWithdrawn()) {
        change_id = Str(e->change_id());
        status = "cancelled";
        by_name = e->by_name();
      } else if (const auto* e = event.payload_as_ChangeSuperseded()) {
        change_id = Str(e->change_id());
        status = "superseded";
        entry["superseded_by"] = Str(e->by_change_id());
      }
      auto loaded = Load(rows, change_id);
      if (!loaded) return "";
      state = std::move(*loaded);
      *out_before = state;
      state["status"] = status;
      type = status == "cancelled"    ? "cancelled"
             : status == "superseded" ? "superseded"
                                      : "decision";
      if (by_name != nullptr) entry["by"] = Person(event, by_name);
      entry["outcome"] = status;
      if (!reason.empty()) entry["reason"] = reason;
      break;
    }
    default:
      return "";
  }
  if (AddToHistory(rows, state, event, type, entry, day) && IsTown(type)) {
    state["updates"].push_back(event.position());
  }
  state["state"] = StateOf(state);
  *out_after = std::move(state);
  return (*out_after)["id"].get<std::string>();
}

// Moves the pending counts of each activity from what `before` had to what `after` has.
void Recount(events::ViewWriter& rows, const Json& before, const Json& after) {
  auto old_days = PendingDays(before);
  auto new_days = PendingDays(after);
  std::set<std::string> activities;
  for (const auto& [a, n] : old_days) activities.insert(a);
  for (const auto& [a, n] : new_days) activities.insert(a);
  for (const auto& a : activities) {
    int old_n = old_days.contains(a) ? old_days[a] : 0;
    int new_n = new_days.contains(a) ? new_days[a] : 0;
    if (old_n == new_n) continue;
    int requests = 0;
    int days = 0;
    if (auto value = rows.Get(CountKey(a))) std::sscanf(value->c_str(), "%d %d", &requests, &days);
    requests += (new_n > 0 ? 1 : 0) - (old_n > 0 ? 1 : 0);
    days += new_n - old_n;
    if (requests <= 0 && days <= 0) {
      rows.Delete(CountKey(a));
    } else {
      rows.Put(CountKey(a), std::to_string(requests) + " " + std::to_string(days));
    }
  }
}

}  // namespace

void RequestsView::Apply(const schema::EventRecord& event, events::ViewWriter& rows) {
  if (const auto* e = event.payload_as_RequestRead()) {
    RaiseMarker(rows, ReadPrefix(Str(e->account_id())) + Str(e->request_id()), e->up_to_position());
    return;
  }
  if (const auto* e = event.payload_as_AllRequestsRead()) {
    RaiseMarker(rows, AllReadKey(Str(e->account_id())), e->up_to_position());
    return;
  }
  Json before;
  Json after;
  std::string id = Fold(event, rows, &before, &after);
  if (id.empty()) return;
  uint64_t created = after["pos"];
  Recount(rows, before, after);
  std::string queue_key = std::string(kQueuePrefix) + BigEndian(created);
  bool was_queued = !PendingDays(before).empty();
  bool queued = !PendingDays(after).empty();
  if (queued && !was_queued) rows.Put(queue_key, id);
  if (!queued && was_queued) rows.Delete(queue_key);
  rows.Put(ListKey(after["family"].get<std::string>(), created), ListRow(after));
  rows.Put(StateKey(id), Dump(after));
  if (before.is_null())
    rows.Put(IndexKey(id), after["family"].get<std::string>() + '\n' + std::to_string(created));
}

std::vector<RequestRow> RequestsView::List(const events::ViewReader& rows,
                                           const std::vector<std::string>& families,
                                           std::string_view account_id, const RequestFilter& filter,
                                           uint64_t before_position, size_t limit) {
  uint64_t all_read = Marker(rows, AllReadKey(account_id));
  std::unordered_map<std::string, uint64_t> read;
  std::string read_prefix = ReadPrefix(account_id);
  rows.Scan(read_prefix, [&](std::string_view key, std::string_view value) {
    read.emplace(std::string(key.substr(read_prefix.size())), FromBigEndian(value));
    return true;
  });
  // Keys after the cursor's: the inverted positions of older requests are greater.
  std::string after = before_position == 0 ? std::string() : BigEndian(~before_position);
  std::vector<RequestRow> out;
  for (const auto& family : families) {
    std::string prefix = ListPrefix(family);
    size_t found = 0;
    rows.Scan(prefix, [&](std::string_view key, std::string_view value) {
      std::string_view inverted = key.substr(prefix.size());
      if (!after.empty() && inverted <= after) return true;
      auto h = ParseHeader(value);
      if (!h) return true;
      if (!filter.kind.empty() && h->kind != filter.kind) return true;
      if (!filter.state.empty() && h->state != filter.state) return true;
      if (!filter.child_id.empty() && !ListHas(h->children, filter.child_id)) return true;
      if (filter.from_day || filter.to_day) {
        if (h->from.empty()) return true;
        if (filter.to_day && ToInt(h->from) > *filter.to_day) return true;
        if (filter.from_day && ToInt(h->to) < *filter.from_day) return true;
      }
      RequestRow row;
      row.position = ~FromBigEndian(inverted);
      row.created_at_us = ToInt(h->at);
      row.json = std::string(h->json);
      uint64_t marker = all_read;
      if (auto r = read.find(std::string(h->id)); r != read.end()) {
        marker = std::max(marker, r->second);
      }
      row.unread = UnreadAfter(h->updates, marker);
      out.push_back(std::move(row));
      return ++found < limit;
    });
  }
  std::sort(out.begin(), out.end(),
            [](const RequestRow& a, const RequestRow& b) { return a.position > b.position; });
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::optional<RequestHistory> RequestsView::History(const events::ViewReader& rows,
                                                    std::string_view request_id,
                                                    std::string_view account_id) {
  auto index = rows.Get(IndexKey(request_id));
  size_t newline = index ? index->find('\n') : std::string::npos;
  if (newline == std::string::npos) return std::nullopt;
  RequestHistory out;
  out.request_id = std::string(request_id);
  out.family_id = index->substr(0, newline);
  uint64_t created = static_cast<uint64_t>(ToInt(std::string_view(*index).substr(newline + 1)));
  auto value = rows.Get(ListKey(out.family_id, created));
  if (!value) return std::nullopt;
  auto h = ParseHeader(*value);
  if (!h) return std::nullopt;
  out.summary.position = created;
  out.summary.created_at_us = ToInt(h->at);
  out.summary.json = std::string(h->json);
  uint64_t marker = std::max(Marker(rows, AllReadKey(account_id)),
                             Marker(rows, ReadPrefix(account_id) + std::string(request_id)));
  out.summary.unread = UnreadAfter(h->updates, marker);
  std::string_view updates = h->updates;  // "p1,p2,...,pn,"
  if (updates.ends_with(',')) updates.remove_suffix(1);
  if (!updates.empty()) {
    out.last_update = static_cast<uint64_t>(ToInt(updates.substr(updates.rfind(',') + 1)));
  }
  rows.Scan(HistoryPrefix(request_id), [&](std::string_view, std::string_view entry) {
    size_t at_end = entry.find('\n');
    if (at_end == std::string_view::npos) return true;
    out.entries.push_back({ToInt(entry.substr(0, at_end)), std::string(entry.substr(at_end + 1))});
    return true;
  });
  return out;
}

std::vector<QueuedRequest> RequestsView::Queue(const events::ViewReader& rows,
                                               std::string_view activity_id, std::optional<int> day,
                                               std::string_view kind, uint64_t after_position,
                                               size_t limit) {
  std::vector<QueuedRequest> out;
  if (limit == 0) return out;
  rows.Scan(kQueuePrefix, [&](std::string_view key, std::string_view value) {
    uint64_t position = FromBigEndian(key.substr(kQueuePrefix.size()));
    if (position <= after_position) return true;
    auto state = Load(rows, value);
    if (!state) return true;
    if (!kind.empty() && (*state)["kind"] != kind) return true;
    bool match = activity_id.empty() && !day;
    QueuedRequest q;
    for (const auto& d : (*state)["days"]) {
      RequestDay rd{d["c"].get<std::string>(), d["a"].get<std::string>(), d["d"].get<int>(),
                    d["s"].get<std::string>(), d.value("r", "")};
      if (rd.state == "pending" && (activity_id.empty() || rd.activity_id == activity_id) &&
          (!day || rd.day == *day)) {
        match = true;
      }
      q.days.push_back(std::move(rd));
    }
    if (!match) return true;
    q.position = position;
    q.created_at_us = (*state)["at"].get<int64_t>();
    q.request_id = (*state)["id"].get<std::string>();
    q.family_id = (*state)["family"].get<std::string>();
    q.kind = (*state)["kind"].get<std::string>();
    q.by_id = (*state)["by"]["id"].get<std::string>();
    q.by_name = (*state)["by"]["name"].get<std::string>();
    std::sort(q.days.begin(), q.days.end(), [](const RequestDay& a, const RequestDay& b) {
      return std::tie(a.day, a.child_id, a.activity_id) <
             std::tie(b.day, b.child_id, b.activity_id);
    });
    out.push_back(std::move(q));
    return out.size() < limit;
  });
  return out;
}

std::vector<PendingCount> RequestsView::PendingByActivity(const events::ViewReader& rows) {
  std::vector<PendingCount> out;
  rows.Scan("c/", [&](std::string_view key, std::string_view value) {
    PendingCount count;
    count.activity_id = std::string(key.substr(2));
    std::sscanf(std::string(value).c_str(), "%d %d", &count.requests, &count.days);
    out.push_back(std::move(count));
    return true;
  });
  return out;
}

}  // namespace portail::projections
