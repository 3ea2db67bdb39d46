// The family file view. Each event touches only the rows it changes; the file is rendered when
// read. Rows of family F (ids never hold '/'):
//   "f/F/v"      the file's version (the stream version of its last event), decimal: its ETag;
//   "f/F/m/M"    member M: the position of its MemberAdded (the members' order), kind, child,
//                whether removed, and its sections' current values (binary, see MemberRow);
//   "f/F/p/C"    pending change C as JSON (kind, member, sections proposed, by, at, position);
//   "x/F/C"      change C once decided, withdrawn or superseded, as JSON;
//   "h/F/<pos>"  a history entry as JSON, by the event's 8-byte big-endian position;
//   "q/<pos>"    the agents' queue: "F\0C" for each pending change, by its proposal's position.
// Everything a file shows is under "f/F/", so one scan reads it at one snapshot.
#include "projections/dossier_view.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "events/stored_event.h"
#include "events/time_text.h"
#include "projections/accounts_view.h"
#include "projections/json_row.h"
#include "projections/json_text.h"
#include "projections/row_bytes.h"
#include "schemas/dossier_catalogue.h"

namespace portail::projections {
namespace {

using Json = nlohmann::json;
namespace dossier = schema::dossier;
using events::Str;
using events::StrView;

std::string FilePrefix(std::string_view family) { return "f/" + std::string(family) + "/"; }
std::string VersionKey(std::string_view family) { return FilePrefix(family) + "v"; }
std::string MemberKey(std::string_view family, std::string_view member) {
  return FilePrefix(family) + "m/" + std::string(member);
}
std::string PendingKey(std::string_view family, std::string_view change) {
  return FilePrefix(family) + "p/" + std::string(change);
}
std::string ClosedPrefix(std::string_view family) { return "x/" + std::string(family) + "/"; }
std::string ClosedKey(std::string_view family, std::string_view change) {
  return ClosedPrefix(family) + std::string(change);
}
std::string HistoryPrefix(std::string_view family) { return "h/" + std::string(family) + "/"; }
constexpr std::string_view kQueuePrefix = "q/";

dossier::Kind KindNamed(const std::string& name) {
  dossier::Kind kind = dossier::Kind::kChild;
  dossier::ParseKind(name, &kind);
  return kind;
}

// The JSON value of a canonical field value as shown to readers.
Json Typed(const dossier::Field* field, const std::string& value, bool mask) {
  if (field == nullptr) return value;
  switch (field->type) {
    case dossier::Type::kBool:
      return value == "true";
    case dossier::Type::kInteger: {
      char* end = nullptr;
      long long number = std::strtoll(value.c_str(), &end, 10);
      return *end == '\0' ? Json(number) : Json(value);
    }
    case dossier::Type::kDecimal: {
      char* end = nullptr;
      double number = std::strtod(value.c_str(), &end);
      return *end == '\0' ? Json(number) : Json(value);
    }
    case dossier::Type::kSet: {
      Json items = Json::array();
      size_t start = 0;
      while (start < value.size()) {
        size_t comma = value.find(',', start);
        if (comma == std::string::npos) comma = value.size();
        items.push_back(value.substr(start, comma - start));
        start = comma + 1;
      }
      return items;
    }
    case dossier::Type::kIban:
      return mask ? dossier::MaskIban(value) : value;
    default:
      return value;
  }
}

// Field values of `section` (JSON object of canonical text) typed for readers.
Json TypedFields(dossier::Kind kind, const std::string& section, const Json& fields, bool mask) {
  const dossier::Section* s = dossier::FindSection(kind, section);
  Json out = Json::object();
  for (const auto& [name, value] : fields.items()) {
    const dossier::Field* field = s ? dossier::FindField(*s, name) : nullptr;
    out[name] = value.get<std::string>().empty() ? Json() : Typed(field, value, mask);
  }
  return out;
}

Json FieldsJson(const flatbuffers::Vector<flatbuffers::Offset<schema::FieldValue>>* fields) {
  Json out = Json::object();
  if (fields == nullptr) return out;
  for (const auto* f : *fields) out[Str(f->name())] = Str(f->value());
  return out;
}

const Json* FindMember(const Json& state, std::string_view id) {
  for (const auto& m : state["members"]) {
    if (m["id"] == id) return &m;
  }
  return nullptr;
}

std::string MemberName(const Json& member) {
  const Json& sections = member["sections"];
  std::string section(dossier::NameSection(KindNamed(member["kind"])));
  if (!sections.contains(section)) return "";
  const Json& s = sections[section];
  std::string first = s.value("first_name", "");
  std::string last = s.value("last_name", "");
  return first.empty() ? last : last.empty() ? first : first + " " + last;
}

Json Person(const schema::EventRecord& event, const flatbuffers::String* name) {
  std::string actor = Str(event.actor());
  return Json{{"id", std::string(StreamEntityId(actor))}, {"name", Str(name)}};
}

// Appends what Typed() gives as JSON text.
void AppendTyped(std::string& out, const dossier::Field* field, const std::string& value,
                 bool mask) {
  switch (field == nullptr ? dossier::Type::kText : field->type) {
    case dossier::Type::kBool:
      out += value == "true" ? "true" : "false";
      return;
    case dossier::Type::kInteger: {
      char* end = nullptr;
      long long number = std::strtoll(value.c_str(), &end, 10);
      if (*end == '\0') {
        out += std::to_string(number);
      } else {
        AppendJsonString(out, value);
      }
      return;
    }
    case dossier::Type::kDecimal:
      out += Typed(field, value, mask).dump();
      return;
    case dossier::Type::kSet: {
      out += '[';
      size_t start = 0;
      while (start < value.size()) {
        size_t comma = value.find(',', start);
        if (comma == std::string::npos) comma = value.size();
        if (start != 0) out += ',';
        AppendJsonString(out, std::string_view(value).substr(start, comma - start));
        start = comma + 1;
      }
      out += ']';
      return;
    }
    case dossier::Type::kIban:
      AppendJsonString(out, mask ? dossier::MaskIban(value) : value);
      return;
    default:
      AppendJsonString(out, value);
  }
}

// A history entry of a member's event written as JSON text as it goes (the frequent events;
// History() parses entries again, so only their values matter).
class EntryText {
 public:
  EntryText(const schema::EventRecord& event, std::string_view type) {
    out_.reserve(256);
    out_ += "{\"position\":";
    out_ += std::to_string(event.position());
    String("at", events::IsoTime(event.recorded_at_us()));
    String("type", type);
  }
  // Appends the key; the caller appends its value.
  std::string& Key(std::string_view key) {
    out_ += ',';
    AppendJsonString(out_, key);
    out_ += ':';
    return out_;
  }
  void String(std::string_view key, std::string_view value) { AppendJsonString(Key(key), value); }
  // The actor, as Person() gives it.
  void By(const schema::EventRecord& event, const flatbuffers::String* name) {
    AppendJsonString(Key("by") += "{\"id\":", StreamEntityId(StrView(event.actor())));
    AppendJsonString(out_ += ",\"name\":", StrView(name));
    out_ += '}';
  }
  std::string Finish() && {
    out_ += '}';
    return std::move(out_);
  }

