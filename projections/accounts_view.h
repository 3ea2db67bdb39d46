// The accounts view: accounts by id and by e-mail, live sessions, and issued links.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "events/projection.h"

namespace portail::projections {

struct AccountRow {
  std::string id;
  std::string email;
  std::string first_name;
  std::string last_name;
  std::string role;  // family, agent, auditor
  bool active = false;
  bool locked_by_agent = false;
  int64_t locked_until_us = 0;
  int failures = 0;
  int64_t last_failure_us = 0;
  std::string password_hash;
  std::vector<std::string> subscriptions;  // family ids, in subscription order
  int64_t created_at_us = 0;
};

struct SessionRow {
  std::string account_id;
  int64_t created_at_us = 0;
  int64_t expires_at_us = 0;
};

struct LinkRow {
  std::string kind;  // activation or reset
  std::string account_id;
};

class AccountsView : public events::Projection {
 public:
  std::string_view name() const override { return "accounts"; }
  // 2: compact binary rows (1 was JSON).
  uint32_t format_version() const override;
  bool Folds(schema::Payload type) const override;
  void Apply(const schema::EventRecord& event, events::ViewWriter& rows) override;

  static std::optional<AccountRow> Account(const events::ViewReader& rows, std::string_view id);
  // By e-mail, compared in lower case.
  static std::optional<std::string> AccountIdByEmail(const events::ViewReader& rows,
                                                     std::string_view email);
  static std::optional<SessionRow> Session(const events::ViewReader& rows,
                                           std::string_view session_hash);
  static std::optional<LinkRow> Link(const events::ViewReader& rows, std::string_view token_hash);
  // Accounts whose e-mail or name contains `query` (case-insensitive), at most `limit`, by id.
  static std::vector<AccountRow> Search(const events::ViewReader& rows, std::string_view query,
                                        size_t limit);
};

// Lower-cases ASCII letters (e-mails compare this way).
std::string AsciiLower(std::string_view text);

// The id of a "<kind>-<id>" stream.
std::string_view StreamEntityId(std::string_view stream_id);

}  // namespace portail::projections
