// The requests view as it was in format 2 (JSON state rows), kept unchanged as the reference the
// current RequestsView's read functions are compared with (requests_view_test.cc).
//
// The requests view (see requests_view.h). Each request's folded state is one small JSON row of
// counters from which every event re-renders its list row; its days, history entries (and the days
// merged into them), the queue, the pending counts and the read markers are rows of their own, so
// an event costs the same whatever the number of days of its request.
#include "tests/projections/requests_view_v2.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "events/stored_event.h"
#include "projections/accounts_view.h"
#include "projections/json_row.h"

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
std::string DayPrefix(std::string_view request) { return "d/" + std::string(request) + "/"; }
std::string DayKey(std::string_view request, std::string_view child, std::string_view activity,
                   int day) {
  std::string key = DayPrefix(request);
  key.append(child).push_back('\0');
  key.append(activity).push_back('\0');
  return key + BigEndian(static_cast<uint64_t>(static_cast<int64_t>(day)));
}
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
  const Json& n = state["n"];
  int total = 0;
  for (const auto& [outcome, count] : n.items()) total += count.get<int>();
  auto count = [&](const char* outcome) { return n.value(outcome, 0); };
  int live = total - count("cancelled");
  if (live == 0) return "cancelled";
  int pending = count("pending");
  if (pending > 0) return pending == live ? "pending" : "partly_decided";
  if (count("accepted") == live) return "accepted";
  if (count("refused") == live) return "refused";
  if (count("waiting_list") == live) return "waiting_list";
  if (count("accepted") > 0) return "partly_accepted";
  return "waiting_list";  // some waiting, the others refused
}

// Adds `delta` to the count under `key` of the object `counts`, dropping it at zero.
void AddCount(Json& counts, const std::string& key, int delta) {
  int n = counts.value(key, 0) + delta;
  if (n == 0) {
    counts.erase(key);
  } else {
    counts[key] = n;
  }
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
    summary["days"] = state["n"];
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

// The list row of a reservation or absence request `state` from its previous row `old`: only
// its state, day counts and updates change, so they are replaced in place (strings in the JSON are
// escaped, so the first `"days":{` and `"state":"` are the keys). nullopt if `old` is not such a
// row.
std::optional<std::string> PatchListRow(std::string_view old, const Json& state) {
  size_t newline = old.find('\n');
  if (newline == std::string_view::npos) return std::nullopt;
  std::string_view header = old.substr(0, newline);
  std::string_view json = old.substr(newline + 1);
  size_t tabs[7];
  size_t from = 0;
  for (size_t& tab : tabs) {
    tab = header.find('\t', from);
    if (tab == std::string_view::npos) return std::nullopt;
    from = tab + 1;
  }
  constexpr std::string_view kDays = "\"days\":";
  constexpr std::string_view kState = "\"state\":\"";
  size_t days = json.find(kDays);
  size_t days_end = days == std::string_view::npos ? days : json.find('}', days);
  size_t state_at = json.find(kState);
  size_t state_end =
      state_at == std::string_view::npos ? state_at : json.find('"', state_at + kState.size());
  if (days_end == std::string_view::npos || state_end == std::string_view::npos ||
      state_at < days_end) {
    return std::nullopt;
  }
  const std::string& state_name = state["state"].get_ref<const std::string&>();
  std::string out;
  out.reserve(old.size() + 32);
  out.append(header.substr(0, tabs[1] + 1)).append(state_name);
  out.append(header.substr(tabs[2], tabs[6] + 1 - tabs[2]));
  for (const auto& u : state["updates"])
    out.append(std::to_string(u.get<uint64_t>())).push_back(',');
  out.push_back('\n');
  out.append(json.substr(0, days + kDays.size())).append(Dump(state["n"]));
  out.append(json.substr(days_end + 1, state_at + kState.size() - days_end - 1)).append(state_name);
  out.append(json.substr(state_end));
  return out;
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

// A request's summary state, from a writer (during Apply) or a reader.
template <class Rows>
std::optional<Json> Load(Rows& rows, std::string_view request) {
  return JsonRow(rows.Get(StateKey(request)));
}

Json NewState(const schema::EventRecord& event, std::string id, std::string family,
              std::string kind, const flatbuffers::String* by_name) {
  return Json{{"id", std::move(id)},          {"family", std::move(family)},
              {"kind", std::move(kind)},      {"pos", event.position()},
              {"at", event.recorded_at_us()}, {"by", Person(event, by_name)},
              {"n", Json::object()},          {"p", Json::object()},
              {"updates", Json::array()},     {"group", Json::object()}};
}

// A history entry row: "<recorded at µs>\n<offset>\n<JSON without its closing brace>" where
// <offset> is where in the JSON its days go (just after "days":[; empty when it has none). Each day
// is a row of its own under the entry's key, "<entry key><position 8B>", so merging a day into an
// entry appends a row instead of rewriting the entry.
std::string EntryRow(int64_t at_us, const Json& entry) {
  std::string text = Open(entry);
  std::string offset;
  if (entry.contains("days")) {
    // Keys are sorted and "automatic" and "by" come before "days": the first match is the key.
    constexpr std::string_view kDays = "\"days\":[";
    size_t found = text.find(kDays);
    if (found != std::string::npos) offset = std::to_string(found + kDays.size());
  }
  return std::to_string(at_us) + '\n' + offset + '\n' + text;
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
      size_t at_end = value->find('\n');
      size_t offset_end =
          at_end == std::string::npos ? std::string::npos : value->find('\n', at_end + 1);
      if (offset_end != std::string::npos) {
        if (offset_end == at_end + 1) {  // no days yet: the entry gets them
          Json last = Json::parse(value->substr(offset_end + 1) + "}", nullptr, false);
          if (!last.is_object()) return false;
          last["days"] = Json::array();
          rows.Put(key, EntryRow(ToInt(std::string_view(*value).substr(0, at_end)), last));
        }
        rows.Put(key + BigEndian(event.position()), Dump(day));
        return false;
      }
    }
  }
  Json out = entry;
  out["position"] = event.position();
  out["type"] = type;
  std::string key = HistoryPrefix(request) + BigEndian(event.position());
  rows.Put(key, EntryRow(event.recorded_at_us(), out));
  if (!day.is_null()) rows.Put(key + BigEndian(event.position()), Dump(day));
  state["group"] = {
      {"type", type}, {"at", event.recorded_at_us()}, {"actor", actor}, {"key", event.position()}};
  return true;
}

