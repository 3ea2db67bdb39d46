// History selection, field decoding through flatbuffers' mini-reflection, and the three formats.
#include "tools/replay/history.h"

#include <date/tz.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>

#include "events/stored_event.h"

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
    default:
      return "";
  }
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

std::string Scalar(const flatbuffers::Table* table, flatbuffers::voffset_t offset,
                   flatbuffers::ElementaryType type, const flatbuffers::TypeTable* enum_table) {
  int64_t value = 0;
  switch (type) {
    case flatbuffers::ET_BOOL:
      return table->GetField<uint8_t>(offset, 0) ? "true" : "false";
    case flatbuffers::ET_CHAR:
      value = table->GetField<int8_t>(offset, 0);
      break;
    case flatbuffers::ET_UCHAR:
      value = table->GetField<uint8_t>(offset, 0);
      break;
    case flatbuffers::ET_SHORT:
      value = table->GetField<int16_t>(offset, 0);
      break;
    case flatbuffers::ET_USHORT:
      value = table->GetField<uint16_t>(offset, 0);
      break;
    case flatbuffers::ET_INT:
      value = table->GetField<int32_t>(offset, 0);
      break;
    case flatbuffers::ET_UINT:
      value = table->GetField<uint32_t>(offset, 0);
      break;
    case flatbuffers::ET_LONG:
      value = table->GetField<int64_t>(offset, 0);
      break;
    case flatbuffers::ET_ULONG:
      return std::to_string(table->GetField<uint64_t>(offset, 0));
    case flatbuffers::ET_FLOAT:
      return std::to_string(table->GetField<float>(offset, 0));
    case flatbuffers::ET_DOUBLE:
      return std::to_string(table->GetField<double>(offset, 0));
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

}  // namespace

std::vector<std::pair<std::string, std::string>> PayloadFields(const schema::EventRecord& record) {
  std::vector<std::pair<std::string, std::string>> out;
  auto type = static_cast<size_t>(record.payload_type());
  const flatbuffers::TypeTable* unions = schema::PayloadTypeTable();
  if (type == 0 || type >= unions->num_elems + 0 || record.payload() == nullptr) return out;
  int ref = unions->type_codes[type].sequence_ref;
  if (ref < 0) return out;
  const flatbuffers::TypeTable* table_type = unions->type_refs[ref]();
  const auto* table = reinterpret_cast<const flatbuffers::Table*>(record.payload());
  for (size_t i = 0; i < table_type->num_elems; ++i) {
    std::string name = table_type->names[i];
    auto offset = flatbuffers::FieldIndexToOffset(static_cast<flatbuffers::voffset_t>(i));
    const flatbuffers::TypeCode code = table_type->type_codes[i];
    auto base = static_cast<flatbuffers::ElementaryType>(code.base_type);
    std::string value;
    if (code.is_repeating || base == flatbuffers::ET_SEQUENCE) {
      value = "(nested)";
    } else if (base == flatbuffers::ET_STRING) {
      value = Str(table->GetPointer<const flatbuffers::String*>(offset));
    } else {
      const flatbuffers::TypeTable* enum_table =
          code.sequence_ref >= 0 ? table_type->type_refs[code.sequence_ref]() : nullptr;
      value = Scalar(table, offset, base, enum_table);
    }
    if (name.ends_with("_hash") && !value.empty()) value = "(hidden)";
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
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
  bool by_account = !query.account_id.empty();
  std::string stream = by_account ? "account-" + query.account_id : "family-" + query.family_id;
  const std::string& id = by_account ? query.account_id : query.family_id;
  if (id.empty() || (by_account && !query.family_id.empty())) {
    return Fail(ErrorCode::kInvalid, "name one account or one family");
  }
  std::vector<HistoryRow> rows;
  bool known = false;
  auto scanned = store.ScanAll(1, [&](const schema::EventRecord& r) {
    std::string_view event_stream = r.stream_id()->string_view();
    bool about =
        event_stream == stream || (by_account ? NamedAccount(r) == id : NamedFamily(r) == id);
    if (!about) return true;
    known = true;
    int64_t at = r.recorded_at_us();
    if (query.as_of_us && at > *query.as_of_us) return true;
    if (query.from_us && at < *query.from_us) return true;
    if (query.to_us && at > *query.to_us) return true;
    rows.push_back(HistoryRow{r.position(), at, Str(r.actor()), std::string(event_stream),
                              std::string(events::EventTypeName(r.payload_type())),
                              PayloadFields(r)});
    return true;
  });
  if (!scanned) return std::unexpected(scanned.error());
  if (!known) {
    return Fail(ErrorCode::kNotFound,
                std::string("no ") + (by_account ? "account " : "family ") + id + " in the log");
  }
  return rows;
}

std::string FormatTable(const std::vector<HistoryRow>& rows) {
  std::ostringstream out;
  out << "position  time (Paris)             actor                                    type"
         "                    fields\n";
  for (const auto& row : rows) {
    std::string fields;
    for (const auto& [name, value] : row.fields) {
      if (value.empty()) continue;
      if (!fields.empty()) fields += ", ";
      fields += name + "=" + value;
    }
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
    for (const auto& [name, value] : row.fields) fields[name] = value;
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
    std::string fields;
    for (const auto& [name, value] : row.fields) {
      if (value.empty()) continue;
      if (!fields.empty()) fields += "; ";
      fields += name + "=" + value;
    }
    out += std::to_string(row.position) + "," + quote(ParisTime(row.recorded_at_us)) + "," +
           quote(row.actor) + "," + quote(row.stream) + "," + quote(row.type) + "," +
           quote(fields) + "\n";
  }
  return out;
}

}  // namespace portail::replay
