// History selection, field decoding through flatbuffers' mini-reflection (nested tables and
// vectors included), hiding of secrets and sensitive values, and the three formats.
#include "tools/replay/history.h"

#include <date/tz.h>
#include <flatbuffers/minireflect.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "events/stored_event.h"
#include "schemas/dossier_catalogue.h"

namespace portail::replay {
namespace {

using events::Str;

// The family or account a payload names, if any.
std::string NamedFamily(const schema::EventRecord& r) {
  switch (r.payload_type()) {
    case schema::Payload::Subscribed:
      return Str(r.payload_as_Subscribed()->family_id());
    case schema::Payload::Unsubscribed:
      return Str(r.payload_as_Unsubscribed()->family_id());
    case schema::Payload::SubscriberCodeClaimed:
      return Str(r.payload_as_SubscriberCodeClaimed()->family_id());
    case schema::Payload::ChildEnrolled:
      return Str(r.payload_as_ChildEnrolled()->family_id());
    case schema::Payload::RequestSubmitted:
      return Str(r.payload_as_RequestSubmitted()->family_id());
    case schema::Payload::RequestMessage:
      return Str(r.payload_as_RequestMessage()->family_id());
    case schema::Payload::BookingChanged:
      return Str(r.payload_as_BookingChanged()->family_id());
    default:
      return "";
  }
}

// The request a booking change or a request's own event belongs to, if any.
std::string NamedRequest(const schema::EventRecord& r) {
  if (const auto* e = r.payload_as_BookingChanged()) return Str(e->request_id());
  std::string_view stream = r.stream_id()->string_view();
  return stream.starts_with("request-") ? std::string(stream.substr(8)) : "";
}

std::string NamedAccount(const schema::EventRecord& r) {
  switch (r.payload_type()) {
    case schema::Payload::MailQueued:
      return Str(r.payload_as_MailQueued()->account_id());
    case schema::Payload::EmailClaimed:
      return Str(r.payload_as_EmailClaimed()->account_id());
    default:
      return "";
  }
}

// A scalar at `p` (nullptr: the field is absent, so its default, 0), an enum by its name.
std::string ScalarText(const uint8_t* p, flatbuffers::ElementaryType type,
                       const flatbuffers::TypeTable* enum_table) {
  using flatbuffers::ReadScalar;
  int64_t value = 0;
  switch (type) {
    case flatbuffers::ET_BOOL:
      return p != nullptr && ReadScalar<uint8_t>(p) ? "true" : "false";
    case flatbuffers::ET_CHAR:
      value = p ? ReadScalar<int8_t>(p) : 0;
      break;
    case flatbuffers::ET_UCHAR:
      value = p ? ReadScalar<uint8_t>(p) : 0;
      break;
    case flatbuffers::ET_SHORT:
      value = p ? ReadScalar<int16_t>(p) : 0;
      break;
    case flatbuffers::ET_USHORT:
      value = p ? ReadScalar<uint16_t>(p) : 0;
      break;
    case flatbuffers::ET_INT:
      value = p ? ReadScalar<int32_t>(p) : 0;
      break;
    case flatbuffers::ET_UINT:
      value = p ? ReadScalar<uint32_t>(p) : 0;
      break;
    case flatbuffers::ET_LONG:
      value = p ? ReadScalar<int64_t>(p) : 0;
      break;
    case flatbuffers::ET_ULONG:
      return std::to_string(p ? ReadScalar<uint64_t>(p) : 0);
    case flatbuffers::ET_FLOAT:
      return std::to_string(p ? ReadScalar<float>(p) : 0);
    case flatbuffers::ET_DOUBLE:
      return std::to_string(p ? ReadScalar<double>(p) : 0);
    default:
      return "(unsupported)";
  }
  if (enum_table != nullptr && enum_table->st == flatbuffers::ST_ENUM &&
      enum_table->names != nullptr) {
    for (size_t i = 0; i < enum_table->num_elems; ++i) {
      int64_t v = enum_table->values != nullptr ? enum_table->values[i] : static_cast<int64_t>(i);
      if (v == value) return enum_table->names[i];
    }
  }
  return std::to_string(value);
}

HistoryValue DecodeTable(const flatbuffers::Table* table, const flatbuffers::TypeTable* type,
                         bool include_sensitive);

// One value of type `type` stored at `p` (a table field's or a vector element's slot; nullptr
// when absent).
HistoryValue DecodeAt(const uint8_t* p, flatbuffers::ElementaryType type,
                      const flatbuffers::TypeTable* ref, bool include_sensitive) {
  if (type == flatbuffers::ET_STRING) {
    if (p == nullptr) return HistoryValue::Text("");
    p += flatbuffers::ReadScalar<flatbuffers::uoffset_t>(p);
    return HistoryValue::Text(Str(reinterpret_cast<const flatbuffers::String*>(p)));
  }
  if (type == flatbuffers::ET_SEQUENCE) {
    if (ref == nullptr || ref->st != flatbuffers::ST_TABLE) {
      return HistoryValue::Text("(unsupported)");  // structs and unions: none in payloads yet
    }
    if (p == nullptr) return HistoryValue::Text("");
    p += flatbuffers::ReadScalar<flatbuffers::uoffset_t>(p);
    return DecodeTable(reinterpret_cast<const flatbuffers::Table*>(p), ref, include_sensitive);
  }
  return HistoryValue::Text(ScalarText(p, type, ref));
}

bool IsPair(const HistoryValue& v) {
  return v.kind == HistoryValue::Kind::kTable && v.names.size() == 2 && v.names[0] == "name" &&
         v.names[1] == "value" && v.items[0].kind == HistoryValue::Kind::kText &&
         v.items[1].kind == HistoryValue::Kind::kText;
}

// A (key, vector) table, such as SectionValues{section, fields}.
bool IsKeyed(const HistoryValue& v) {
  return v.kind == HistoryValue::Kind::kTable && v.names.size() == 2 &&
         v.items[0].kind == HistoryValue::Kind::kText &&
         v.items[1].kind == HistoryValue::Kind::kVector;
}

// Replaces every non-empty value of a name/value table under `v` by "(hidden)".
void HideValues(HistoryValue& v) {
  if (IsPair(v)) {
    if (!v.items[1].text.empty()) v.items[1].text = "(hidden)";
    return;
  }
  for (auto& item : v.items) HideValues(item);
}

HistoryValue DecodeTable(const flatbuffers::Table* table, const flatbuffers::TypeTable* type,
                         bool include_sensitive) {
  HistoryValue out;
  out.kind = HistoryValue::Kind::kTable;
  for (size_t i = 0; i < type->num_elems; ++i) {
    std::string name = type->names[i];
    const flatbuffers::TypeCode code = type->type_codes[i];
    auto base = static_cast<flatbuffers::ElementaryType>(code.base_type);
    const flatbuffers::TypeTable* ref =
        code.sequence_ref >= 0 ? type->type_refs[code.sequence_ref]() : nullptr;
    const uint8_t* slot = table->GetAddressOf(
        flatbuffers::FieldIndexToOffset(static_cast<flatbuffers::voffset_t>(i)));
    HistoryValue value;
    if (code.is_repeating) {
      value.kind = HistoryValue::Kind::kVector;
      if (slot != nullptr) {
        const uint8_t* at = slot + flatbuffers::ReadScalar<flatbuffers::uoffset_t>(slot);
        const auto* vector = reinterpret_cast<const flatbuffers::Vector<uint8_t>*>(at);
        bool decodable = base != flatbuffers::ET_SEQUENCE ||
                         (ref != nullptr && ref->st == flatbuffers::ST_TABLE);
        if (!decodable) {
          value = HistoryValue::Text("(unsupported)");
        } else {
          size_t size = flatbuffers::InlineSize(base, ref);
          for (flatbuffers::uoffset_t j = 0; j < vector->size(); ++j) {
            value.items.push_back(
                DecodeAt(vector->Data() + j * size, base, ref, include_sensitive));
          }
        }
      }
    } else {
      value = DecodeAt(slot, base, ref, include_sensitive);
    }
    if (name.ends_with("_hash") && value.kind == HistoryValue::Kind::kText && !value.text.empty()) {
      value.text = "(hidden)";
    }
    out.names.push_back(std::move(name));
    out.items.push_back(std::move(value));
  }
  if (!include_sensitive) {
    auto section = std::find(out.names.begin(), out.names.end(), "section");
    if (section != out.names.end()) {
      const HistoryValue& named = out.items[section - out.names.begin()];
      if (named.kind == HistoryValue::Kind::kText &&
          schema::dossier::IsSensitiveSection(named.text)) {
        HideValues(out);
      }
    }
  }
  return out;
}

// The change a dossier payload decides, follows up or applies ("" for none).
std::string ChangeOf(const schema::EventRecord& r) {
  switch (r.payload_type()) {
    case schema::Payload::MemberAdded:
      return Str(r.payload_as_MemberAdded()->change_id());
    case schema::Payload::SectionUpdated:
      return Str(r.payload_as_SectionUpdated()->change_id());
    case schema::Payload::ChangeApproved:
      return Str(r.payload_as_ChangeApproved()->change_id());
    case schema::Payload::ChangeRejected:
      return Str(r.payload_as_ChangeRejected()->change_id());
    case schema::Payload::ChangeWithdrawn:
      return Str(r.payload_as_ChangeWithdrawn()->change_id());
    case schema::Payload::ChangeSuperseded:
      return Str(r.payload_as_ChangeSuperseded()->change_id());
    default:
      return "";
  }
}

// Follows one member through the family files: the events naming it, and the changes proposed
// for it (by "<stream>|<change id>": change ids are unique within a file).
class MemberFilter {
 public:
  explicit MemberFilter(std::string member_id) : id_(std::move(member_id)) {}

