// The requests view ("Mes demandes"): every reservation, absence and dossier-change request with
// its state computed from its days, its history grouped by append, the town's updates behind each
// account's unread count, and the agents' queue of pending requests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/projection.h"

namespace portail::projections {

// Filters of a request list; empty or nullopt: no filter.
struct RequestFilter {
  std::string child_id;  // among the request's children (a dossier change: its member)
  std::string kind;      // reservation, absence, dossier_change
  std::string state;     // pending, accepted, partly_accepted, refused, waiting_list, cancelled...
  std::optional<int> from_day;  // the request's days overlap [from_day, to_day] (days since
  std::optional<int> to_day;    // 1970-01-01); requests without days (dossier changes) never do
};

// A request in a list, newest first.
struct RequestRow {
  uint64_t position = 0;  // of its creation: the list's order and paging cursor
  int64_t created_at_us = 0;
  std::string json;  // the summary, a JSON object WITHOUT its closing brace (the caller adds
                     // what it formats itself, e.g. times in Paris)
  int unread = 0;    // the town's updates the account has not read
};

// One entry of a request's history.
struct HistoryEntry {
  int64_t at_us = 0;
  std::string json;  // a JSON object without its closing brace
};

struct RequestHistory {
  std::string request_id;
  std::string family_id;
  RequestRow summary;
  std::vector<HistoryEntry> entries;  // oldest first
  uint64_t last_update = 0;           // the position of the last town update (0: none)
};

// A day of a request as the agents' queue shows it.
struct RequestDay {
  std::string child_id;
  std::string activity_id;
  int day = 0;
  std::string state;  // pending, waiting_list, accepted, refused, cancelled
  std::string reason;
};

struct QueuedRequest {
  uint64_t position = 0;  // of its creation: the queue's order and paging cursor
  int64_t created_at_us = 0;
  std::string request_id;
  std::string family_id;
  std::string kind;  // reservation or absence
  std::string by_id;
  std::string by_name;
  std::vector<RequestDay> days;
};

struct PendingCount {
  std::string activity_id;
  int requests = 0;  // requests with at least one pending day of the activity
  int days = 0;      // their pending days of the activity
};

// Rows (format 4, binary; fixed-width integers little-endian in values, big-endian in keys):
// "s/<request>" what changes of a request: its kind, a dossier change's status, its creation
// position, its days' counts per outcome, the time, actor, type and position of its last history
// entry (the group the next booking change of the same append joins), its pending days per
// activity, its town updates' positions, the (child, activity) pairs of its days and its days'
// changes (pair, day, entry, outcome, reason; varints, the entry given only when it differs from
// the previous change's), oldest first, the last of a day being its outcome: a booking change
// reads and writes this one row of its request (and its activity's counts when they move);
// "i/<request>" what does not change: kind, creation position and time, family, author;
// "l/<family>/<~position 8B>" the list row, inverted so a forward scan is newest first: a header
// line of the filter fields, then the summary JSON without its day counts and state, put in when
// read; "h/<request>/<position 8B>" history entries, one per append (a decision of several days
// is one entry), JSON or, for booking changes, binary rendered when read, their days taken from
// the changes in "s/"; "q/<position 8B>" pending requests, oldest first; "c/<activity>" pending
// counts; "r/<account>/<request>" and "a/<account>" read markers.
//
// An update is a change the town makes: a decision, a waiting-list promotion or a town message.
// The events one append writes for a request count once: they share the append's time and actor
// (the command bus stamps one time per batch, so two commands of the same actor, of the same
// type, on the same request, in the same group commit, also count once).
class RequestsView : public events::Projection {
 public:
  std::string_view name() const override { return "requests"; }
  uint32_t format_version() const override { return 4; }
  bool Folds(schema::Payload type) const override;
  void Apply(const schema::EventRecord& event, events::ViewWriter& rows) override;

  // The requests of `families` matching `filter`, newest first, created before `before_position`
  // (0: from the newest), at most `limit`; unread counts are those of `account_id`.
  static std::vector<RequestRow> List(const events::ViewReader& rows,
                                      const std::vector<std::string>& families,
                                      std::string_view account_id, const RequestFilter& filter,
                                      uint64_t before_position, size_t limit);
  // The request with its history and `account_id`'s unread count; nullopt if there is none.
  static std::optional<RequestHistory> History(const events::ViewReader& rows,
                                               std::string_view request_id,
                                               std::string_view account_id);
  // Reservation and absence requests with pending days, oldest first, created after
  // `after_position`; `activity_id`, `day` and `kind` filter (empty/nullopt: all).
  static std::vector<QueuedRequest> Queue(const events::ViewReader& rows,
                                          std::string_view activity_id, std::optional<int> day,
                                          std::string_view kind, uint64_t after_position,
                                          size_t limit);
  // Pending requests and days per activity, by activity id.
  static std::vector<PendingCount> PendingByActivity(const events::ViewReader& rows);
};

}  // namespace portail::projections
