// The requests view (see requests_view.h). A booking change, nearly every event this view sees,
// reads and writes one binary row (its request's counters and days' changes) and, when a pending
// count moves, its activity's counts; no JSON is parsed or built for it. The JSON the
// read functions return is rendered when read, with the same nlohmann calls as when it was
// rendered at Apply, so it is the same text.
#include "projections/requests_view.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "events/stored_event.h"
#include "projections/accounts_view.h"
#include "projections/row_bytes.h"

namespace portail::projections {
namespace {

using Json = nlohmann::json;
using events::StrView;

// Fixed-width integers: big-endian where they sort in keys (projections/row_bytes.h),
// little-endian inside values.
template <class T>
void AppendFixed(std::string& out, T v) {
  auto u = static_cast<std::make_unsigned_t<T>>(v);
  char bytes[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i, u = static_cast<decltype(u)>(u >> 7 >> 1)) {
    bytes[i] = static_cast<char>(u & 0xff);
  }
  out.append(bytes, sizeof(T));
}
template <class T>
void WriteFixed(char* p, T v) {
  auto u = static_cast<std::make_unsigned_t<T>>(v);
  for (size_t i = 0; i < sizeof(T); ++i, u = static_cast<decltype(u)>(u >> 7 >> 1)) {
    p[i] = static_cast<char>(u & 0xff);
  }
}
template <class T>
T ReadFixed(const char* p) {
  std::make_unsigned_t<T> u = 0;
  for (size_t i = sizeof(T); i-- > 0;) {
    u = static_cast<decltype(u)>((u << 7 << 1) | static_cast<unsigned char>(p[i]));
  }
  return static_cast<T>(u);
}
void AppendShortString(std::string& out, std::string_view s) {
  AppendFixed<uint16_t>(out, static_cast<uint16_t>(s.size()));
  out.append(s);
}

// Reads fixed-width fields off the front of a value; ok() turns false past its end.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <class T>
  T Fixed() {
    if (in_.size() < sizeof(T)) return Fail<T>();
    T v = ReadFixed<T>(in_.data());
    in_.remove_prefix(sizeof(T));
    return v;
  }
  std::string_view Bytes(size_t n) {
    if (in_.size() < n) return Fail<std::string_view>();
    std::string_view v = in_.substr(0, n);
    in_.remove_prefix(n);
    return v;
  }
  std::string_view ShortString() { return Bytes(Fixed<uint16_t>()); }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && !in_.empty(); shift += 7) {
      auto byte = static_cast<unsigned char>(in_.front());
      in_.remove_prefix(1);
      v |= uint64_t{byte & 0x7fu} << shift;
      if (byte < 0x80) return v;
    }
    return Fail<uint64_t>();
  }
  std::string_view Rest() { return std::exchange(in_, std::string_view()); }
  bool ok() const { return ok_; }
  bool empty() const { return in_.empty(); }

 private:
  template <class T>
  T Fail() {
    ok_ = false;
    in_ = std::string_view();
    return T();
  }
  std::string_view in_;
  bool ok_ = true;
};

// A day's outcomes, in the alphabetical order of their names (as the "days" object lists them).
enum Outcome : uint8_t { kAccepted, kCancelled, kPending, kRefused, kWaitingList, kOutcomes };
constexpr std::string_view kOutcomeNames[] = {"accepted", "cancelled", "pending", "refused",
                                              "waiting_list"};
std::string_view OutcomeName(uint8_t o) { return o < kOutcomes ? kOutcomeNames[o] : "cancelled"; }

enum Kind : uint8_t { kReservation, kAbsence, kDossierChange };
constexpr std::string_view kKindNames[] = {"reservation", "absence", "dossier_change"};
std::string_view KindName(uint8_t k) { return k <= kDossierChange ? kKindNames[k] : ""; }

// A dossier change's status.
enum Status : uint8_t {
  kStatusPending,
  kStatusAccepted,
  kStatusRefused,
  kStatusCancelled,
  kStatusSuperseded
};
constexpr std::string_view kStatusNames[] = {"pending", "accepted", "refused", "cancelled",
                                             "superseded"};

// A history entry's type; kNoType: no entry yet.
enum EntryType : uint8_t {
  kNoType,
  kCreated,
  kDecision,
  kPromotion,
  kCancelledEntry,
  kTownMessage,
  kFamilyMessage,
  kSuperseded,
  kEntryTypes
};
constexpr std::string_view kTypeNames[] = {
    "",          "created",      "decision",       "promotion",
    "cancelled", "town_message", "family_message", "superseded"};
std::string_view TypeName(uint8_t t) { return t < kEntryTypes ? kTypeNames[t] : ""; }
bool IsTown(uint8_t type) {
  return type == kDecision || type == kPromotion || type == kTownMessage;
}

// Keys, built in one string.
// `extra`: the room kept for what the caller appends.
std::string KeyOf(std::string_view tag, std::string_view id, size_t extra = 0) {
  std::string key;
  key.reserve(tag.size() + id.size() + extra);
  key.append(tag).append(id);
  return key;
}
std::string StateKey(std::string_view request) { return KeyOf("s/", request); }
std::string HistoryPrefix(std::string_view request) {
  std::string key = KeyOf("h/", request, 9);
  key.push_back('/');
  return key;
}
std::string ListPrefix(std::string_view family) {
  std::string key = KeyOf("l/", family, 9);
  key.push_back('/');
  return key;
}
std::string ListKey(std::string_view family, uint64_t position) {
  std::string key = ListPrefix(family);
  AppendBigEndian(key, ~position);
  return key;
}
constexpr std::string_view kQueuePrefix = "q/";
std::string QueueKey(uint64_t created) {
  std::string key(kQueuePrefix);
  AppendBigEndian(key, created);
  return key;
}
std::string IndexKey(std::string_view request) { return KeyOf("i/", request); }
std::string CountKey(std::string_view activity) { return KeyOf("c/", activity); }
std::string ReadPrefix(std::string_view account) {
  std::string key = KeyOf("r/", account);
  key.push_back('/');
  return key;
}
std::string AllReadKey(std::string_view account) { return KeyOf("a/", account); }

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