bool IsTown(const std::string& type) {
  return type == "decision" || type == "promotion" || type == "town_message";
}

// Folds `event` into its request; returns the request's id ("" when the event is not about one).
// `out_before` gets the request's pending days per activity before the event (null: a new request).
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
      *out_before = state["p"];
      auto kind = state["kind"] == "absence" ? schema::RequestKind::Absence
                                             : schema::RequestKind::Reservation;
      std::string outcome = DayOutcome(kind, *e);
      std::string child = Str(e->child_id());
      std::string activity = Str(e->activity_id());
      // The day's row: "<outcome>\n<reason>".
      std::string day_key = DayKey(Str(e->request_id()), child, activity, e->day());
      if (auto old = rows.Get(day_key)) {
        std::string old_outcome = old->substr(0, old->find('\n'));
        AddCount(state["n"], old_outcome, -1);
        if (old_outcome == "pending") AddCount(state["p"], activity, -1);
      }
      AddCount(state["n"], outcome, 1);
      if (outcome == "pending") AddCount(state["p"], activity, 1);
      rows.Put(day_key, outcome + '\n' + Str(e->reason()));
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
      *out_before = state["p"];
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
      *out_before = state["p"];
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
      *out_before = state["p"];
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

// Pending days per activity, from a request's "p" (null: none).
std::map<std::string, int> PendingDays(const Json& pending) {
  std::map<std::string, int> out;
  if (!pending.is_object()) return out;
  for (const auto& [activity, n] : pending.items()) out[activity] = n.get<int>();
  return out;
}