 private:
  std::string out_;
};

// The rendered file served to readers.
std::string Render(const Json& state, std::string_view family_id, bool redacted) {
  Json members = Json::array();
  const Json& changes = state["changes"];
  for (const auto& m : state["members"]) {
    if (m.value("removed", false)) continue;
    dossier::Kind kind = KindNamed(m["kind"]);
    std::string member_id = m["id"];
    Json out{{"id", member_id}, {"kind", m["kind"]}, {"name", MemberName(m)}};
    if (kind == dossier::Kind::kAuthorisedAdult) out["child_id"] = m["child_id"];
    Json sections = Json::object();
    for (const auto& section : dossier::kSections) {
      if (section.kind != kind || (redacted && section.sensitive)) continue;
      std::string sname(section.name);
      const Json* current = m["sections"].contains(sname) ? &m["sections"][sname] : nullptr;
      Json fields = Json::object();
      for (const auto& field : section.fields) {
        std::string fname(field.name);
        Json entry;
        if (current && current->contains(fname)) {
          entry["value"] = Typed(&field, (*current)[fname], true);
        } else {
          entry["value"] = nullptr;
        }
        for (const auto& [change_id, c] : changes.items()) {
          if (c["status"] != "pending" || c["kind"] != "update" || c["member_id"] != member_id ||
              !c["sections"].contains(sname) || !c["sections"][sname].contains(fname)) {
            continue;
          }
          const std::string& proposed = c["sections"][sname][fname];
          entry["pending"] = {{"value", proposed.empty() ? Json() : Typed(&field, proposed, true)},
                              {"change_id", change_id},
                              {"proposed_by", c["by"]},
                              {"proposed_at", c["at"]}};
        }
        fields[fname] = std::move(entry);
      }
      sections[sname] = std::move(fields);
    }
    if (kind == dossier::Kind::kChild) {
      out["colour"] = m["sections"].contains("general")
                          ? m["sections"]["general"].value("colour", "")
                          : std::string();
    }
    out["sections"] = std::move(sections);
    members.push_back(std::move(out));
  }
  Json pending = Json::array();
  for (const auto& [change_id, c] : changes.items()) {
    if (c["status"] != "pending") continue;
    dossier::Kind kind = KindNamed(c["member_kind"]);
    Json sections = Json::object();
    for (const auto& [sname, fields] : c["sections"].items()) {
      if (redacted && dossier::IsSensitiveSection(sname)) continue;
      sections[sname] = TypedFields(kind, sname, fields, true);
    }
    Json out{{"id", change_id},
             {"kind", c["kind"]},
             {"member_id", c["member_id"]},
             {"member_kind", c["member_kind"]},
             {"sections", sections},
             {"proposed_by", c["by"]},
             {"proposed_at", c["at"]},
             {"position", c["position"]}};
    if (!c["child_id"].get<std::string>().empty()) out["child_id"] = c["child_id"];
    pending.push_back(std::move(out));
  }
  std::sort(pending.begin(), pending.end(),
            [](const Json& a, const Json& b) { return a["position"] < b["position"]; });
  Json doc{{"family_id", std::string(family_id)},
           {"version", state["version"]},
           {"members", std::move(members)},
           {"pending_changes", std::move(pending)}};
  if (redacted) doc["redacted"] = true;
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// A member as its row holds it. Sections and fields are ordered by name, as in a JSON object.
struct MemberRow {
  using Fields = std::map<std::string, std::string, std::less<>>;
  uint64_t added_at = 0;  // position of its MemberAdded: the members' order in the file
  std::string kind;
  std::string child_id;
  bool removed = false;
  std::map<std::string, Fields, std::less<>> sections;
};

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
void PutText(std::string& out, std::string_view text) {
  PutVarint(out, text.size());
  out += text;
}
bool GetVarint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    auto byte = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}
bool GetText(std::string_view& in, std::string& text) {
  uint64_t size = 0;
  if (!GetVarint(in, size) || size > in.size()) return false;
  text.assign(in.substr(0, size));
  in.remove_prefix(size);
  return true;
}

// added_at, kind, child_id, removed (one byte), then the sections: count, and for each its name,
// its fields' count and each field's name and value. Lengths and counts are varints.
std::string EncodeMember(const MemberRow& m) {
  std::string out;
  out.reserve(64 + m.sections.size() * 96);
  PutVarint(out, m.added_at);
  PutText(out, m.kind);
  PutText(out, m.child_id);
  out += m.removed ? '\1' : '\0';
  PutVarint(out, m.sections.size());
  for (const auto& [name, fields] : m.sections) {
    PutText(out, name);
    PutVarint(out, fields.size());
    for (const auto& [field, value] : fields) {
      PutText(out, field);
      PutText(out, value);
    }
  }
  return out;
}

std::optional<MemberRow> DecodeMember(std::string_view in) {
  MemberRow m;
  uint64_t sections = 0;
  if (!GetVarint(in, m.added_at) || !GetText(in, m.kind) || !GetText(in, m.child_id) ||
      in.empty()) {
    return std::nullopt;
  }
  m.removed = in.front() != '\0';
  in.remove_prefix(1);
  if (!GetVarint(in, sections)) return std::nullopt;
  for (uint64_t s = 0; s < sections; ++s) {
    std::string name;
    uint64_t count = 0;
    if (!GetText(in, name) || !GetVarint(in, count)) return std::nullopt;
    MemberRow::Fields& fields = m.sections[name];
    for (uint64_t f = 0; f < count; ++f) {
      std::string field;
      std::string value;
      if (!GetText(in, field) || !GetText(in, value)) return std::nullopt;
      fields.emplace(std::move(field), std::move(value));
    }
  }
  return m;
}

// The member as the read functions see it (the folded state of the whole file).
Json MemberJson(std::string_view id, const MemberRow& m) {
  Json sections = Json::object();
  for (const auto& [name, fields] : m.sections) {
    Json& section = sections[name] = Json::object();
    for (const auto& [field, value] : fields) section[field] = value;
  }
  Json out{{"id", std::string(id)},
           {"kind", m.kind},
           {"child_id", m.child_id},
           {"sections", std::move(sections)}};
  if (m.removed) out["removed"] = true;
  return out;
}

std::optional<uint64_t> VersionOf(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// The folded state of the file of `family` — {"version", "members": [...] in the order they were
// added, "changes": {id: change}} — read in one scan; `closed` adds the changes no longer
// pending. nullopt: the family has no file.
std::optional<Json> LoadState(const events::ViewReader& rows, std::string_view family,
                              bool closed = false) {
  std::optional<uint64_t> version;
  std::vector<std::pair<uint64_t, Json>> members;
  Json changes = Json::object();
  const std::string prefix = FilePrefix(family);
  rows.Scan(prefix, [&](std::string_view key, std::string_view value) {
    std::string_view rest = key.substr(prefix.size());
    if (rest == "v") {
      version = VersionOf(value);
    } else if (rest.starts_with("m/")) {
      if (auto m = DecodeMember(value)) {
        members.emplace_back(m->added_at, MemberJson(rest.substr(2), *m));
      }
    } else if (rest.starts_with("p/")) {
      if (auto c = JsonRow(std::string(value))) changes[std::string(rest.substr(2))] = *c;
    }
    return true;
  });
  if (!version) return std::nullopt;
  if (closed) {
    const std::string closed_prefix = ClosedPrefix(family);
    rows.Scan(closed_prefix, [&](std::string_view key, std::string_view value) {
      if (auto c = JsonRow(std::string(value))) {
        changes[std::string(key.substr(closed_prefix.size()))] = *c;
      }
      return true;
    });
  }
  std::stable_sort(members.begin(), members.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Json list = Json::array();
  for (auto& [position, m] : members) list.push_back(std::move(m));
  return Json{{"version", *version}, {"members", std::move(list)}, {"changes", std::move(changes)}};
}

// Folds one event into the rows of `family`; returns the history entry it makes (empty: none).
std::string Fold(events::ViewWriter& rows, std::string_view family,
                 const schema::EventRecord& event) {
  // The changes' entries are built as JSON (the members' are written as text, EntryText).
  std::string at;
  Json entry;
  auto start_entry = [&] {
    at = events::IsoTime(event.recorded_at_us());
    entry = Json{{"position", event.position()}, {"at", at}};
  };
  // Closes a change (pending or not): its row moves to the closed ones, its queue row goes.
  auto close = [&](const std::string& change_id, const char* status, const Json& by,
                   const std::string& reason, const std::optional<std::string>& superseded_by) {
    std::string key = PendingKey(family, change_id);
    std::optional<Json> c = JsonRow(rows.Get(key));
    if (c) {
      rows.Delete(key);
    } else {
      c = JsonRow(rows.Get(ClosedKey(family, change_id)));
      if (!c) return false;
    }
    (*c)["status"] = status;
    (*c)["decided_at"] = at;
    (*c)["decided_by"] = by;
    if (!reason.empty()) (*c)["reason"] = reason;
    if (superseded_by) (*c)["superseded_by"] = *superseded_by;
    rows.Put(ClosedKey(family, change_id), c->dump());
    rows.Delete(std::string(kQueuePrefix) + BigEndian((*c)["position"].get<uint64_t>()));
    entry["change_id"] = change_id;
    entry["member_id"] = (*c)["member_id"];
    entry["by"] = by;
    if (!reason.empty()) entry["reason"] = reason;
    return true;
  };
  switch (event.payload_type()) {
    case schema::Payload::MemberAdded: {
      const auto* e = event.payload_as_MemberAdded();
      MemberRow m;
      m.added_at = event.position();
      m.kind = dossier::KindName(static_cast<dossier::Kind>(e->kind()));
      m.child_id = Str(e->child_id());
      rows.Put(MemberKey(family, StrView(e->member_id())), EncodeMember(m));
      EntryText text(event, "member_added");
      text.String("member_id", StrView(e->member_id()));
      text.String("kind", m.kind);
      text.By(event, e->by_name());
      if (!StrView(e->change_id()).empty()) text.String("change_id", StrView(e->change_id()));
      return std::move(text).Finish();
    }
    case schema::Payload::SectionUpdated: {
      const auto* e = event.payload_as_SectionUpdated();
      std::string key = MemberKey(family, StrView(e->member_id()));
      auto row = rows.Get(key);
      std::optional<MemberRow> m = row ? DecodeMember(*row) : std::nullopt;
      if (!m) return {};
      std::string_view section = StrView(e->section());
      // The event's fields by name, the last of a repeated name winning (as a JSON object).
      std::map<std::string_view, std::string_view> fields;
      if (e->fields() != nullptr) {
        for (const auto* f : *e->fields()) fields[StrView(f->name())] = StrView(f->value());
      }
      MemberRow::Fields& current = m->sections[std::string(section)];
      for (const auto& [name, value] : fields) {
        auto found = current.find(name);
        if (value.empty()) {
          if (found != current.end()) current.erase(found);
        } else if (found != current.end()) {
          found->second = value;
        } else {
          current.emplace(name, value);
        }
      }
      rows.Put(key, EncodeMember(*m));
      EntryText text(event, "section_updated");
      text.String("member_id", StrView(e->member_id()));
      text.String("section", section);
      text.Key("sensitive") += dossier::IsSensitiveSection(section) ? "true" : "false";
      // As TypedFields() with IBANs masked.
      std::string& out = text.Key("fields");
      const dossier::Section* s = dossier::FindSection(KindNamed(m->kind), section);
      out += '{';
      for (const auto& [name, value] : fields) {
        if (out.back() != '{') out += ',';
        AppendJsonString(out, name);
        out += ':';
        if (value.empty()) {
          out += "null";
        } else {
          AppendTyped(out, s ? dossier::FindField(*s, name) : nullptr, std::string(value), true);
        }
      }
      out += '}';
      text.By(event, e->by_name());
      if (!StrView(e->change_id()).empty()) text.String("change_id", StrView(e->change_id()));
      return std::move(text).Finish();
    }
    case schema::Payload::MemberRemoved: {
      const auto* e = event.payload_as_MemberRemoved();
      std::string key = MemberKey(family, StrView(e->member_id()));
      auto row = rows.Get(key);
      std::optional<MemberRow> m = row ? DecodeMember(*row) : std::nullopt;
      if (!m) return {};
      m->removed = true;
      rows.Put(key, EncodeMember(*m));
      EntryText text(event, "member_removed");
      text.String("member_id", StrView(e->member_id()));
      text.By(event, e->by_name());
      if (!StrView(e->reason()).empty()) text.String("reason", StrView(e->reason()));
      return std::move(text).Finish();
    }
    case schema::Payload::ChangeProposed: {
      start_entry();
      const auto* e = event.payload_as_ChangeProposed();
      std::string member_kind(dossier::KindName(static_cast<dossier::Kind>(e->member_kind())));
      Json sections = Json::object();
      if (e->sections() != nullptr) {
        for (const auto* s : *e->sections()) sections[Str(s->section())] = FieldsJson(s->fields());
      }
      if (e->superseded() != nullptr) {
        for (const auto* ref : *e->superseded()) {
          std::string old = Str(ref->change_id());
          std::string key = PendingKey(family, old);
          std::optional<std::string> row = rows.Get(key);
          if (!row) {
            key = ClosedKey(family, old);
            row = rows.Get(key);
          }
          std::optional<Json> c = JsonRow(row);
          if (!c) continue;
          Json& old_sections = (*c)["sections"];
          std::string section = Str(ref->section());
          if (!old_sections.contains(section)) continue;
          old_sections[section].erase(Str(ref->field()));
          if (old_sections[section].empty()) old_sections.erase(section);
          rows.Put(key, c->dump());
        }
      }
      bool add = e->kind() == schema::ChangeKind::AddMember;
      Json by = Person(event, e->by_name());
      std::string change_id = Str(e->change_id());
      Json change{{"kind", add ? "add_member" : "update"},
                  {"member_id", Str(e->member_id())},
                  {"member_kind", member_kind},
                  {"child_id", Str(e->child_id())},
                  {"sections", sections},
                  {"by", by},
                  {"at", at},
                  {"position", event.position()},
                  {"status", "pending"}};
      rows.Put(PendingKey(family, change_id), change.dump());
      rows.Delete(ClosedKey(family, change_id));  // an id proposed again replaces its change
      rows.Put(std::string(kQueuePrefix) + BigEndian(event.position()),
               std::string(family) + '\0' + change_id);
      bool sensitive = false;
      Json typed = Json::object();
      for (const auto& [sname, fields] : sections.items()) {
        sensitive = sensitive || dossier::IsSensitiveSection(sname);
        typed[sname] = TypedFields(KindNamed(member_kind), sname, fields, true);
      }
      entry.update({{"type", "change_proposed"},
                    {"change_id", change_id},
                    {"change_kind", add ? "add_member" : "update"},
                    {"member_id", Str(e->member_id())},
                    {"member_kind", member_kind},
                    {"sensitive", sensitive},
                    {"sections", typed},
                    {"by", by}});
      return entry.dump();
    }
    case schema::Payload::ChangeApproved: {
      start_entry();
      const auto* e = event.payload_as_ChangeApproved();
      if (!close(Str(e->change_id()), "approved", Person(event, e->by_name()), "", std::nullopt)) {
        return {};
      }
      entry["type"] = "change_approved";
      return entry.dump();
    }
    case schema::Payload::ChangeRejected: {
      start_entry();
      const auto* e = event.payload_as_ChangeRejected();
      if (!close(Str(e->change_id()), "rejected", Person(event, e->by_name()), Str(e->reason()),
                 std::nullopt)) {
        return {};
      }
      entry["type"] = "change_rejected";
      return entry.dump();
    }
    case schema::Payload::ChangeWithdrawn: {
      start_entry();
      const auto* e = event.payload_as_ChangeWithdrawn();
      if (!close(Str(e->change_id()), "withdrawn", Person(event, e->by_name()), "", std::nullopt)) {
        return {};
      }
      entry["type"] = "change_withdrawn";
      return entry.dump();
    }
    case schema::Payload::ChangeSuperseded: {
      start_entry();
      const auto* e = event.payload_as_ChangeSuperseded();
      if (!close(Str(e->change_id()), "superseded", Json{{"id", ""}, {"name", ""}}, "",
                 Str(e->by_change_id()))) {
        return {};
      }
      entry.erase("by");
      entry["superseded_by"] = Str(e->by_change_id());
      entry["type"] = "change_superseded";
      return entry.dump();
    }
    default:
      return {};
  }
}

bool IsDossierEvent(schema::Payload type) {
  switch (type) {
    case schema::Payload::MemberAdded:
    case schema::Payload::SectionUpdated:
    case schema::Payload::MemberRemoved:
    case schema::Payload::ChangeProposed:
    case schema::Payload::ChangeApproved:
    case schema::Payload::ChangeRejected:
    case schema::Payload::ChangeWithdrawn:
    case schema::Payload::ChangeSuperseded:
      return true;
    default:
      return false;
  }
}

}  // namespace

bool DossierView::Folds(schema::Payload type) const { return IsDossierEvent(type); }

void DossierView::Apply(const schema::EventRecord& event, events::ViewWriter& rows) {
  if (!IsDossierEvent(event.payload_type())) return;
  std::string family(StreamEntityId(Str(event.stream_id())));
  std::string entry = Fold(rows, family, event);
  if (!entry.empty()) rows.Put(HistoryPrefix(family) + BigEndian(event.position()), entry);
  rows.Put(VersionKey(family), std::to_string(event.stream_version()));
}

uint64_t DossierView::Version(const events::ViewReader& rows, std::string_view family_id) {
  auto value = rows.Get(VersionKey(family_id));
  return value ? VersionOf(*value).value_or(0) : 0;
}

std::optional<DossierDocument> DossierView::Document(const events::ViewReader& rows,
                                                     std::string_view family_id, bool redacted) {
  auto state = LoadState(rows, family_id);
  if (!state) return std::nullopt;
  return DossierDocument{(*state)["version"].get<uint64_t>(), Render(*state, family_id, redacted)};
}

std::optional<std::string> DossierView::BankSection(const events::ViewReader& rows,
                                                    std::string_view family_id,
                                                    std::string_view member_id) {
  auto state = LoadState(rows, family_id);
  if (!state) return std::nullopt;
  const Json* m = FindMember(*state, member_id);
  if (m == nullptr || m->value("removed", false) || (*m)["kind"] != "guardian") {
    return std::nullopt;
  }
  Json current = (*m)["sections"].contains("bank") ? (*m)["sections"]["bank"] : Json::object();
  Json fields = TypedFields(dossier::Kind::kGuardian, "bank", current, /*mask=*/false);
  Json pending = Json::array();
  for (const auto& [change_id, c] : (*state)["changes"].items()) {
    if (c["status"] != "pending" || c["member_id"] != member_id ||
        !c["sections"].contains("bank")) {
      continue;
    }
    pending.push_back(
        {{"change_id", change_id},
         {"fields", TypedFields(dossier::Kind::kGuardian, "bank", c["sections"]["bank"], false)},
         {"proposed_by", c["by"]},
         {"proposed_at", c["at"]}});
  }
  return Json{{"member_id", std::string(member_id)},
              {"version", (*state)["version"]},
              {"fields", fields},
              {"pending", pending}}
      .dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string DossierView::History(const events::ViewReader& rows, std::string_view family_id,
                                 std::string_view member_id, bool redacted) {
  Json out = Json::array();
  rows.Scan(HistoryPrefix(family_id), [&](std::string_view, std::string_view value) {
    Json entry = Json::parse(value, nullptr, false);
    if (entry.is_discarded()) return true;
    if (!member_id.empty() && entry.value("member_id", "") != member_id) return true;
    if (redacted && entry.value("sensitive", false)) {
      entry.erase("fields");
      entry.erase("sections");
      entry["redacted"] = true;
    }
    out.push_back(std::move(entry));
    return true;
  });
  return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::vector<QueuedChange> DossierView::Queue(const events::ViewReader& rows,
                                             std::string_view section, uint64_t after_position,
                                             size_t limit) {
  std::vector<QueuedChange> out;
  std::map<std::string, Json, std::less<>> states;
  rows.Scan(kQueuePrefix, [&](std::string_view key, std::string_view value) {
    uint64_t position = FromBigEndian(key.substr(kQueuePrefix.size()));
    if (position <= after_position) return true;
    size_t zero = value.find('\0');
    if (zero == std::string_view::npos) return true;
    std::string family(value.substr(0, zero));
    std::string change_id(value.substr(zero + 1));
    auto cached = states.find(family);
    if (cached == states.end()) {
      auto state = LoadState(rows, family);
      if (!state) return true;
      cached = states.emplace(family, std::move(*state)).first;
    }
    const Json& state = cached->second;
    if (!state["changes"].contains(change_id)) return true;
    const Json& c = state["changes"][change_id];
    if (!section.empty() && !c["sections"].contains(section)) return true;
    const Json* member = FindMember(state, c["member_id"].get<std::string>());
    dossier::Kind kind = KindNamed(c["member_kind"]);
    Json diff = Json::array();
    for (const auto& [sname, fields] : c["sections"].items()) {
      const dossier::Section* s = dossier::FindSection(kind, sname);
      for (const auto& [fname, proposed] : fields.items()) {
        const dossier::Field* field = s ? dossier::FindField(*s, fname) : nullptr;
        std::string current;
        if (member != nullptr && (*member)["sections"].contains(sname)) {
          current = (*member)["sections"][sname].value(fname, "");
        }
        const std::string& p = proposed.get_ref<const std::string&>();
        diff.push_back({{"section", sname},
                        {"field", fname},
                        {"current", current.empty() ? Json() : Typed(field, current, false)},
                        {"proposed", p.empty() ? Json() : Typed(field, p, false)}});
      }
    }
    Json json{{"change_id", change_id},
              {"family_id", family},
              {"kind", c["kind"]},
              {"member_id", c["member_id"]},
              {"member_kind", c["member_kind"]},
              {"member_name", member ? MemberName(*member) : std::string()},
              {"proposed_by", c["by"]},
              {"proposed_at", c["at"]},
              {"position", position},
              {"diff", diff}};
    out.push_back({position, family, json.dump(-1, ' ', false, Json::error_handler_t::replace)});
    return out.size() < limit;
  });
  return out;
}

bool DossierView::HasPhoto(const events::ViewReader& rows, std::string_view family_id,
                           std::string_view photo) {
  if (photo.size() <= 4) return false;
  auto state = LoadState(rows, family_id, /*closed=*/true);
  return state && state->dump(-1, ' ', false, Json::error_handler_t::replace)
                          .find("\"" + std::string(photo) + "\"") != std::string::npos;
}

}  // namespace portail::projections
