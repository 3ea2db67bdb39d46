// Pending mails keyed by queue position; a delivery removes its row.
#include "projections/outbox_view.h"

#include <nlohmann/json.hpp>

#include "events/event_store.h"

namespace portail::projections {
namespace {

using Json = nlohmann::json;
using events::Str;

}  // namespace

bool OutboxView::Folds(schema::Payload type) const {
  return type == schema::Payload::MailQueued || type == schema::Payload::MailDelivered;
}

void OutboxView::Apply(const schema::EventRecord& event, events::ViewWriter& rows) {
  if (event.payload_type() == schema::Payload::MailQueued) {
    const auto* e = event.payload_as_MailQueued();
    std::string key = "p/" + events::EncodeBigEndian64(event.position());
    rows.Put(key, Json{{"mail_id", Str(e->mail_id())},
                       {"kind", Str(e->kind())},
                       {"to", Str(e->to())},
                       {"account_id", Str(e->account_id())},
                       {"first_name", Str(e->first_name())},
                       {"token_id", Str(e->token_id())},
                       {"expires_at", e->expires_at_us()},
                       {"queued_at", event.recorded_at_us()}}
                      .dump());
    rows.Put("m/" + Str(e->mail_id()), key);
  } else if (event.payload_type() == schema::Payload::MailDelivered) {
    std::string index = "m/" + Str(event.payload_as_MailDelivered()->mail_id());
    auto key = rows.Get(index);
    if (!key) return;
    rows.Delete(*key);
    rows.Delete(index);
  }
}

std::vector<PendingMail> OutboxView::Pending(const events::ViewReader& rows, size_t limit) {
  std::vector<PendingMail> out;
  rows.Scan("p/", [&](std::string_view key, std::string_view value) {
    Json j = Json::parse(value, nullptr, false);
    if (j.is_discarded()) return true;
    PendingMail mail;
    mail.position = events::DecodeBigEndian64(key.substr(2));
    mail.mail_id = j.value("mail_id", "");
    mail.kind = j.value("kind", "");
    mail.to = j.value("to", "");
    mail.account_id = j.value("account_id", "");
    mail.first_name = j.value("first_name", "");
    mail.token_id = j.value("token_id", "");
    mail.expires_at_us = j.value("expires_at", int64_t{0});
    mail.queued_at_us = j.value("queued_at", int64_t{0});
    out.push_back(std::move(mail));
    return out.size() < limit;
  });
  return out;
}

}  // namespace portail::projections
