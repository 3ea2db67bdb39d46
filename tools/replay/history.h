// The auditor's history: every event about one account, family or family member, in log order,
// with Paris times and decoded fields, as a table, JSON Lines or CSV.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "events/error.h"
#include "events/event_store.h"

namespace portail::replay {

struct HistoryQuery {
  std::string account_id;  // exactly one of account_id, family_id, member_id and request_id
  std::string family_id;
  std::string member_id;            // a family file's member: a child, guardian or adult
  std::string request_id;           // a reservation or absence request
  std::optional<int64_t> from_us;   // recorded at or after
  std::optional<int64_t> to_us;     // recorded at or before
  std::optional<int64_t> as_of_us;  // only what was known then (recorded at or before)
  bool include_sensitive = false;   // show values of sensitive sections (health, bank)
};

// A decoded payload value: a scalar or string as `text`; a table as its field names and values;
// a vector as its elements.
struct HistoryValue {
  enum class Kind { kText, kTable, kVector };
  Kind kind = Kind::kText;
  std::string text;                 // kText
  std::vector<std::string> names;   // kTable: the field names, one per item
  std::vector<HistoryValue> items;  // kTable: the field values; kVector: the elements

  static HistoryValue Text(std::string text) { return {Kind::kText, std::move(text), {}, {}}; }
  bool operator==(const HistoryValue&) const = default;
};

using HistoryField = std::pair<std::string, HistoryValue>;

struct HistoryRow {
  uint64_t position = 0;
  int64_t recorded_at_us = 0;
  std::string actor;
  std::string stream;
  std::string type;
  std::vector<HistoryField> fields;  // secrets and hidden sensitive values shown as "(hidden)"
};

// The events about the query's subject, oldest first:
// - an account: its stream's events, its e-mail claim and the mails queued for it;
// - a family: its stream's and its file's (dossier-<id>) events, its subscriber-code claims and
//   the (un)subscriptions naming it;
// - a member: the file's events naming it (added, section updated, removed), the changes
//   proposed for it (or, for a proposed authorised adult, naming it as the child) and what
//   became of them (approved, rejected, withdrawn, superseded, and the events applying them),
//   and, for a child, its enrolments and its days in the planning;
// - a request: its own events (submitted, cancelled, messages) and every day's booking change
//   made under it (requested, decided, promoted, cancelled).
// Times filter what is shown, not what is followed: a change proposed before `from_us` is still
// followed to its decision. kNotFound when nothing matches at all (an unknown id).
Result<std::vector<HistoryRow>> History(const events::EventStore& store, const HistoryQuery& query);

// The fields of an event's payload by name, through the schema's reflection tables; nested
// tables and vectors are decoded too. Hashes of secrets (any field named *_hash) are "(hidden)":
// they are never shown, even to auditors. Without `include_sensitive`, the values in a table
// naming a sensitive section (a field `section`, see schema::dossier::IsSensitiveSection) are
// "(hidden)"; their field names stay.
std::vector<HistoryField> PayloadFields(const schema::EventRecord& record,
                                        bool include_sensitive = false);

// A value as one line: "city=Paris; postal_code=75011" for a vector of name/value tables,
// "address{city=Paris} health{pai=true}" for a vector of (key, vector) tables, "{a=1; b=2}" for
// another table, "[x, y]" for another vector.
std::string ValueText(const HistoryValue& value);

// "2026-11-29 02:43:00 CET" for a UTC microsecond time.
std::string ParisTime(int64_t micros);
// Parses "YYYY-MM-DD" (midnight) or "YYYY-MM-DDTHH:MM[:SS]" as Paris local time.
std::optional<int64_t> ParseParisTime(const std::string& text);

// The table and CSV show each non-empty field as name=ValueText, separated by ", "; JSON Lines
// has nested JSON objects (name/value vectors as {name: value}) and arrays.
std::string FormatTable(const std::vector<HistoryRow>& rows);
std::string FormatJsonLines(const std::vector<HistoryRow>& rows);
std::string FormatCsv(const std::vector<HistoryRow>& rows);

}  // namespace portail::replay