Json Person(std::string_view id, std::string_view name) {
  return Json{{"id", std::string(id)}, {"name", std::string(name)}};
}
Json Person(const schema::EventRecord& event, const flatbuffers::String* name) {
  return Person(StreamEntityId(StrView(event.actor())), StrView(name));
}

// A day's outcome for the request it belongs to.
Outcome DayOutcome(uint8_t kind, const schema::BookingChanged& e) {
  using schema::BookingState;
  if (e.cause() == schema::BookingCause::Cancelled) return kCancelled;
  switch (e.state()) {
    case BookingState::ReservationRequested:
    case BookingState::AbsenceRequested:
      return kPending;
    case BookingState::WaitingList:
      return kWaitingList;
    case BookingState::Reserved:  // an absence refused leaves the day reserved
      return kind == kAbsence ? kRefused : kAccepted;
    case BookingState::Absent:
      return kAccepted;
    case BookingState::Refused:
      return kRefused;
    default:
      return kCancelled;
  }
}

// A day change of a request, as the row "s/<request>" keeps them, oldest first: "<pair
// varint><day i32><flags u8>[<entry varint>][<reason (varint length + bytes)>]", <pair> indexing
// the request's (child, activity) pairs; <flags> holds the outcome (bits 0-2), whether a reason
// follows (bit 3) and whether an entry follows (bit 4): the entry's position less the request's
// creation position, given when it differs from the previous change's (the first change always
// gives it). A day's last change is its outcome; each change is one of its entry's days. The
// changes are in the order of their events, so in the order of their entries.
struct DayChange {
  uint32_t pair = 0;
  int32_t day = 0;
  uint64_t entry = 0;
  uint8_t outcome = kPending;
  std::string_view reason;
};

constexpr uint8_t kOutcomeBits = 0x07;
constexpr uint8_t kHasReason = 0x08;
constexpr uint8_t kHasEntry = 0x10;

void AppendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Appends `c` after changes whose last entry is `last_entry` (0: there are none), in a request
// created at `created`.
void AppendDayChange(std::string& row, const DayChange& c, uint64_t created, uint64_t last_entry) {
  AppendVarint(row, c.pair);
  AppendFixed(row, c.day);
  bool has_entry = last_entry == 0 || c.entry != last_entry;
  row.push_back(static_cast<char>((c.outcome & kOutcomeBits) | (c.reason.empty() ? 0 : kHasReason) |
                                  (has_entry ? kHasEntry : 0)));
  if (has_entry) AppendVarint(row, c.entry - created);
  if (!c.reason.empty()) {
    AppendVarint(row, c.reason.size());
    row.append(c.reason);
  }
}

// Calls `fn(change)` for each change of a request created at `created`, oldest first.
template <class Fn>
void ForEachDayChange(std::string_view changes, uint64_t created, Fn&& fn) {
  Reader in(changes);
  uint64_t entry = 0;
  while (!in.empty()) {
    DayChange c;
    c.pair = static_cast<uint32_t>(in.Varint());
    c.day = in.Fixed<int32_t>();
    uint8_t flags = in.Fixed<uint8_t>();
    if (flags & kHasEntry) entry = created + in.Varint();
    c.entry = entry;
    c.outcome = flags & kOutcomeBits;
    if (flags & kHasReason) c.reason = in.Bytes(in.Varint());
    if (!in.ok()) return;
    fn(c);
  }
}

// A request's folded state, the row "s/<request>" (see the header), decoded in place: the
// variable parts are views into the row.
struct Folded {
  static constexpr size_t kHeaderSize = 56;
  static constexpr size_t kCountsAt = 10;  // n
  static constexpr size_t kGroupAt = 30;   // group_at, group_key, group_type, flags
  uint8_t kind = kReservation;
  uint8_t status = kStatusPending;
  uint64_t created = 0;
  std::array<int32_t, kOutcomes> n = {};
  int64_t group_at = 0;
  uint64_t group_key = 0;
  uint8_t group_type = kNoType;
  bool group_days = false;  // the group's entry lists days
  bool open = false;        // its pending days differ from those counted in "c/" (see Settle)
  bool settle = false;      // Encode counts its pending days as counted
  std::string_view group_actor;
  // Per activity: its id (u16 length + bytes), its pending days (i32), those counted in its row
  // "c/<activity>" (i32).
  std::string_view pending;
  std::string_view updates;  // the town updates' positions, u64 each
  std::string_view pairs;    // the (child, activity) pairs of its days: two u16-length strings each
  std::string_view changes;  // its days' changes (see DayChange)

  bool Decode(std::string_view row) {
    Reader in(row);
    kind = in.Fixed<uint8_t>();
    status = in.Fixed<uint8_t>();
    created = in.Fixed<uint64_t>();
    for (auto& count : n) count = in.Fixed<int32_t>();
    group_at = in.Fixed<int64_t>();
    group_key = in.Fixed<uint64_t>();
    group_type = in.Fixed<uint8_t>();
    uint8_t flags = in.Fixed<uint8_t>();
    group_days = (flags & 1) != 0;
    open = (flags & 2) != 0;
    uint16_t actor_size = in.Fixed<uint16_t>();
    uint16_t pending_size = in.Fixed<uint16_t>();
    uint16_t updates_size = in.Fixed<uint16_t>();
    uint16_t pairs_size = in.Fixed<uint16_t>();
    group_actor = in.Bytes(actor_size);
    pending = in.Bytes(pending_size);
    updates = in.Bytes(updates_size);
    pairs = in.Bytes(pairs_size);
    changes = in.Rest();
    return in.ok() && updates.size() % 8 == 0;
  }

  // The pairs, (child, activity), in the order of their indexes.
  std::vector<std::pair<std::string_view, std::string_view>> Pairs() const {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    Reader in(pairs);
    while (!in.empty()) {
      std::string_view child = in.ShortString();
      std::string_view activity = in.ShortString();
      if (!in.ok()) break;
      out.emplace_back(child, activity);
    }
    return out;
  }

