// The auditor's history: every event about one account or family, in log order, with Paris
// times and decoded fields, as a table, JSON Lines or CSV.
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
  std::string account_id;  // exactly one of account_id and family_id
  std::string family_id;
  std::optional<int64_t> from_us;   // recorded at or after
  std::optional<int64_t> to_us;     // recorded at or before
  std::optional<int64_t> as_of_us;  // only what was known then (recorded at or before)
};

struct HistoryRow {
  uint64_t position = 0;
  int64_t recorded_at_us = 0;
  std::string actor;
  std::string stream;
  std::string type;
  std::vector<std::pair<std::string, std::string>> fields;  // secrets shown as "(hidden)"
};

// The events about the query's account or family, oldest first. An account's are its stream's
// events, its e-mail claim and the mails queued for it; a family's are its stream's events, its
// subscriber-code claims and the (un)subscriptions naming it. kNotFound when nothing matches
// at all (an unknown id).
Result<std::vector<HistoryRow>> History(const events::EventStore& store, const HistoryQuery& query);

// The fields of an event's payload by name, through the schema's reflection tables. Hashes of
// secrets (any field named *_hash) are "(hidden)": they are never shown, even to auditors.
std::vector<std::pair<std::string, std::string>> PayloadFields(const schema::EventRecord& record);

// "2026-11-29 02:43:00 CET" for a UTC microsecond time.
std::string ParisTime(int64_t micros);
// Parses "YYYY-MM-DD" (midnight) or "YYYY-MM-DDTHH:MM[:SS]" as Paris local time.
std::optional<int64_t> ParseParisTime(const std::string& text);

std::string FormatTable(const std::vector<HistoryRow>& rows);
std::string FormatJsonLines(const std::vector<HistoryRow>& rows);
std::string FormatCsv(const std::vector<HistoryRow>& rows);

}  // namespace portail::replay