// Moves the pending counts of each activity from what `old_days` had to what `new_days` has.
void Recount(events::ViewWriter& rows, const std::map<std::string, int>& old_days,
             const std::map<std::string, int>& new_days) {
  std::set<std::string> activities;
  for (const auto& [a, n] : old_days) activities.insert(a);
  for (const auto& [a, n] : new_days) activities.insert(a);
  for (const auto& a : activities) {
    auto old_found = old_days.find(a);
    auto new_found = new_days.find(a);
    int old_n = old_found == old_days.end() ? 0 : old_found->second;
    int new_n = new_found == new_days.end() ? 0 : new_found->second;
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

void RequestsViewV2::Apply(const schema::EventRecord& event, events::ViewWriter& rows) {
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
  auto old_days = PendingDays(before);
  auto new_days = PendingDays(after["p"]);
  Recount(rows, old_days, new_days);
  std::string queue_key = std::string(kQueuePrefix) + BigEndian(created);
  bool was_queued = !old_days.empty();
  bool queued = !new_days.empty();
  if (queued && !was_queued) rows.Put(queue_key, id);
  if (!queued && was_queued) rows.Delete(queue_key);
  std::string list_key = ListKey(after["family"].get<std::string>(), created);
  std::optional<std::string> list_row;
  if (event.payload_type() == schema::Payload::BookingChanged) {
    if (auto old = rows.Get(list_key)) list_row = PatchListRow(*old, after);
  }
  if (!list_row) list_row = ListRow(after);
  rows.Put(list_key, *list_row);
  rows.Put(StateKey(id), Dump(after));
  if (before.is_null())
    rows.Put(IndexKey(id), after["family"].get<std::string>() + '\n' + std::to_string(created));
}

std::vector<RequestRow> RequestsViewV2::List(const events::ViewReader& rows,
                                             const std::vector<std::string>& families,
                                             std::string_view account_id,
                                             const RequestFilter& filter, uint64_t before_position,
                                             size_t limit) {
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

std::optional<RequestHistory> RequestsViewV2::History(const events::ViewReader& rows,
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
  // Entry rows, each followed by its days' rows (keys 8 bytes longer).
  std::string prefix = HistoryPrefix(request_id);
  std::string_view text;  // of the entry being assembled
  size_t offset = std::string_view::npos;
  std::string days;
  auto finish = [&] {
    if (out.entries.empty()) return;
    std::string& json = out.entries.back().json;
    if (offset == std::string_view::npos) {
      json = std::string(text);
    } else {
      json.reserve(text.size() + days.size());
      json.append(text.substr(0, offset)).append(days).append(text.substr(offset));
    }
  };
  std::string entry_value;  // the entry's row, kept while its days are read
  rows.Scan(prefix, [&](std::string_view key, std::string_view value) {
    if (key.size() == prefix.size() + 16) {
      if (!out.entries.empty()) {
        if (!days.empty()) days.push_back(',');
        days.append(value);
      }
      return true;
    }
    if (key.size() != prefix.size() + 8) return true;
    size_t at_end = value.find('\n');
    size_t offset_end = at_end == std::string_view::npos ? at_end : value.find('\n', at_end + 1);
    if (offset_end == std::string_view::npos) return true;
    finish();
    entry_value = std::string(value.substr(offset_end + 1));
    text = entry_value;
    std::string_view offset_text = value.substr(at_end + 1, offset_end - at_end - 1);
    offset = offset_text.empty() ? std::string_view::npos : static_cast<size_t>(ToInt(offset_text));
    if (offset != std::string_view::npos && offset > text.size()) offset = text.size();
    days.clear();
    out.entries.push_back({ToInt(value.substr(0, at_end)), std::string()});
    return true;
  });
  finish();
  return out;
}

std::vector<QueuedRequest> RequestsViewV2::Queue(const events::ViewReader& rows,
                                                 std::string_view activity_id,
                                                 std::optional<int> day, std::string_view kind,
                                                 uint64_t after_position, size_t limit) {
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
    std::string prefix = DayPrefix(value);
    rows.Scan(prefix, [&](std::string_view day_key, std::string_view day_value) {
      std::string_view rest = day_key.substr(prefix.size());
      size_t child_end = rest.find('\0');
      size_t activity_end =
          child_end == std::string_view::npos ? child_end : rest.find('\0', child_end + 1);
      if (activity_end == std::string_view::npos || rest.size() != activity_end + 9) return true;
      size_t newline = day_value.find('\n');
      RequestDay rd{
          std::string(rest.substr(0, child_end)),
          std::string(rest.substr(child_end + 1, activity_end - child_end - 1)),
          static_cast<int>(static_cast<int64_t>(FromBigEndian(rest.substr(activity_end + 1)))),
          std::string(day_value.substr(0, newline)),
          newline == std::string_view::npos ? std::string()
                                            : std::string(day_value.substr(newline + 1))};
      if (rd.state == "pending" && (activity_id.empty() || rd.activity_id == activity_id) &&
          (!day || rd.day == *day)) {
        match = true;
      }
      q.days.push_back(std::move(rd));
      return true;
    });
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

std::vector<PendingCount> RequestsViewV2::PendingByActivity(const events::ViewReader& rows) {
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