  // The index of the pair (child, activity) and whether it is one of them (if not, the index it
  // gets when added).
  std::pair<uint16_t, bool> PairOf(std::string_view child, std::string_view activity) const {
    Reader in(pairs);
    uint16_t i = 0;
    while (!in.empty()) {
      std::string_view c = in.ShortString();
      std::string_view a = in.ShortString();
      if (!in.ok()) break;
      if (c == child && a == activity) return {i, true};
      ++i;
    }
    return {i, false};
  }

  // Writes the row into `out`, with `activity`'s pending days set to `activity_pending` (0:
  // dropped) when `activity` is not empty, `update` added to the updates when not 0, the pair
  // (`new_child`, `activity`) added when `add_pair`, and `change` added when not null (after
  // changes whose last entry is `last_entry`).
  void EncodeTo(std::string& out, std::string_view activity = {}, int32_t activity_pending = 0,
                uint64_t update = 0, bool add_pair = false, std::string_view new_child = {},
                const DayChange* change = nullptr, uint64_t last_entry = 0) const {
    out.clear();
    out.reserve(kHeaderSize + group_actor.size() + pending.size() + activity.size() + 8 +
                updates.size() + 8 + pairs.size() + new_child.size() + activity.size() + 4 +
                changes.size() + 24);
    out.push_back(static_cast<char>(kind));
    out.push_back(static_cast<char>(status));
    AppendFixed(out, created);
    for (int32_t count : n) AppendFixed(out, count);
    AppendFixed(out, group_at);
    AppendFixed(out, group_key);
    out.push_back(static_cast<char>(group_type));
    out.push_back(static_cast<char>(Flags()));
    AppendFixed<uint16_t>(out, static_cast<uint16_t>(group_actor.size()));
    size_t sizes_at = out.size();
    AppendFixed<uint16_t>(out, 0);
    AppendFixed<uint16_t>(out, 0);
    AppendFixed<uint16_t>(out, 0);
    out.append(group_actor);
    size_t pending_at = out.size();
    bool found = false;
    Reader in(pending);
    while (!in.empty()) {
      std::string_view a = in.ShortString();
      int32_t count = in.Fixed<int32_t>();
      int32_t counted = in.Fixed<int32_t>();
      if (!in.ok()) break;
      if (!activity.empty() && a == activity) {
        found = true;
        count = activity_pending;
      }
      if (settle) counted = count;
      if (count == 0 && counted == 0) continue;
      AppendShortString(out, a);
      AppendFixed(out, count);
      AppendFixed(out, counted);
    }
    if (!activity.empty() && !found && activity_pending != 0) {
      AppendShortString(out, activity);
      AppendFixed(out, activity_pending);
      AppendFixed(out, settle ? activity_pending : 0);
    }
    auto set_size = [&](size_t at, size_t size) {
      out[at] = static_cast<char>(size & 0xff);
      out[at + 1] = static_cast<char>((size >> 8) & 0xff);
    };
    set_size(sizes_at, out.size() - pending_at);
    set_size(sizes_at + 2, updates.size() + (update != 0 ? 8 : 0));
    out.append(updates);
    if (update != 0) AppendFixed(out, update);
    set_size(sizes_at + 4, pairs.size() + (add_pair ? 4 + new_child.size() + activity.size() : 0));
    out.append(pairs);
    if (add_pair) {
      AppendShortString(out, new_child);
      AppendShortString(out, activity);
    }
    out.append(changes);
    if (change != nullptr) AppendDayChange(out, *change, created, last_entry);
  }
  std::string Encode(std::string_view activity = {}, int32_t activity_pending = 0,
                     uint64_t update = 0) const {
    std::string out;
    EncodeTo(out, activity, activity_pending, update);
    return out;
  }

  uint8_t Flags() const { return (group_days ? 1 : 0) | (open && !settle ? 2 : 0); }

  // Calls `fn(activity, where its pending days are, its pending days, those counted in
  // "c/<activity>")` for each activity.
  template <class Fn>
  void ForEachPending(Fn&& fn) const {
    Reader in(pending);
    while (!in.empty()) {
      std::string_view a = in.ShortString();
      const char* at = a.data() + a.size();
      int32_t count = in.Fixed<int32_t>();
      int32_t counted = in.Fixed<int32_t>();
      if (!in.ok()) break;
      fn(a, at, count, counted);
    }
  }

  size_t update_count() const { return updates.size() / 8; }
  uint64_t update(size_t i) const { return ReadFixed<uint64_t>(updates.data() + 8 * i); }

  // The request's state from its days' outcomes (dossier changes keep their own status).
  std::string_view State() const {
    if (kind == kDossierChange) {
      return status < std::size(kStatusNames) ? kStatusNames[status] : "pending";
    }
    int total = 0;
    for (int32_t count : n) total += count;
    int live = total - n[kCancelled];
    if (live == 0) return "cancelled";
    int pending_days = n[kPending];
    if (pending_days > 0) return pending_days == live ? "pending" : "partly_decided";
    if (n[kAccepted] == live) return "accepted";
    if (n[kRefused] == live) return "refused";
    if (n[kWaitingList] == live) return "waiting_list";
    if (n[kAccepted] > 0) return "partly_accepted";
    return "waiting_list";  // some waiting, the others refused
  }

  // The "days" object: each outcome's count, zeros left out, as nlohmann writes it.
  std::string DaysJson() const {
    std::string out = "{";
    for (size_t o = 0; o < n.size(); ++o) {
      if (n[o] == 0) continue;
      if (out.size() > 1) out.push_back(',');
      out.push_back('"');
      out.append(kOutcomeNames[o]).append("\":").append(std::to_string(n[o]));
    }
    out.push_back('}');
    return out;
  }

  int UnreadAfter(uint64_t read) const {
    int unread = 0;
    for (size_t i = 0; i < update_count(); ++i) unread += update(i) > read ? 1 : 0;
    return unread;
  }
};

template <class Rows>
std::optional<std::string> StateRow(Rows& rows, std::string_view request) {
  return rows.Get(StateKey(request));
}

