// The agents' side of accounts: families and their subscriber codes, accounts and locks.
#include "projections/accounts_view.h"
#include "projections/families_view.h"
#include "server/account_routes.h"
#include "server/handler_support.h"

namespace portail::server {
namespace {

constexpr size_t kDefaultLimit = 50;
constexpr size_t kMaxLimit = 500;

// The `limit` query parameter, or an error.
Result<size_t> LimitOf(const Request& request) {
  auto found = request.query.find("limit");
  if (found == request.query.end()) return kDefaultLimit;
  try {
    size_t used = 0;
    long value = std::stol(found->second, &used);
    if (used == found->second.size() && value >= 1 && value <= static_cast<long>(kMaxLimit)) {
      return static_cast<size_t>(value);
    }
  } catch (...) {
  }
  return std::unexpected(Error(ErrorCode::kInvalid, "limit must be a number from 1 to 500",
                               {{"limit", "must be a number from 1 to 500"}}));
}

std::string QueryOf(const Request& request) {
  auto found = request.query.find("q");
  return found == request.query.end() ? "" : found->second.substr(0, 100);
}

Json AccountJson(const projections::AccountRow& a, int64_t now) {
  return Json{{"id", a.id},
              {"email", a.email},
              {"first_name", a.first_name},
              {"last_name", a.last_name},
              {"role", a.role},
              {"active", a.active},
              {"locked", a.locked_by_agent || a.locked_until_us > now},
              {"locked_by_agent", a.locked_by_agent},
              {"locked_until", a.locked_until_us > now ? Json(IsoTime(a.locked_until_us)) : Json()},
              {"failed_logins", a.failures},
              {"subscriptions", a.subscriptions},
              {"created_at", IsoTime(a.created_at_us)}};
}

}  // namespace

void AccountRoutes::CreateFamily(Request& request, Reply reply) {
  auto caller = Agent(request, reply);
  if (!caller) return;
  auto input = JsonInput::FromRequest(request);
  if (!input) return reply(ErrorResponse(input.error()));
  std::string name = input->String("name", 1, 100);
  if (auto ok = input->Finish(); !ok) return reply(ErrorResponse(ok.error()));
  std::string code = NewSubscriberCode();
  auto command = std::make_unique<commands::RegisterFamily>();
  command->family_id = RandomId();
  command->actor = "account-" + caller->account.id;
  command->name = name;
  command->code_hash = CodeHash(*NormaliseSubscriberCode(code));
  std::string id = command->family_id;
  ExecuteAndReply(
      *services_.bus, std::move(command), std::move(reply),
      [id, name, code](commands::CommandOutcome&) {
        return JsonResponse(201, Json{{"id", id}, {"name", name}, {"subscriber_code", code}});
      });
}

void AccountRoutes::RegenerateCode(Request& request, Reply reply) {
  auto caller = Agent(request, reply);
  if (!caller) return;
  std::string family_id(request.Param("family_id"));
  if (!projections::FamiliesView::Family(families(), family_id)) {
    return reply(ErrorResponse(ErrorCode::kNotFound, "no such family"));
  }
  std::string code = NewSubscriberCode();
  auto command = std::make_unique<commands::RegenerateSubscriberCode>();
  command->family_id = family_id;
  command->actor = "account-" + caller->account.id;
  command->code_hash = CodeHash(*NormaliseSubscriberCode(code));
  ExecuteAndReply(*services_.bus, std::move(command), std::move(reply),
                  [family_id, code](commands::CommandOutcome&) {
                    return JsonResponse(200, Json{{"id", family_id}, {"subscriber_code", code}});
                  });
}

void AccountRoutes::ListFamilies(Request& request, Reply reply) {
  auto caller = Agent(request, reply, /*auditors_too=*/true);
  if (!caller) return;
  auto limit = LimitOf(request);
  if (!limit) return reply(ErrorResponse(limit.error()));
  Json out = Json::array();
  for (const auto& f : projections::FamiliesView::Search(families(), QueryOf(request), *limit)) {
    out.push_back({{"id", f.id},
                   {"name", f.name},
                   {"created_at", IsoTime(f.created_at_us)},
                   {"accounts", f.accounts.size()}});
  }
  reply(JsonResponse(200, Json{{"families", std::move(out)}}));
}

void AccountRoutes::GetFamily(Request& request, Reply reply) {
  auto caller = Agent(request, reply, /*auditors_too=*/true);
  if (!caller) return;
  auto family = projections::FamiliesView::Family(families(), request.Param("family_id"));
  if (!family) return reply(ErrorResponse(ErrorCode::kNotFound, "no such family"));
  Json accounts_json = Json::array();
  int64_t now = services_.clock->Now();
  for (const auto& id : family->accounts) {
    if (auto a = projections::AccountsView::Account(accounts(), id)) {
      accounts_json.push_back(AccountJson(*a, now));
    }
  }
  reply(JsonResponse(200, Json{{"id", family->id},
                               {"name", family->name},
                               {"created_at", IsoTime(family->created_at_us)},
                               {"subscriber_code_changed_at", IsoTime(family->code_changed_at_us)},
                               {"accounts", std::move(accounts_json)}}));
}

void AccountRoutes::ListAccounts(Request& request, Reply reply) {
  auto caller = Agent(request, reply, /*auditors_too=*/true);
  if (!caller) return;
  auto limit = LimitOf(request);
  if (!limit) return reply(ErrorResponse(limit.error()));
  Json out = Json::array();
  int64_t now = services_.clock->Now();
  for (const auto& a : projections::AccountsView::Search(accounts(), QueryOf(request), *limit)) {
    out.push_back(AccountJson(a, now));
  }
  reply(JsonResponse(200, Json{{"accounts", std::move(out)}}));
}

void AccountRoutes::LockAccount(Request& request, Reply reply) {
  auto caller = Agent(request, reply);
  if (!caller) return;
  std::string reason = "locked by an agent";
  if (!request.body.empty()) {
    auto input = JsonInput::FromRequest(request);
    if (!input) return reply(ErrorResponse(input.error()));
    reason = input->OptionalString("reason", 1, 500).value_or(reason);
    if (auto ok = input->Finish(); !ok) return reply(ErrorResponse(ok.error()));
  }
  std::string account_id(request.Param("account_id"));
  if (account_id == caller->account.id) {
    return reply(ErrorResponse(ErrorCode::kInvalid, "you cannot lock your own account"));
  }
  if (!projections::AccountsView::Account(accounts(), account_id)) {
    return reply(ErrorResponse(ErrorCode::kNotFound, "no such account"));
  }
  auto command = std::make_unique<commands::LockAccount>();
  command->account_id = account_id;
  command->actor = "account-" + caller->account.id;
  command->reason = reason;
  ExecuteAndReply(*services_.bus, std::move(command), std::move(reply),
                  [this, account_id](commands::CommandOutcome&) {
                    auto a = projections::AccountsView::Account(accounts(), account_id);
                    if (!a) return ErrorResponse(ErrorCode::kNotFound, "no such account");
                    return JsonResponse(200, AccountJson(*a, services_.clock->Now()));
                  });
}

void AccountRoutes::UnlockAccount(Request& request, Reply reply) {
  auto caller = Agent(request, reply);
  if (!caller) return;
  std::string account_id(request.Param("account_id"));
  if (!projections::AccountsView::Account(accounts(), account_id)) {
    return reply(ErrorResponse(ErrorCode::kNotFound, "no such account"));
  }
  auto command = std::make_unique<commands::UnlockAccount>();
  command->account_id = account_id;
  command->actor = "account-" + caller->account.id;
  ExecuteAndReply(*services_.bus, std::move(command), std::move(reply),
                  [this, account_id](commands::CommandOutcome&) {
                    auto a = projections::AccountsView::Account(accounts(), account_id);
                    if (!a) return ErrorResponse(ErrorCode::kNotFound, "no such account");
                    return JsonResponse(200, AccountJson(*a, services_.clock->Now()));
                  });
}

}  // namespace portail::server