  // Whether `r` is about the member; remembers the changes proposed for it.
  bool About(const schema::EventRecord& r) {
    std::string_view stream = r.stream_id()->string_view();
    // A child's enrolments and its days in the planning.
    if (stream.starts_with("child-") && stream.substr(6) == id_) return true;
    if (const auto* e = r.payload_as_BookingChanged()) return Str(e->child_id()) == id_;
    if (!stream.starts_with("dossier-")) return false;
    switch (r.payload_type()) {
      case schema::Payload::MemberAdded: {
        const auto* e = r.payload_as_MemberAdded();
        if (Str(e->member_id()) == id_ || Str(e->child_id()) == id_) return true;
        break;
      }
      case schema::Payload::SectionUpdated:
        if (Str(r.payload_as_SectionUpdated()->member_id()) == id_) return true;
        break;
      case schema::Payload::MemberRemoved:
        return Str(r.payload_as_MemberRemoved()->member_id()) == id_;
      case schema::Payload::ChangeProposed: {
        const auto* e = r.payload_as_ChangeProposed();
        if (Str(e->member_id()) != id_ && Str(e->child_id()) != id_) return false;
        changes_.insert(Key(stream, Str(e->change_id())));
        return true;
      }
      default:
        break;
    }
    std::string change = ChangeOf(r);
    return !change.empty() && changes_.contains(Key(stream, change));
  }

