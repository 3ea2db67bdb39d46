// Accounts, sessions and links, kept as JSON rows.
#include "projections/accounts_view.h"

#include <nlohmann/json.hpp>

#include "events/stored_event.h"

namespace portail::projections {
namespace {

using Json = nlohmann::json;

using events::Str;

std::string AccountKey(std::string_view id) { return "a/" + std::string(id); }

std::optional<Json> ReadJson(events::ViewWriter& rows, const std::string& key) {
  auto value = rows.Get(key);
  if (!value) return std::nullopt;
  return Json::parse(*value, nullptr, false);
}

AccountRow ToRow(const Json& j) {
  AccountRow row;
  row.id = j.value("id", "");
  row.email = j.value("email", "");
  row.first_name = j.value("first_name", "");
  row.last_name = j.value("last_name", "");
  row.role = j.value("role", "family");
  row.active = j.value("active", false);
  row.locked_by_agent = j.value("locked_by_agent", false);
  row.locked_until_us = j.value("locked_until", int64_t{0});
  row.failures = j.value("failures", 0);
  row.last_failure_us = j.value("last_failure", int64_t{0});
  row.password_hash = j.value("password_hash", "");
  row.subscriptions = j.value("subscriptions", std::vector<std::string>{});
  row.created_at_us = j.value("created_at", int64_t{0});
  return row;
}

std::string_view RoleName(schema::Role role) {
  switch (role) {
    case schema::Role::Agent:
      return "agent";
    case schema::Role::Auditor:
      return "auditor";
    default:
      return "family";
  }
}

}  // namespace

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view StreamEntityId(std::string_view stream_id) {
  size_t dash = stream_id.find('-');
  return dash == std::string_view::npos ? std::string_view() : stream_id.substr(dash + 1);
}

void AccountsView::Apply(const schema::EventRecord& event, events::ViewWriter& rows) {
  std::string_view stream = event.stream_id()->string_view();
  if (!stream.starts_with("account-")) return;
  std::string id(StreamEntityId(stream));
  std::string key = AccountKey(id);
  int64_t at = event.recorded_at_us();

  if (event.payload_type() == schema::Payload::AccountRegistered) {
    const auto* e = event.payload_as_AccountRegistered();
    Json j = {{"id", id},
              {"email", Str(e->email())},
              {"first_name", Str(e->first_name())},
              {"last_name", Str(e->last_name())},
              {"role", RoleName(e->role())},
              {"active", false},
              {"password_hash", Str(e->password_hash())},
              {"subscriptions", Json::array()},
              {"created_at", at}};
    rows.Put(key, j.dump());
    rows.Put("e/" + AsciiLower(Str(e->email())), id);
    return;
  }
  auto current = ReadJson(rows, key);
  if (!current || current->is_discarded()) return;
  Json& j = *current;
  switch (event.payload_type()) {
    case schema::Payload::ActivationIssued:
      rows.Put("t/" + Str(event.payload_as_ActivationIssued()->token_hash()),
               Json{{"kind", "activation"}, {"account_id", id}}.dump());
      return;
    case schema::Payload::PasswordResetIssued:
      rows.Put("t/" + Str(event.payload_as_PasswordResetIssued()->token_hash()),
               Json{{"kind", "reset"}, {"account_id", id}}.dump());
      return;
    case schema::Payload::AccountActivated:
      j["active"] = true;
      break;
    case schema::Payload::SessionStarted: {
      // The account's live sessions are listed apart ("ss/<id>": hash -> expiry), so the account
      // row read on every request stays small; sessions past their expiry are dropped here.
      const auto* e = event.payload_as_SessionStarted();
      std::string hash = Str(e->session_hash());
      rows.Put(
          "s/" + hash,
          Json{{"account_id", id}, {"created_at", at}, {"expires_at", e->expires_at_us()}}.dump());
      Json live = ReadJson(rows, "ss/" + id).value_or(Json::object());
      if (!live.is_object()) live = Json::object();
      for (auto it = live.begin(); it != live.end();) {
        if (it.value().get<int64_t>() <= at) {
          rows.Delete("s/" + it.key());
          it = live.erase(it);
        } else {
          ++it;
        }
      }
      live[hash] = e->expires_at_us();
      rows.Put("ss/" + id, live.dump());
      if (j.value("failures", 0) == 0) return;
      j["failures"] = 0;
      break;
    }
    case schema::Payload::SessionEnded: {
      std::string hash = Str(event.payload_as_SessionEnded()->session_hash());
      Json live = ReadJson(rows, "ss/" + id).value_or(Json::object());
      if (!live.is_object()) live = Json::object();
      if (hash.empty()) {
        for (auto it = live.begin(); it != live.end(); ++it) rows.Delete("s/" + it.key());
        live = Json::object();
      } else {
        rows.Delete("s/" + hash);
        live.erase(hash);
      }
      rows.Put("ss/" + id, live.dump());
      return;
    }
    case schema::Payload::LoginFailed:
      j["failures"] = j.value("failures", 0) + 1;
      j["last_failure"] = at;
      break;
    case schema::Payload::AccountLocked: {
      int64_t until = event.payload_as_AccountLocked()->until_us();
      if (until == 0) {
        j["locked_by_agent"] = true;
      } else {
        j["locked_until"] = until;
      }
      break;
    }
    case schema::Payload::AccountUnlocked:
      j["locked_by_agent"] = false;
      j["locked_until"] = 0;
      j["failures"] = 0;
      break;
    case schema::Payload::PasswordChanged:
      j["password_hash"] = Str(event.payload_as_PasswordChanged()->password_hash());
      j["failures"] = 0;
      j["locked_until"] = 0;
      break;
    case schema::Payload::Subscribed: {
      std::string family = Str(event.payload_as_Subscribed()->family_id());
      auto subs = j.value("subscriptions", std::vector<std::string>{});
      if (std::find(subs.begin(), subs.end(), family) == subs.end()) subs.push_back(family);
      j["subscriptions"] = subs;
      break;
    }
    case schema::Payload::Unsubscribed: {
      auto subs = j.value("subscriptions", std::vector<std::string>{});
      std::erase(subs, Str(event.payload_as_Unsubscribed()->family_id()));
      j["subscriptions"] = subs;
      break;
    }
    default:
      return;
  }
  rows.Put(key, j.dump());
}

std::optional<AccountRow> AccountsView::Account(const events::ViewReader& rows,
                                                std::string_view id) {
  auto value = rows.Get(AccountKey(id));
  if (!value) return std::nullopt;
  Json j = Json::parse(*value, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return ToRow(j);
}

std::optional<std::string> AccountsView::AccountIdByEmail(const events::ViewReader& rows,
                                                          std::string_view email) {
  return rows.Get("e/" + AsciiLower(email));
}

std::optional<SessionRow> AccountsView::Session(const events::ViewReader& rows,
                                                std::string_view session_hash) {
  auto value = rows.Get("s/" + std::string(session_hash));
  if (!value) return std::nullopt;
  Json j = Json::parse(*value, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return SessionRow{j.value("account_id", ""), j.value("created_at", int64_t{0}),
                    j.value("expires_at", int64_t{0})};
}

std::optional<LinkRow> AccountsView::Link(const events::ViewReader& rows,
                                          std::string_view token_hash) {
  auto value = rows.Get("t/" + std::string(token_hash));
  if (!value) return std::nullopt;
  Json j = Json::parse(*value, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return LinkRow{j.value("kind", ""), j.value("account_id", "")};
}

std::vector<AccountRow> AccountsView::Search(const events::ViewReader& rows, std::string_view query,
                                             size_t limit) {
  std::vector<AccountRow> out;
  std::string needle = AsciiLower(query);
  rows.Scan("a/", [&](std::string_view, std::string_view value) {
    Json j = Json::parse(value, nullptr, false);
    if (j.is_discarded()) return true;
    AccountRow row = ToRow(j);
    std::string haystack =
        AsciiLower(row.email + " " + row.first_name + " " + row.last_name + " " + row.id);
    if (needle.empty() || haystack.find(needle) != std::string::npos) out.push_back(row);
    return out.size() < limit;
  });
  return out;
}

}  // namespace portail::projections