// `text` as it reads back from JSON written with invalid UTF-8 replaced (the queue's fields were
// read back from the JSON state of format 2).
std::string AsJsonText(std::string_view text) {
  if (std::all_of(text.begin(), text.end(), [](char c) { return (c & 0x80) == 0; })) {
    return std::string(text);
  }
  return Json::parse(Dump(std::string(text))).get<std::string>();
}

// The row "i/<request>": what does not change, for History and Queue; the queue's text fields
// as AsJsonText gives them.
struct Index {
  uint8_t kind = kReservation;
  uint64_t created = 0;
  int64_t at = 0;
  std::string_view family;
  std::string_view queue_id, queue_family, by_id, by_name;

  std::string Encode() const {
    std::string out;
    out.push_back(static_cast<char>(kind));
    AppendFixed(out, created);
    AppendFixed(out, at);
    AppendShortString(out, family);
    AppendShortString(out, queue_id);
    AppendShortString(out, queue_family);
    AppendShortString(out, by_id);
    out.append(by_name);
    return out;
  }
  bool Decode(std::string_view row) {
    Reader in(row);
    kind = in.Fixed<uint8_t>();
    created = in.Fixed<uint64_t>();
    at = in.Fixed<int64_t>();
    family = in.ShortString();
    queue_id = in.ShortString();
    queue_family = in.ShortString();
    by_id = in.ShortString();
    by_name = in.Rest();
    return in.ok();
  }
};

// The list row "l/<family>/<~position 8B>": a header line of what does not change, then the
// summary JSON without its closing brace, its day counts and state left out:
// "<id>\t<kind>\t<from>\t<to>\t<at>\t<children>\t<days at>\t<state at>\n<JSON>", where <days at>
// (empty for dossier changes) and <state at> are where in the JSON they go.
struct ListHeader {
  std::string_view id, kind, from, to, at, children, days_at, state_at;
  std::string_view json;
};

