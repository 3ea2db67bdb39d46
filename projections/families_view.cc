// Families and their subscriber codes, kept as JSON rows.
#include "projections/families_view.h"

#include <nlohmann/json.hpp>

#include "events/stored_event.h"
#include "projections/accounts_view.h"

namespace portail::projections {
namespace {

using Json = nlohmann::json;

using events::Str;
std::string FamilyKey(std::string_view id) { return "f/" + std::string(id); }

FamilyRow ToRow(const Json& j) {
  return FamilyRow{j.value("id", ""), j.value("name", ""), j.value("created_at", int64_t{0}),
                   j.value("code_changed_at", int64_t{0}),
                   j.value("accounts", std::vector<std::string>{})};
}

}  // namespace

bool FamiliesView::Folds(schema::Payload type) const {
  return type == schema::Payload::FamilyRegistered ||
         type == schema::Payload::SubscriberCodeChanged || type == schema::Payload::Subscribed ||
         type == schema::Payload::Unsubscribed;
}

void FamiliesView::Apply(const schema::EventRecord& event, events::ViewWriter& rows) {
  std::string_view stream = event.stream_id()->string_view();
  int64_t at = event.recorded_at_us();
  switch (event.payload_type()) {
    case schema::Payload::FamilyRegistered: {
      const auto* e = event.payload_as_FamilyRegistered();
      std::string id = Str(e->family_id());
      rows.Put(FamilyKey(id), Json{{"id", id},
                                   {"name", Str(e->name())},
                                   {"created_at", at},
                                   {"code_changed_at", at},
                                   {"code_hash", Str(e->code_hash())},
                                   {"accounts", Json::array()}}
                                  .dump());
      rows.Put("c/" + Str(e->code_hash()), id);
      return;
    }
    case schema::Payload::SubscriberCodeChanged: {
      std::string id(StreamEntityId(stream));
      auto value = rows.Get(FamilyKey(id));
      if (!value) return;
      Json j = Json::parse(*value, nullptr, false);
      if (j.is_discarded()) return;
      rows.Delete("c/" + j.value("code_hash", ""));
      std::string hash = Str(event.payload_as_SubscriberCodeChanged()->code_hash());
      j["code_hash"] = hash;
      j["code_changed_at"] = at;
      rows.Put("c/" + hash, id);
      rows.Put(FamilyKey(id), j.dump());
      return;
    }
    case schema::Payload::Subscribed:
    case schema::Payload::Unsubscribed: {
      bool subscribed = event.payload_type() == schema::Payload::Subscribed;
      std::string family = subscribed ? Str(event.payload_as_Subscribed()->family_id())
                                      : Str(event.payload_as_Unsubscribed()->family_id());
      std::string account(StreamEntityId(stream));
      auto value = rows.Get(FamilyKey(family));
      if (!value) return;
      Json j = Json::parse(*value, nullptr, false);
      if (j.is_discarded()) return;
      auto accounts = j.value("accounts", std::vector<std::string>{});
      std::erase(accounts, account);
      if (subscribed) accounts.push_back(account);
      j["accounts"] = accounts;
      rows.Put(FamilyKey(family), j.dump());
      return;
    }
    default:
      return;
  }
}

std::optional<FamilyRow> FamiliesView::Family(const events::ViewReader& rows, std::string_view id) {
  auto value = rows.Get(FamilyKey(id));
  if (!value) return std::nullopt;
  Json j = Json::parse(*value, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return ToRow(j);
}

std::optional<std::string> FamiliesView::FamilyIdByCode(const events::ViewReader& rows,
                                                        std::string_view code_hash) {
  return rows.Get("c/" + std::string(code_hash));
}

std::vector<FamilyRow> FamiliesView::Search(const events::ViewReader& rows, std::string_view query,
                                            size_t limit) {
  std::vector<FamilyRow> out;
  std::string needle = AsciiLower(query);
  rows.Scan("f/", [&](std::string_view, std::string_view value) {
    Json j = Json::parse(value, nullptr, false);
    if (j.is_discarded()) return true;
    FamilyRow row = ToRow(j);
    if (needle.empty() || AsciiLower(row.name + " " + row.id).find(needle) != std::string::npos) {
      out.push_back(std::move(row));
    }
    return out.size() < limit;
  });
  return out;
}

}  // namespace portail::projections