 private:
  static std::string Key(std::string_view stream, const std::string& change) {
    return std::string(stream) + "|" + change;
  }
  std::string id_;
  std::set<std::string> changes_;
};

}  // namespace

std::vector<HistoryField> PayloadFields(const schema::EventRecord& record, bool include_sensitive) {
  std::vector<HistoryField> out;
  auto type = static_cast<size_t>(record.payload_type());
  const flatbuffers::TypeTable* unions = schema::PayloadTypeTable();
  if (type == 0 || type >= unions->num_elems || record.payload() == nullptr) return out;
  int ref = unions->type_codes[type].sequence_ref;
  if (ref < 0) return out;
  HistoryValue table = DecodeTable(reinterpret_cast<const flatbuffers::Table*>(record.payload()),
                                   unions->type_refs[ref](), include_sensitive);
  for (size_t i = 0; i < table.names.size(); ++i) {
    out.emplace_back(std::move(table.names[i]), std::move(table.items[i]));
  }
  return out;
}

std::string ValueText(const HistoryValue& value) {
  switch (value.kind) {
    case HistoryValue::Kind::kText:
      return value.text;
    case HistoryValue::Kind::kTable: {
      if (IsPair(value)) return value.items[0].text + "=" + value.items[1].text;
      if (IsKeyed(value)) return value.items[0].text + "{" + ValueText(value.items[1]) + "}";
      std::string text;
      for (size_t i = 0; i < value.names.size(); ++i) {
        std::string item = ValueText(value.items[i]);
        if (item.empty()) continue;
        text += (text.empty() ? "" : "; ") + value.names[i] + "=" + item;
      }
      return "{" + text + "}";
    }
    case HistoryValue::Kind::kVector: {
      if (value.items.empty()) return "";
      bool pairs = std::ranges::all_of(value.items, IsPair);
      bool keyed = !pairs && std::ranges::all_of(value.items, IsKeyed);
      const char* separator = pairs ? "; " : keyed ? " " : ", ";
      std::string text;
      for (const auto& item : value.items) {
        text += (text.empty() ? "" : separator) + ValueText(item);
      }
      return pairs || keyed ? text : "[" + text + "]";
    }
  }
  return "";
}

std::string ParisTime(int64_t micros) {
  auto at = date::sys_time<std::chrono::seconds>(std::chrono::seconds(micros / 1000000));
  auto zoned = date::make_zoned("Europe/Paris", at);
  return date::format("%Y-%m-%d %H:%M:%S %Z", zoned);
}

std::optional<int64_t> ParseParisTime(const std::string& text) {
  date::local_seconds local;
  for (const char* format : {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"}) {
    std::istringstream in(text);
    in >> date::parse(format, local);
    if (!in.fail() && in.peek() == EOF) {
      auto zoned = date::make_zoned("Europe/Paris", local, date::choose::earliest);
      return std::chrono::duration_cast<std::chrono::microseconds>(
                 zoned.get_sys_time().time_since_epoch())
          .count();
    }
  }
  return std::nullopt;
}

Result<std::vector<HistoryRow>> History(const events::EventStore& store,
                                        const HistoryQuery& query) {
  int named = !query.account_id.empty() + !query.family_id.empty() + !query.member_id.empty() +
              !query.request_id.empty();
  if (named != 1) {
    return Fail(ErrorCode::kInvalid, "name one account, one family, one member or one request");
  }
  std::function<bool(const schema::EventRecord&)> about;
  std::string what;
  MemberFilter member(query.member_id);
  if (!query.account_id.empty()) {
    what = "account " + query.account_id;
    about = [&, stream = "account-" + query.account_id](const schema::EventRecord& r) {
      return r.stream_id()->string_view() == stream || NamedAccount(r) == query.account_id;
    };
  } else if (!query.family_id.empty()) {
    what = "family " + query.family_id;
    about = [&, stream = "family-" + query.family_id,
             dossier = "dossier-" + query.family_id](const schema::EventRecord& r) {
      std::string_view s = r.stream_id()->string_view();
      return s == stream || s == dossier || NamedFamily(r) == query.family_id;
    };
  } else if (!query.request_id.empty()) {
    what = "request " + query.request_id;
    about = [&](const schema::EventRecord& r) { return NamedRequest(r) == query.request_id; };
  } else {
    what = "member (child, guardian or authorised adult) " + query.member_id;
    about = [&member](const schema::EventRecord& r) { return member.About(r); };
  }
  std::vector<HistoryRow> rows;
  bool known = false;
  auto scanned = store.ScanAll(1, [&](const schema::EventRecord& r) {
    // Every event is looked at, whatever its time, so changes are followed to their outcome.
    if (r.stream_id() == nullptr || !about(r)) return true;
    known = true;
    int64_t at = r.recorded_at_us();
    if (query.as_of_us && at > *query.as_of_us) return true;
    if (query.from_us && at < *query.from_us) return true;
    if (query.to_us && at > *query.to_us) return true;
    rows.push_back(HistoryRow{r.position(), at, Str(r.actor()), r.stream_id()->str(),
                              std::string(events::EventTypeName(r.payload_type())),
                              PayloadFields(r, query.include_sensitive)});
    return true;
  });
  if (!scanned) return std::unexpected(scanned.error());
  if (!known) return Fail(ErrorCode::kNotFound, "no " + what + " in the log");
  return rows;
}

namespace {

// "name=value" of the non-empty fields, separated by ", ".
std::string FieldsText(const std::vector<HistoryField>& fields) {
  std::string text;
  for (const auto& [name, value] : fields) {
    std::string shown = ValueText(value);
    if (shown.empty()) continue;
    if (!text.empty()) text += ", ";
    text += name + "=" + shown;
  }
  return text;
}

// Name/value vectors and (key, vector) vectors become objects when their keys are unique.
nlohmann::ordered_json ValueJson(const HistoryValue& value) {
  switch (value.kind) {
    case HistoryValue::Kind::kText:
      return value.text;
    case HistoryValue::Kind::kTable: {
      nlohmann::ordered_json object = nlohmann::ordered_json::object();
      for (size_t i = 0; i < value.names.size(); ++i)
        object[value.names[i]] = ValueJson(value.items[i]);
      return object;
    }
    case HistoryValue::Kind::kVector: {
      bool pairs = !value.items.empty() && std::ranges::all_of(value.items, IsPair);
      bool keyed = !value.items.empty() && !pairs && std::ranges::all_of(value.items, IsKeyed);
      if (pairs || keyed) {
        nlohmann::ordered_json object = nlohmann::ordered_json::object();
        for (const auto& item : value.items) {
          const std::string& key = item.items[0].text;
          if (object.contains(key)) {
            pairs = keyed = false;
            break;
          }
          object[key] = ValueJson(item.items[1]);
        }
        if (pairs || keyed) return object;
      }
      nlohmann::ordered_json array = nlohmann::ordered_json::array();
      for (const auto& item : value.items) array.push_back(ValueJson(item));
      return array;
    }
  }
  return nullptr;
}

}  // namespace

std::string FormatTable(const std::vector<HistoryRow>& rows) {
  std::ostringstream out;
  out << "position  time (Paris)             actor                                    type"
         "                    fields\n";
  for (const auto& row : rows) {
    std::string fields = FieldsText(row.fields);
    char head[160];
    std::snprintf(head, sizeof(head), "%8llu  %-23s  %-40s %-22s ",
                  static_cast<unsigned long long>(row.position),
                  ParisTime(row.recorded_at_us).c_str(), row.actor.c_str(), row.type.c_str());
    out << head << fields << "\n";
  }
  out << rows.size() << " events\n";
  return out.str();
}

std::string FormatJsonLines(const std::vector<HistoryRow>& rows) {
  std::string out;
  for (const auto& row : rows) {
    nlohmann::ordered_json fields = nlohmann::ordered_json::object();
    for (const auto& [name, value] : row.fields) fields[name] = ValueJson(value);
    nlohmann::ordered_json line = {{"position", row.position},
                                   {"time", ParisTime(row.recorded_at_us)},
                                   {"recorded_at_us", row.recorded_at_us},
                                   {"actor", row.actor},
                                   {"stream", row.stream},
                                   {"type", row.type},
                                   {"fields", fields}};
    out += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return out;
}

std::string FormatCsv(const std::vector<HistoryRow>& rows) {
  auto quote = [](const std::string& text) {
    std::string q = "\"";
    for (char c : text) {
      if (c == '"') q += '"';
      q += c;
    }
    return q + "\"";
  };
  std::string out = "position,time,actor,stream,type,fields\n";
  for (const auto& row : rows) {
    std::string fields = FieldsText(row.fields);
    out += std::to_string(row.position) + "," + quote(ParisTime(row.recorded_at_us)) + "," +
           quote(row.actor) + "," + quote(row.stream) + "," + quote(row.type) + "," +
           quote(fields) + "\n";
  }
  return out;
}

}  // namespace portail::replay