std::optional<ListHeader> ParseHeader(std::string_view value) {
  size_t newline = value.find('\n');
  if (newline == std::string_view::npos) return std::nullopt;
  ListHeader h;
  h.json = value.substr(newline + 1);
  std::string_view line = value.substr(0, newline);
  std::string_view* fields[] = {&h.id, &h.kind,     &h.from,    &h.to,
                                &h.at, &h.children, &h.days_at, &h.state_at};
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

// The list row of a new request: `summary` is its JSON without "days" and "state".
std::string ListRow(std::string_view id, std::string_view kind, std::string_view from,
                    std::string_view to, int64_t at, std::string_view children, Json summary) {
  bool has_days = kind != "dossier_change";
  if (has_days) summary["days"] = Json::object();
  summary["state"] = "";
  std::string json = Open(summary);
  // Strings in the JSON are escaped, so the first `"days":{}` and `"state":""` are the keys.
  std::string days_at;
  if (has_days) {
    constexpr std::string_view kDays = "\"days\":{}";
    size_t found = json.find(kDays);
    if (found != std::string::npos) {
      json.erase(found + kDays.size() - 2, 2);
      days_at = std::to_string(found + kDays.size() - 2);
    }
  }
  constexpr std::string_view kState = "\"state\":\"\"";
  size_t state = json.find(kState);
  std::string state_at =
      state == std::string::npos ? "" : std::to_string(state + kState.size() - 1);
  std::string out;
  out.append(id).push_back('\t');
  out.append(kind).push_back('\t');
  out.append(from).push_back('\t');
  out.append(to).push_back('\t');
  out.append(std::to_string(at)).push_back('\t');
  out.append(children).push_back('\t');
  out.append(days_at).push_back('\t');
  out.append(state_at).push_back('\n');
  out.append(json);
  return out;
}

// The summary of a list row with the request's day counts and state put in.
std::string Summary(const ListHeader& h, const Folded& f) {
  std::string_view json = h.json;
  size_t state_at = h.state_at.empty() ? json.size() : static_cast<size_t>(ToInt(h.state_at));
  state_at = std::min(state_at, json.size());
  size_t days_at =
      h.days_at.empty() ? std::string_view::npos : static_cast<size_t>(ToInt(h.days_at));
  std::string out;
  out.reserve(json.size() + 80);
  if (days_at <= state_at) {
    out.append(json.substr(0, days_at)).append(f.DaysJson());
    out.append(json.substr(days_at, state_at - days_at));
  } else {
    out.append(json.substr(0, state_at));
  }
  if (!h.state_at.empty()) out.append(f.State());
  out.append(json.substr(state_at));
  return out;
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

uint64_t Marker(const events::ViewReader& rows, const std::string& key) {
  auto value = rows.Get(key);
  return value ? FromBigEndian(*value) : 0;
}

void RaiseMarker(events::ViewWriter& rows, const std::string& key, uint64_t position) {
  auto value = rows.Get(key);
  if (value && FromBigEndian(*value) >= position) return;
  rows.Put(key, BigEndian(position));
}

// History entry rows "h/<request>/<position 8B>" come in two forms. 'J': "J<recorded at µs>\n
// <offset>\n<JSON without its closing brace>", <offset> being where its days go (just after
// "days":[; empty when it has none). 'B', the first day of an append of booking changes:
// "B<recorded at µs i64><type u8><automatic u8><by id (u16 length + bytes)><by name>", rendered
// when read. An entry's days are among its request's day changes (see DayChange).
std::string EntryRow(int64_t at_us, const Json& entry) {
  std::string text = Open(entry);
  std::string offset;
  if (entry.contains("days")) {
    // Keys are sorted and "automatic" and "by" come before "days": the first match is the key.
    constexpr std::string_view kDays = "\"days\":[";
    size_t found = text.find(kDays);
    if (found != std::string::npos) offset = std::to_string(found + kDays.size());
  }
  return 'J' + std::to_string(at_us) + '\n' + offset + '\n' + text;
}

std::string BookingEntryRow(int64_t at_us, uint8_t type, bool automatic, std::string_view by_id,
                            std::string_view by_name) {
  std::string out;
  out.reserve(1 + 8 + 2 + 2 + by_id.size() + by_name.size());
  out.push_back('B');
  AppendFixed(out, at_us);
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(automatic ? 1 : 0));
  AppendShortString(out, by_id);
  out.append(by_name);
  return out;
}

// An entry row read back: its time, its JSON without its closing brace, and where its days go
// (npos: it has none).
struct EntryText {
  int64_t at_us = 0;
  std::string text;
  size_t offset = std::string::npos;
};

std::optional<EntryText> ReadEntry(std::string_view value, uint64_t position) {
  EntryText out;
  if (value.starts_with('B')) {
    Reader in(value.substr(1));
    out.at_us = in.Fixed<int64_t>();
    uint8_t type = in.Fixed<uint8_t>();
    bool automatic = in.Fixed<uint8_t>() != 0;
    std::string_view by_id = in.ShortString();
    std::string_view by_name = in.Rest();
    if (!in.ok()) return std::nullopt;
    Json entry = automatic ? Json{{"automatic", true}, {"days", Json::array()}}
                           : Json{{"by", Person(by_id, by_name)}, {"days", Json::array()}};
    entry["position"] = position;
    entry["type"] = std::string(TypeName(type));
    out.text = Open(entry);
    constexpr std::string_view kDays = "\"days\":[";
    size_t found = out.text.find(kDays);
    if (found != std::string::npos) out.offset = found + kDays.size();
    return out;
  }
  if (!value.starts_with('J')) return std::nullopt;
  value.remove_prefix(1);
  size_t at_end = value.find('\n');
  size_t offset_end = at_end == std::string_view::npos ? at_end : value.find('\n', at_end + 1);
  if (offset_end == std::string_view::npos) return std::nullopt;
  out.at_us = ToInt(value.substr(0, at_end));
  out.text = std::string(value.substr(offset_end + 1));
  std::string_view offset = value.substr(at_end + 1, offset_end - at_end - 1);
  if (!offset.empty()) out.offset = std::min(static_cast<size_t>(ToInt(offset)), out.text.size());
  return out;
}

// Moves `activity`'s pending counts from `old_n` pending days of a request to `new_n`.
void Recount(events::ViewWriter& rows, std::string_view activity, int32_t old_n, int32_t new_n) {
  if (old_n == new_n) return;
  std::string key = CountKey(activity);
  int32_t requests = 0;
  int32_t days = 0;
  if (auto value = rows.Get(key); value && value->size() == 8) {
    requests = ReadFixed<int32_t>(value->data());
    days = ReadFixed<int32_t>(value->data() + 4);
  }
  requests += (new_n > 0 ? 1 : 0) - (old_n > 0 ? 1 : 0);
  days += new_n - old_n;
  if (requests <= 0 && days <= 0) {
    rows.Delete(key);
    return;
  }
  std::string value;
  AppendFixed(value, requests);
  AppendFixed(value, days);
  rows.Put(key, value);
}

// The pending counts "c/<activity>" leave out the moves of one request, the open one, named by
// the row "u": a request's booking changes, mostly in one append, write its pending days in its
// own row only, and the counts are read with them (see PendingByActivity). A request that opens
// settles the one open before it: its moves go into the counts.
constexpr std::string_view kOpenKey = "u";

void Settle(events::ViewWriter& rows, std::string_view request) {
  if (auto other = rows.Get(kOpenKey); other && *other != request) {
    std::string key = StateKey(*other);
    if (auto state_row = rows.Get(key)) {
      Folded g;
      if (g.Decode(*state_row)) {
        g.ForEachPending([&](std::string_view activity, const char*, int32_t count,
                             int32_t counted) { Recount(rows, activity, counted, count); });
        g.settle = true;
        rows.Put(key, g.Encode());
      }
    }
  }
  rows.Put(kOpenKey, request);
}

// The request's queue row follows whether it has pending days.
void Requeue(events::ViewWriter& rows, std::string_view request, uint64_t created, bool was_queued,
             bool queued) {
  if (queued && !was_queued) rows.Put(QueueKey(created), request);
  if (!queued && was_queued) rows.Delete(QueueKey(created));
}

void ApplyBooking(const schema::EventRecord& event, const schema::BookingChanged& e,
                  events::ViewWriter& rows) {
  std::string_view request = StrView(e.request_id());
  std::string key = StateKey(request);
  auto state_row = rows.Get(key);
  Folded f;
  if (!state_row || !f.Decode(*state_row)) return;
  std::string_view activity = StrView(e.activity_id());
  Outcome outcome = DayOutcome(f.kind, e);
  size_t pending_at = std::string_view::npos;  // where in the row its count is
  int32_t old_pending = 0;
  int32_t counted = 0;
  f.ForEachPending([&](std::string_view a, const char* at, int32_t count, int32_t in_counts) {
    if (a != activity) return;
    pending_at = static_cast<size_t>(at - state_row->data());
    old_pending = count;
    counted = in_counts;
  });
  int32_t new_pending = old_pending;
  bool was_queued = f.n[kPending] > 0;

  // The day's last change is its outcome until now.
  std::string_view child = StrView(e.child_id());
  auto [pair, known] = f.PairOf(child, activity);
  bool add_pair = !known;
  int old_outcome = -1;
  uint64_t last_entry = 0;
  ForEachDayChange(f.changes, f.created, [&](const DayChange& c) {
    if (c.pair == pair && c.day == e.day()) old_outcome = c.outcome;
    last_entry = c.entry;
  });
  if (old_outcome >= 0 && old_outcome < kOutcomes) {
    --f.n[old_outcome];
    if (old_outcome == kPending) --new_pending;
  }
  ++f.n[outcome];
  if (outcome == kPending) ++new_pending;

  uint8_t type = kCreated;  // the days taken when the request was made (automatic answers too)
  switch (e.cause()) {
    case schema::BookingCause::Decided:
      type = kDecision;
      break;
    case schema::BookingCause::Promoted:
      type = kPromotion;
      break;
    case schema::BookingCause::Cancelled:
      type = kCancelledEntry;
      break;
    default:
      break;
  }
  // Merged into the last entry when of the same append (same type, time and actor).
  std::string_view actor = StrView(event.actor());
  uint64_t update = 0;
  if (f.group_type == type && f.group_at == event.recorded_at_us() && f.group_actor == actor) {
    if (!f.group_days) {  // an entry without days (not a booking's): it gets them
      std::string entry_key = HistoryPrefix(request);
      AppendBigEndian(entry_key, f.group_key);
      if (auto value = rows.Get(entry_key)) {
        if (auto entry = ReadEntry(*value, f.group_key); entry && !value->starts_with('B')) {
          Json last = Json::parse(entry->text + "}", nullptr, false);
          if (last.is_object()) {
            last["days"] = Json::array();
            rows.Put(entry_key, EntryRow(entry->at_us, last));
          }
        }
      }
      f.group_days = true;
    }
  } else {
    std::string entry_key = HistoryPrefix(request);
    AppendBigEndian(entry_key, event.position());
    rows.Put(entry_key, BookingEntryRow(event.recorded_at_us(), type,
                                        e.cause() == schema::BookingCause::Promoted,
                                        StreamEntityId(actor), StrView(e.by_name())));
    f.group_type = type;
    f.group_at = event.recorded_at_us();
    f.group_actor = actor;
    f.group_key = event.position();
    f.group_days = true;
    if (IsTown(type)) update = event.position();
  }
  if (new_pending != old_pending && !f.open) {
    Settle(rows, request);
    f.open = true;
  }
  Requeue(rows, request, f.created, was_queued, f.n[kPending] > 0);
  DayChange change{pair, e.day(), f.group_key, outcome, StrView(e.reason())};
  if (!add_pair && update == 0 && f.group_actor.data() != actor.data() &&
      pending_at != std::string_view::npos && (new_pending != 0 || counted != 0)) {
    // Nothing moves in the row: its fields are rewritten in place, the change added at its end.
    std::string& row = *state_row;
    for (size_t o = 0; o < kOutcomes; ++o) WriteFixed(&row[Folded::kCountsAt + 4 * o], f.n[o]);
    WriteFixed(&row[Folded::kGroupAt], f.group_at);
    WriteFixed(&row[Folded::kGroupAt + 8], f.group_key);
    row[Folded::kGroupAt + 16] = static_cast<char>(f.group_type);
    row[Folded::kGroupAt + 17] = static_cast<char>(f.Flags());
    WriteFixed(&row[pending_at], new_pending);
    AppendDayChange(row, change, f.created, last_entry);
    rows.Put(key, row);
    return;
  }
  // The row is built in a buffer kept by the thread, so that its memory is reused.
  thread_local std::string row;
  f.EncodeTo(row, activity, new_pending, update, add_pair, child, &change, last_entry);
  rows.Put(key, row);
}

// Adds a new entry, `entry` (without its position and type), to the request's history.
void NewEntry(events::ViewWriter& rows, std::string_view request, Folded& f,
              const schema::EventRecord& event, uint8_t type, Json entry, uint64_t* update) {
  bool days = entry.contains("days");
  entry["position"] = event.position();
  entry["type"] = std::string(TypeName(type));
  std::string key = HistoryPrefix(request);
  AppendBigEndian(key, event.position());
  rows.Put(key, EntryRow(event.recorded_at_us(), entry));
  f.group_type = type;
  f.group_at = event.recorded_at_us();
  f.group_actor = StrView(event.actor());
  f.group_key = event.position();
  f.group_days = days;
  if (IsTown(type)) *update = event.position();
}

// A new request: its rows, with its first history entry.
void Create(events::ViewWriter& rows, const schema::EventRecord& event, std::string_view id,
            std::string_view family, uint8_t kind, const flatbuffers::String* by_name,
            std::string_view from, std::string_view to, std::string_view children, Json summary,
            Json entry) {
  Json by = Person(event, by_name);
  summary["id"] = std::string(id);
  summary["family_id"] = std::string(family);
  summary["kind"] = std::string(KindName(kind));
  summary["created_by"] = by;
  entry["by"] = by;
  Folded f;
  f.kind = kind;
  f.created = event.position();
  uint64_t update = 0;
  NewEntry(rows, id, f, event, kCreated, std::move(entry), &update);
  rows.Put(ListKey(family, f.created), ListRow(id, KindName(kind), from, to, event.recorded_at_us(),
                                               children, std::move(summary)));
  std::string queue_id = AsJsonText(id);
  std::string queue_family = AsJsonText(family);
  std::string by_id = AsJsonText(StreamEntityId(StrView(event.actor())));
  std::string by_name_text = AsJsonText(StrView(by_name));
  Index index{kind,  f.created,   event.recorded_at_us(), family, queue_id, queue_family,
              by_id, by_name_text};
  rows.Put(IndexKey(id), index.Encode());
  rows.Put(StateKey(id), f.Encode({}, 0, update));
}

void ApplySubmitted(const schema::EventRecord& event, const schema::RequestSubmitted& e,
                    events::ViewWriter& rows) {
  Json children = Json::array();
  std::string children_field;
  if (e.children()) {
    for (const auto* c : *e.children()) {
      children.push_back(c->str());
      children_field.append(c->string_view()).push_back(',');
    }
  }
  Json activities = Json::array();
  if (e.activities()) {
    for (const auto* a : *e.activities()) activities.push_back(a->str());
  }
  Json summary{{"children", children}, {"activities", activities}};
  if (e.from() == e.to()) {
    summary["date"] = DayText(e.from());
  } else {
    summary["from"] = DayText(e.from());
    summary["to"] = DayText(e.to());
    summary["weekdays"] = WeekdayNames(e.weekdays());
  }
  Json not_taken = Json::array();
  if (e.not_taken()) {
    for (const auto* line : *e.not_taken()) {
      not_taken.push_back({{"child_id", events::Str(line->child_id())},
                           {"activity_id", events::Str(line->activity_id())},
                           {"date", DayText(line->day())},
                           {"code", events::Str(line->code())},
                           {"reason", events::Str(line->reason())}});
    }
  }
  Json entry{{"days", Json::array()}, {"not_taken", not_taken}};
  uint8_t kind = e.kind() == schema::RequestKind::Absence ? kAbsence : kReservation;
  Create(rows, event, StrView(e.request_id()), StrView(e.family_id()), kind, e.by_name(),
         std::to_string(e.from()), std::to_string(e.to()), children_field, std::move(summary),
         std::move(entry));
}

void ApplyChangeProposed(const schema::EventRecord& event, const schema::ChangeProposed& e,
                         events::ViewWriter& rows) {
  std::string_view family = StreamEntityId(StrView(event.stream_id()));
  Json summary{{"change_kind", e.kind() == schema::ChangeKind::AddMember ? "add_member" : "update"},
               {"member_id", events::Str(e.member_id())}};
  Json sections = Json::array();
  if (e.sections()) {
    for (const auto* s : *e.sections()) sections.push_back(events::Str(s->section()));
  }
  Create(rows, event, StrView(e.change_id()), family, kDossierChange, e.by_name(), "", "",
         StrView(e.member_id()), std::move(summary), Json{{"sections", sections}});
}

// An event that adds an entry to an existing request (a message, a cancellation, a dossier
// change's outcome); `status` sets a dossier change's.
void ApplyEntry(const schema::EventRecord& event, std::string_view request, uint8_t type,
                Json entry, std::optional<uint8_t> status, events::ViewWriter& rows) {
  auto state_row = StateRow(rows, request);
  Folded f;
  if (!state_row || !f.Decode(*state_row)) return;
  if (status) f.status = *status;
  uint64_t update = 0;
  NewEntry(rows, request, f, event, type, std::move(entry), &update);
  rows.Put(StateKey(request), f.Encode({}, 0, update));
}

void ApplyChangeOutcome(const schema::EventRecord& event, events::ViewWriter& rows) {
  std::string_view change_id;
  uint8_t status = kStatusPending;
  const flatbuffers::String* by_name = nullptr;
  std::string_view reason;
  Json entry = Json::object();
  if (const auto* e = event.payload_as_ChangeApproved()) {
    change_id = StrView(e->change_id());
    status = kStatusAccepted;
    by_name = e->by_name();
  } else if (const auto* e = event.payload_as_ChangeRejected()) {
    change_id = StrView(e->change_id());
    status = kStatusRefused;
    by_name = e->by_name();
    reason = StrView(e->reason());
  } else if (const auto* e = event.payload_as_ChangeWithdrawn()) {
    change_id = StrView(e->change_id());
    status = kStatusCancelled;
    by_name = e->by_name();
  } else if (const auto* e = event.payload_as_ChangeSuperseded()) {
    change_id = StrView(e->change_id());
    status = kStatusSuperseded;
    entry["superseded_by"] = events::Str(e->by_change_id());
  } else {
    return;
  }
  uint8_t type = status == kStatusCancelled    ? kCancelledEntry
                 : status == kStatusSuperseded ? kSuperseded
                                               : kDecision;
  if (by_name != nullptr) entry["by"] = Person(event, by_name);
  entry["outcome"] = std::string(kStatusNames[status]);
  if (!reason.empty()) entry["reason"] = std::string(reason);
  ApplyEntry(event, change_id, type, std::move(entry), status, rows);
}

}  // namespace

