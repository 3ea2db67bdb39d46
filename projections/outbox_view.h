// The outbox: mails queued and not yet delivered, oldest first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "events/projection.h"

namespace portail::projections {

struct PendingMail {
  uint64_t position = 0;  // of the MailQueued event: the outbox's order
  std::string mail_id;
  std::string kind;
  std::string to;
  std::string account_id;
  std::string first_name;
  std::string token_id;
  int64_t expires_at_us = 0;
  int64_t queued_at_us = 0;
};

class OutboxView : public events::Projection {
 public:
  std::string_view name() const override { return "outbox"; }
  bool Folds(schema::Payload type) const override;
  void Apply(const schema::EventRecord& event, events::ViewWriter& rows) override;

  // Up to `limit` undelivered mails, oldest first.
  static std::vector<PendingMail> Pending(const events::ViewReader& rows, size_t limit);
};

}  // namespace portail::projections
