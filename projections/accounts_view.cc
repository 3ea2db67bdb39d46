// Accounts, sessions and links, kept as compact binary rows (read on every authenticated request).
#include "projections/accounts_view.h"

#include <algorithm>
#include <map>

#include "events/stored_event.h"

namespace portail::projections {
namespace {

using events::Str;

// Rows (format version 2; version 1 held JSON):
//   a/<id>     account: id, email, first name, last name, role, flags (1 active, 2 locked by an
//              agent), locked until, failures, last failure, created at, subscriptions (count,
//              ids), password hash
//   s/<hash>   session: account id, created at, expires at
//   ss/<id>    the account's live sessions: count, then (hash, expires at) in hash order
//   t/<hash>   link: kind (0 activation, 1 reset), account id
//   e/<email>  account id, as plain bytes
// Integers are LEB128 varints (signed ones zigzag-encoded), strings a varint length then bytes.
constexpr uint32_t kFormatVersion = 2;

class RowOut {
 public:
  RowOut& U(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
    return *this;
  }
  RowOut& I(int64_t v) {
    return U((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  RowOut& S(std::string_view v) {
    U(v.size());
    out_.append(v);
    return *this;
  }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

// Reads a row written by RowOut; any short or malformed input makes ok() false (and yields 0 or
// empty strings), never reads out of bounds.
class RowIn {
 public:
  explicit RowIn(std::string_view in) : in_(in) {}
  uint64_t U() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) break;
      auto byte = static_cast<uint8_t>(in_.front());
      in_.remove_prefix(1);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return v;
    }
    ok_ = false;
    return 0;
  }
  int64_t I() {
    uint64_t v = U();
    return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
  }
  std::string_view S() {
    uint64_t n = U();
    if (n > in_.size()) {
      ok_ = false;
      return {};
    }
    std::string_view v = in_.substr(0, n);
    in_.remove_prefix(n);
    return v;
  }
  // True when everything read so far was well-formed and the row is used up.
  bool done() const { return ok_ && in_.empty(); }
  bool ok() const { return ok_; }

 private:
  std::string_view in_;
  bool ok_ = true;
};

std::string AccountKey(std::string_view id) { return "a/" + std::string(id); }
std::string SessionKey(std::string_view hash) { return "s/" + std::string(hash); }
std::string LiveSessionsKey(std::string_view id) { return "ss/" + std::string(id); }

constexpr std::string_view kRoles[] = {"family", "agent", "auditor"};

std::string EncodeAccount(const AccountRow& row) {
  RowOut out;
  uint64_t role = 0;
  for (uint64_t i = 0; i < std::size(kRoles); ++i) {
    if (row.role == kRoles[i]) role = i;
  }
  out.S(row.id).S(row.email).S(row.first_name).S(row.last_name).U(role);
  out.U((row.active ? 1 : 0) | (row.locked_by_agent ? 2 : 0));
  out.I(row.locked_until_us).I(row.failures).I(row.last_failure_us).I(row.created_at_us);
  out.U(row.subscriptions.size());
  for (const auto& family : row.subscriptions) out.S(family);
  out.S(row.password_hash);
  return std::move(out.str());
}

std::optional<AccountRow> DecodeAccount(std::string_view value) {
  RowIn in(value);
  AccountRow row;
  row.id = in.S();
  row.email = in.S();
  row.first_name = in.S();
  row.last_name = in.S();
  uint64_t role = in.U();
  row.role = kRoles[role < std::size(kRoles) ? role : 0];
  uint64_t flags = in.U();
  row.active = (flags & 1) != 0;
  row.locked_by_agent = (flags & 2) != 0;
  row.locked_until_us = in.I();
  row.failures = static_cast<int>(in.I());
  row.last_failure_us = in.I();
  row.created_at_us = in.I();
  uint64_t subscriptions = in.U();
  for (uint64_t i = 0; i < subscriptions && in.ok(); ++i) row.subscriptions.emplace_back(in.S());
  row.password_hash = in.S();
  if (!in.done()) return std::nullopt;
  return row;
}

std::string EncodeSession(const SessionRow& row) {
  RowOut out;
  out.S(row.account_id).I(row.created_at_us).I(row.expires_at_us);
  return std::move(out.str());
}

std::optional<SessionRow> DecodeSession(std::string_view value) {
  RowIn in(value);
  SessionRow row;
  row.account_id = in.S();
  row.created_at_us = in.I();
  row.expires_at_us = in.I();
  if (!in.done()) return std::nullopt;
  return row;
}

// The account's live sessions: hash -> expiry.
using LiveSessions = std::map<std::string, int64_t, std::less<>>;

LiveSessions ReadLiveSessions(events::ViewWriter& rows, std::string_view id) {
  LiveSessions live;
  auto value = rows.Get(LiveSessionsKey(id));
  if (!value) return live;
  RowIn in(*value);
  uint64_t n = in.U();
  for (uint64_t i = 0; i < n && in.ok(); ++i) {
    std::string_view hash = in.S();
    int64_t expires = in.I();
    if (in.ok()) live.emplace(hash, expires);
  }
  return live;
}

void WriteLiveSessions(events::ViewWriter& rows, std::string_view id, const LiveSessions& live) {
  RowOut out;
  out.U(live.size());
  for (const auto& [hash, expires] : live) out.S(hash).I(expires);
  rows.Put(LiveSessionsKey(id), out.str());
}

std::string EncodeLink(std::string_view kind, std::string_view account_id) {
  RowOut out;
  out.U(kind == "reset" ? 1 : 0).S(account_id);
  return std::move(out.str());
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

uint32_t AccountsView::format_version() const { return kFormatVersion; }

bool AccountsView::Folds(schema::Payload type) const {
  switch (type) {
    case schema::Payload::AccountRegistered:
    case schema::Payload::ActivationIssued:
    case schema::Payload::PasswordResetIssued:
    case schema::Payload::AccountActivated:
    case schema::Payload::SessionStarted:
    case schema::Payload::SessionEnded:
    case schema::Payload::LoginFailed:
    case schema::Payload::AccountLocked:
    case schema::Payload::AccountUnlocked:
    case schema::Payload::PasswordChanged:
    case schema::Payload::Subscribed:
    case schema::Payload::Unsubscribed:
      return true;
    default:
      return false;
  }
}

void AccountsView::Apply(const schema::EventRecord& event, events::ViewWriter& rows) {
  std::string_view stream = event.stream_id()->string_view();
  if (!stream.starts_with("account-")) return;
  std::string id(StreamEntityId(stream));
  std::string key = AccountKey(id);
  int64_t at = event.recorded_at_us();

  if (event.payload_type() == schema::Payload::AccountRegistered) {
    const auto* e = event.payload_as_AccountRegistered();
    AccountRow row;
    row.id = id;
    row.email = Str(e->email());
    row.first_name = Str(e->first_name());
    row.last_name = Str(e->last_name());
    row.role = RoleName(e->role());
    row.password_hash = Str(e->password_hash());
    row.created_at_us = at;
    rows.Put(key, EncodeAccount(row));
    rows.Put("e/" + AsciiLower(row.email), id);
    return;
  }
  auto stored = rows.Get(key);
  if (!stored) return;
  auto current = DecodeAccount(*stored);
  if (!current) return;
  AccountRow& row = *current;
  switch (event.payload_type()) {
    case schema::Payload::ActivationIssued:
      rows.Put("t/" + Str(event.payload_as_ActivationIssued()->token_hash()),
               EncodeLink("activation", id));
      return;
    case schema::Payload::PasswordResetIssued:
      rows.Put("t/" + Str(event.payload_as_PasswordResetIssued()->token_hash()),
               EncodeLink("reset", id));
      return;
    case schema::Payload::AccountActivated:
      row.active = true;
      break;
    case schema::Payload::SessionStarted: {
      // The account's live sessions are listed apart ("ss/<id>": hash -> expiry), so the account
      // row read on every request stays small; sessions past their expiry are dropped here.
      const auto* e = event.payload_as_SessionStarted();
      std::string hash = Str(e->session_hash());
      rows.Put(SessionKey(hash), EncodeSession(SessionRow{id, at, e->expires_at_us()}));
      LiveSessions live = ReadLiveSessions(rows, id);
      for (auto it = live.begin(); it != live.end();) {
        if (it->second <= at) {
          rows.Delete(SessionKey(it->first));
          it = live.erase(it);
        } else {
          ++it;
        }
      }
      live[hash] = e->expires_at_us();
      WriteLiveSessions(rows, id, live);
      if (row.failures == 0) return;
      row.failures = 0;
      break;
    }
    case schema::Payload::SessionEnded: {
      std::string hash = Str(event.payload_as_SessionEnded()->session_hash());
      LiveSessions live = ReadLiveSessions(rows, id);
      if (hash.empty()) {
        for (const auto& [live_hash, expires] : live) rows.Delete(SessionKey(live_hash));
        live.clear();
      } else {
        rows.Delete(SessionKey(hash));
        live.erase(hash);
      }
      WriteLiveSessions(rows, id, live);
      return;
    }
    case schema::Payload::LoginFailed:
      row.failures += 1;
      row.last_failure_us = at;
      break;
    case schema::Payload::AccountLocked: {
      int64_t until = event.payload_as_AccountLocked()->until_us();
      if (until == 0) {
        row.locked_by_agent = true;
      } else {
        row.locked_until_us = until;
      }
      break;
    }
    case schema::Payload::AccountUnlocked:
      row.locked_by_agent = false;
      row.locked_until_us = 0;
      row.failures = 0;
      break;
    case schema::Payload::PasswordChanged:
      row.password_hash = Str(event.payload_as_PasswordChanged()->password_hash());
      row.failures = 0;
      row.locked_until_us = 0;
      break;
    case schema::Payload::Subscribed: {
      std::string family = Str(event.payload_as_Subscribed()->family_id());
      auto& subs = row.subscriptions;
      if (std::find(subs.begin(), subs.end(), family) == subs.end()) subs.push_back(family);
      break;
    }
    case schema::Payload::Unsubscribed:
      std::erase(row.subscriptions, Str(event.payload_as_Unsubscribed()->family_id()));
      break;
    default:
      return;
  }
  rows.Put(key, EncodeAccount(row));
}

std::optional<AccountRow> AccountsView::Account(const events::ViewReader& rows,
                                                std::string_view id) {
  auto value = rows.Get(AccountKey(id));
  if (!value) return std::nullopt;
  return DecodeAccount(*value);
}

std::optional<std::string> AccountsView::AccountIdByEmail(const events::ViewReader& rows,
                                                          std::string_view email) {
  return rows.Get("e/" + AsciiLower(email));
}

std::optional<SessionRow> AccountsView::Session(const events::ViewReader& rows,
                                                std::string_view session_hash) {
  auto value = rows.Get(SessionKey(session_hash));
  if (!value) return std::nullopt;
  return DecodeSession(*value);
}

std::optional<LinkRow> AccountsView::Link(const events::ViewReader& rows,
                                          std::string_view token_hash) {
  auto value = rows.Get("t/" + std::string(token_hash));
  if (!value) return std::nullopt;
  RowIn in(*value);
  uint64_t kind = in.U();
  std::string account_id(in.S());
  if (!in.done()) return std::nullopt;
  return LinkRow{kind == 1 ? "reset" : "activation", std::move(account_id)};
}

std::vector<AccountRow> AccountsView::Search(const events::ViewReader& rows, std::string_view query,
                                             size_t limit) {
  std::vector<AccountRow> out;
  std::string needle = AsciiLower(query);
  rows.Scan("a/", [&](std::string_view, std::string_view value) {
    auto row = DecodeAccount(value);
    if (!row) return true;
    std::string haystack =
        AsciiLower(row->email + " " + row->first_name + " " + row->last_name + " " + row->id);
    if (needle.empty() || haystack.find(needle) != std::string::npos) {
      out.push_back(std::move(*row));
    }
    return out.size() < limit;
  });
  return out;
}

}  // namespace portail::projections