bool RequestsView::Folds(schema::Payload type) const {
  switch (type) {
    case schema::Payload::BookingChanged:
    case schema::Payload::RequestSubmitted:
    case schema::Payload::RequestCancelled:
    case schema::Payload::RequestMessage:
    case schema::Payload::ChangeProposed:
    case schema::Payload::ChangeApproved:
    case schema::Payload::ChangeRejected:
    case schema::Payload::ChangeWithdrawn:
    case schema::Payload::ChangeSuperseded:
    case schema::Payload::RequestRead:
    case schema::Payload::AllRequestsRead:
      return true;
    default:
      return false;
  }
}

void RequestsView::Apply(const schema::EventRecord& event, events::ViewWriter& rows) {
  switch (event.payload_type()) {
    case schema::Payload::BookingChanged:
      ApplyBooking(event, *event.payload_as_BookingChanged(), rows);
      return;
    case schema::Payload::RequestSubmitted:
      ApplySubmitted(event, *event.payload_as_RequestSubmitted(), rows);
      return;
    case schema::Payload::RequestCancelled: {
      const auto* e = event.payload_as_RequestCancelled();
      ApplyEntry(event, StrView(e->request_id()), kCancelledEntry,
                 Json{{"by", Person(event, e->by_name())}, {"days", Json::array()}}, std::nullopt,
                 rows);
      return;
    }
    case schema::Payload::RequestMessage: {
      const auto* e = event.payload_as_RequestMessage();
      ApplyEntry(event, StrView(e->request_id()), e->from_town() ? kTownMessage : kFamilyMessage,
                 Json{{"by", Person(event, e->by_name())},
                      {"from_town", e->from_town()},
                      {"text", events::Str(e->text())}},
                 std::nullopt, rows);
      return;
    }
    case schema::Payload::ChangeProposed:
      ApplyChangeProposed(event, *event.payload_as_ChangeProposed(), rows);
      return;
    case schema::Payload::ChangeApproved:
    case schema::Payload::ChangeRejected:
    case schema::Payload::ChangeWithdrawn:
    case schema::Payload::ChangeSuperseded:
      ApplyChangeOutcome(event, rows);
      return;
    case schema::Payload::RequestRead: {
      const auto* e = event.payload_as_RequestRead();
      RaiseMarker(rows, ReadPrefix(StrView(e->account_id())) + events::Str(e->request_id()),
                  e->up_to_position());
      return;
    }
    case schema::Payload::AllRequestsRead: {
      const auto* e = event.payload_as_AllRequestsRead();
      RaiseMarker(rows, AllReadKey(StrView(e->account_id())), e->up_to_position());
      return;
    }
    default:
      return;
  }
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
      if (!filter.child_id.empty() && !ListHas(h->children, filter.child_id)) return true;
      if (filter.from_day || filter.to_day) {
        if (h->from.empty()) return true;
        if (filter.to_day && ToInt(h->from) > *filter.to_day) return true;
        if (filter.from_day && ToInt(h->to) < *filter.from_day) return true;
      }
      auto state_row = StateRow(rows, h->id);
      Folded f;
      if (!state_row || !f.Decode(*state_row)) return true;
      if (!filter.state.empty() && f.State() != filter.state) return true;
      RequestRow row;
      row.position = ~FromBigEndian(inverted);
      row.created_at_us = ToInt(h->at);
      row.json = Summary(*h, f);
      uint64_t marker = all_read;
      if (auto r = read.find(std::string(h->id)); r != read.end()) {
        marker = std::max(marker, r->second);
      }
      row.unread = f.UnreadAfter(marker);
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
  auto index_row = rows.Get(IndexKey(request_id));
  Index index;
  if (!index_row || !index.Decode(*index_row)) return std::nullopt;
  auto state_row = StateRow(rows, request_id);
  Folded f;
  if (!state_row || !f.Decode(*state_row)) return std::nullopt;
  auto value = rows.Get(ListKey(index.family, index.created));
  if (!value) return std::nullopt;
  auto h = ParseHeader(*value);
  if (!h) return std::nullopt;
  RequestHistory out;
  out.request_id = std::string(request_id);
  out.family_id = std::string(index.family);
  out.summary.position = index.created;
  out.summary.created_at_us = ToInt(h->at);
  out.summary.json = Summary(*h, f);
  uint64_t marker = std::max(Marker(rows, AllReadKey(account_id)),
                             Marker(rows, ReadPrefix(account_id) + std::string(request_id)));
  out.summary.unread = f.UnreadAfter(marker);
  if (f.update_count() > 0) out.last_update = f.update(f.update_count() - 1);

  // Every day's changes, in the order of their events, so of their entries.
  struct Day {
    uint64_t entry;
    std::string json;
  };
  std::vector<Day> days;
  auto pairs = f.Pairs();
  ForEachDayChange(f.changes, f.created, [&](const DayChange& c) {
    if (c.pair >= pairs.size()) return;
    Json day{{"child_id", std::string(pairs[c.pair].first)},
             {"activity_id", std::string(pairs[c.pair].second)},
             {"date", DayText(c.day)},
             {"state", std::string(OutcomeName(c.outcome))}};
    if (!c.reason.empty()) day["reason"] = std::string(c.reason);
    days.push_back({c.entry, Dump(day)});
  });
  auto next_day = days.begin();
  std::string prefix = HistoryPrefix(request_id);
  rows.Scan(prefix, [&](std::string_view key, std::string_view entry_value) {
    if (key.size() != prefix.size() + 8) return true;
    uint64_t position = FromBigEndian(key.substr(prefix.size()));
    auto entry = ReadEntry(entry_value, position);
    if (!entry) return true;
    while (next_day != days.end() && next_day->entry < position) ++next_day;
    std::string json;
    if (entry->offset == std::string::npos) {
      json = std::move(entry->text);
      while (next_day != days.end() && next_day->entry == position) ++next_day;
    } else {
      json.append(std::string_view(entry->text).substr(0, entry->offset));
      bool first = true;
      for (; next_day != days.end() && next_day->entry == position; ++next_day) {
        if (!first) json.push_back(',');
        first = false;
        json.append(next_day->json);
      }
      json.append(std::string_view(entry->text).substr(entry->offset));
    }
    out.entries.push_back({entry->at_us, std::move(json)});
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
    auto index_row = rows.Get(IndexKey(value));
    Index index;
    if (!index_row || !index.Decode(*index_row)) return true;
    if (!kind.empty() && KindName(index.kind) != kind) return true;
    bool match = activity_id.empty() && !day;
    QueuedRequest q;
    auto state_row = StateRow(rows, value);
    Folded f;
    if (!state_row || !f.Decode(*state_row)) return true;
    auto pairs = f.Pairs();
    // Each day's last change.
    std::vector<DayChange> last;
    ForEachDayChange(f.changes, f.created, [&](const DayChange& c) {
      if (c.pair >= pairs.size()) return;
      auto found = std::find_if(last.begin(), last.end(), [&](const DayChange& l) {
        return l.pair == c.pair && l.day == c.day;
      });
      if (found == last.end()) {
        last.push_back(c);
      } else {
        *found = c;
      }
    });
    for (const DayChange& c : last) {
      RequestDay rd{std::string(pairs[c.pair].first), std::string(pairs[c.pair].second), c.day,
                    std::string(OutcomeName(c.outcome)), std::string(c.reason)};
      if (rd.state == "pending" && (activity_id.empty() || rd.activity_id == activity_id) &&
          (!day || rd.day == *day)) {
        match = true;
      }
      q.days.push_back(std::move(rd));
    }
    if (!match) return true;
    q.position = position;
    q.created_at_us = index.at;
    q.request_id = std::string(index.queue_id);
    q.family_id = std::string(index.queue_family);
    q.kind = std::string(KindName(index.kind));
    q.by_id = std::string(index.by_id);
    q.by_name = std::string(index.by_name);
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
  // By activity id, as the rows "c/<activity>" sort.
  std::map<std::string, std::pair<int32_t, int32_t>, std::less<>> counts;
  rows.Scan("c/", [&](std::string_view key, std::string_view value) {
    if (value.size() != 8) return true;
    counts.emplace(std::string(key.substr(2)), std::pair(ReadFixed<int32_t>(value.data()),
                                                         ReadFixed<int32_t>(value.data() + 4)));
    return true;
  });
  // The open request's moves (see Settle).
  if (auto open = rows.Get(kOpenKey)) {
    auto state_row = StateRow(rows, *open);
    Folded f;
    if (state_row && f.Decode(*state_row)) {
      f.ForEachPending([&](std::string_view activity, const char*, int32_t count, int32_t counted) {
        if (count == counted) return;
        auto& [requests, days] = counts[std::string(activity)];
        requests += (count > 0 ? 1 : 0) - (counted > 0 ? 1 : 0);
        days += count - counted;
      });
    }
  }
  std::vector<PendingCount> out;
  for (const auto& [activity, count] : counts) {
    if (count.first <= 0 && count.second <= 0) continue;
    out.push_back({activity, count.first, count.second});
  }
  return out;
}

}  // namespace portail::projections
