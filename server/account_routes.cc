// The family side of accounts: registration, activation, sessions, resets, `me`, subscriptions.
#include "server/account_routes.h"

#include "projections/accounts_view.h"
#include "projections/families_view.h"
#include "server/handler_support.h"

namespace portail::server {
namespace {

constexpr std::string_view kRegisteredMessage =
    "if this address can be used, an e-mail with an activation link is on its way";
constexpr std::string_view kResetMessage =
    "if an active account uses this address, an e-mail with a reset link is on its way";

// Reads `email` as a checked address; records a field problem otherwise.
std::string ReadEmail(JsonInput& input) {
  std::string email = input.String("email", 3, 254);
  if (email.empty()) return email;
  auto checked = CheckEmail(email);
  if (!checked) {
    input.AddProblem("email", "is not a valid e-mail address");
    return "";
  }
  return *checked;
}

// Parses the body or answers the error; nullopt then.
std::optional<JsonInput> ParseBody(const Request& request, Reply& reply) {
  auto input = JsonInput::FromRequest(request);
  if (!input) {
    reply(ErrorResponse(input.error()));
    return std::nullopt;
  }
  return std::move(*input);
}

bool Finish(JsonInput& input, Reply& reply) {
  if (auto ok = input.Finish(); !ok) {
    reply(ErrorResponse(ok.error()));
    return false;
  }
  return true;
}

Response Accepted(std::string_view message) {
  return JsonResponse(202, Json{{"message", message}});
}

Response TooMany(int64_t retry_us, std::string message) {
  Error error(ErrorCode::kTooManyRequests, std::move(message));
  error.retry_after_seconds = static_cast<int>(std::max<int64_t>(1, retry_us / 1000000 + 1));
  return ErrorResponse(error);
}

}  // namespace

std::string EmailKey(std::string_view email) {
  return HashHex(projections::AsciiLower(email)).substr(0, 32);
}

AccountRoutes::AccountRoutes(const Services& services, AccountsConfig config, std::string key)
    : services_(services),
      config_(std::move(config)),
      key_(std::move(key)),
      auth_(services.store, services.clock, config_.session_idle,
            [this] {
              // The Origin a browser sends for our own pages: scheme://host[:port] of the public
              // URL.
              std::string url = config_.public_url;
              size_t scheme = url.find("://");
              size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
              return path == std::string::npos ? url : url.substr(0, path);
            }()),
      hasher_(config_.hash_threads, 256),
      address_failures_(config_.address_failures_limit, config_.limit_window),
      code_failures_(config_.code_failures_limit, config_.limit_window) {}

AccountRoutes::~AccountRoutes() { hasher_.Stop(); }

const events::ViewReader& AccountRoutes::accounts() const {
  return *services_.store->View("accounts");
}
const events::ViewReader& AccountRoutes::families() const {
  return *services_.store->View("families");
}

commands::LinkToken AccountRoutes::NewLink(commands::Micros ttl) const {
  commands::LinkToken link;
  link.id = RandomId();
  link.hash = HashHex(LinkTokenFor(key_, link.id));
  link.expires_at = services_.clock->Now() + ttl;
  return link;
}

std::string AccountRoutes::CodeHash(const std::string& normalised_code) const {
  return HashHex(normalised_code, key_);
}

Result<std::string> AccountRoutes::FamilyOfCode(const std::string& code,
                                                const std::string& limiter_key) {
  commands::Micros now = services_.clock->Now();
  if (int64_t wait = code_failures_.RetryAfter(limiter_key, now); wait > 0) {
    return Fail(ErrorCode::kTooManyRequests, "too many wrong subscriber codes; retry in " +
                                                 std::to_string(wait / 1000000 + 1) + " s");
  }
  auto normalised = NormaliseSubscriberCode(code);
  std::optional<std::string> family;
  if (normalised)
    family = projections::FamiliesView::FamilyIdByCode(families(), CodeHash(*normalised));
  if (!family) {
    code_failures_.Record(limiter_key, now);
    return std::unexpected(Error(
        ErrorCode::kNotFound, "no family has this subscriber code; check it on the town's letter",
        {{"subscriber_code", "is not a known subscriber code"}}));
  }
  return *family;
}

std::optional<Caller> AccountRoutes::Authenticated(Request& request, Reply& reply) {
  auto caller = auth_.Authenticate(request);
  if (!caller) {
    reply(ErrorResponse(caller.error()));
    return std::nullopt;
  }
  return std::move(*caller);
}

std::optional<Caller> AccountRoutes::Agent(Request& request, Reply& reply, bool auditors_too) {
  auto caller = Authenticated(request, reply);
  if (!caller) return std::nullopt;
  if (!caller->is_agent() && !(auditors_too && caller->is_auditor())) {
    reply(ErrorResponse(ErrorCode::kForbidden, "this is reserved to the town's agents"));
    return std::nullopt;
  }
  return caller;
}

void AccountRoutes::Add(Router& router) {
  auto bind = [this](void (AccountRoutes::*method)(Request&, Reply)) {
    return [this, method](Request& request, Reply reply) {
      (this->*method)(request, std::move(reply));
    };
  };
  router.Add("POST", "/api/v1/accounts", bind(&AccountRoutes::Register));
  router.Add("POST", "/api/v1/accounts/activate", bind(&AccountRoutes::Activate));
  router.Add("POST", "/api/v1/accounts/activation-requests",
             bind(&AccountRoutes::ResendActivation));
  router.Add("POST", "/api/v1/sessions", bind(&AccountRoutes::Login));
  router.Add("DELETE", "/api/v1/sessions/current", bind(&AccountRoutes::Logout));
  router.Add("POST", "/api/v1/password-resets", bind(&AccountRoutes::RequestReset));
  router.Add("POST", "/api/v1/password-resets/confirm", bind(&AccountRoutes::ConfirmReset));
  router.Add("GET", "/api/v1/me", bind(&AccountRoutes::Me));
  router.Add("POST", "/api/v1/me/subscriptions/lookup", bind(&AccountRoutes::LookupCode));
  router.Add("POST", "/api/v1/me/subscriptions", bind(&AccountRoutes::SubscribeByCode));
  router.Add("DELETE", "/api/v1/me/subscriptions/{family_id}", bind(&AccountRoutes::Unsubscribe));
  router.Add("POST", "/api/v1/agent/families", bind(&AccountRoutes::CreateFamily));
  router.Add("GET", "/api/v1/agent/families", bind(&AccountRoutes::ListFamilies));
  router.Add("GET", "/api/v1/agent/families/{family_id}", bind(&AccountRoutes::GetFamily));
  router.Add("POST", "/api/v1/agent/families/{family_id}/subscriber-code",
             bind(&AccountRoutes::RegenerateCode));
  router.Add("GET", "/api/v1/agent/accounts", bind(&AccountRoutes::ListAccounts));
  router.Add("POST", "/api/v1/agent/accounts/{account_id}/lock", bind(&AccountRoutes::LockAccount));
  router.Add("POST", "/api/v1/agent/accounts/{account_id}/unlock",
             bind(&AccountRoutes::UnlockAccount));
}

void AccountRoutes::Register(Request& request, Reply reply) {
  auto input = ParseBody(request, reply);
  if (!input) return;
  std::string email = ReadEmail(*input);
  std::string password = input->String("password", 1, 1024);
  std::string first_name = input->String("first_name", 1, 100);
  std::string last_name = input->String("last_name", 1, 100);
  auto code = input->OptionalString("subscriber_code", 1, 32);
  if (!password.empty() && !email.empty()) {
    if (auto problem = PasswordProblem(password, email); !problem.empty()) {
      input->AddProblem("password", problem);
    }
  }
  if (!Finish(*input, reply)) return;
  std::string family_id;
  if (code) {
    auto family = FamilyOfCode(*code, "ip:" + request.remote_address);
    if (!family) return reply(ErrorResponse(family.error()));
    family_id = *family;
  }
  auto command = std::make_unique<commands::RegisterAccount>();
  command->account_id = RandomId();
  command->actor = "account-" + command->account_id;
  command->email = email;
  command->email_key = EmailKey(email);
  command->first_name = first_name;
  command->last_name = last_name;
  command->activation = NewLink(config_.activation_ttl);
  command->mail_id = RandomId();
  command->family_id = family_id;
  auto job = [this, password,
              command = std::shared_ptr<commands::RegisterAccount>(command.release()),
              reply]() mutable {
    auto hash = HashPassword(password, config_.password_cost);
    if (!hash) return reply(ErrorResponse(ErrorCode::kUnavailable, "the server is busy; retry"));
    command->password_hash = *hash;
    auto owned = std::make_unique<commands::RegisterAccount>(*command);
    ExecuteAndReply(*services_.bus, std::move(owned), reply,
                    [](commands::CommandOutcome&) { return Accepted(kRegisteredMessage); });
  };
  if (!hasher_.Submit(std::move(job))) {
    reply(ErrorResponse(ErrorCode::kUnavailable, "the server is busy; please retry"));
  }
}

void AccountRoutes::Activate(Request& request, Reply reply) {
  auto input = ParseBody(request, reply);
  if (!input) return;
  std::string token = input->String("token", 10, 128);
  if (!Finish(*input, reply)) return;
  std::string hash = HashHex(token);
  auto link = projections::AccountsView::Link(accounts(), hash);
  if (!link || link->kind != "activation") {
    return reply(ErrorResponse(ErrorCode::kNotFound, "this activation link is unknown"));
  }
  auto command = std::make_unique<commands::ActivateAccount>();
  command->account_id = link->account_id;
  command->actor = "account-" + link->account_id;
  command->token_hash = hash;
  ExecuteAndReply(
      *services_.bus, std::move(command), std::move(reply), [](commands::CommandOutcome&) {
        return JsonResponse(
            200, Json{{"status", "active"}, {"message", "your account is active; you can log in"}});
      });
}

template <class LinkCommand>
void AccountRoutes::MailLink(Request& request, Reply reply, commands::Micros ttl,
                             std::string_view answer, commands::LinkToken LinkCommand::*link) {
  auto input = ParseBody(request, reply);
  if (!input) return;
  std::string email = ReadEmail(*input);
  if (!Finish(*input, reply)) return;
  // The same answer whether the address is known or not; the decider sends nothing for an
  // account in the wrong state.
  auto account_id = projections::AccountsView::AccountIdByEmail(accounts(), email);
  if (!account_id) return reply(Accepted(answer));
  auto command = std::make_unique<LinkCommand>();
  command->account_id = *account_id;
  command->actor = "anonymous";
  (*command).*link = NewLink(ttl);
  command->mail_id = RandomId();
  ExecuteAndReply(*services_.bus, std::move(command), std::move(reply),
                  [answer](commands::CommandOutcome&) { return Accepted(answer); });
}

void AccountRoutes::ResendActivation(Request& request, Reply reply) {
  MailLink(request, std::move(reply), config_.activation_ttl, kRegisteredMessage,
           &commands::ResendActivation::activation);
}

void AccountRoutes::Login(Request& request, Reply reply) {
  auto input = ParseBody(request, reply);
  if (!input) return;
  std::string email = input->String("email", 1, 254);
  std::string password = input->String("password", 1, 1024);
  if (!Finish(*input, reply)) return;
  commands::Micros now = services_.clock->Now();
  std::string address_key = "ip:" + request.remote_address;
  if (int64_t wait = address_failures_.RetryAfter(address_key, now); wait > 0) {
    return reply(TooMany(wait, "too many failed logins from your address; retry later"));
  }
  auto account_id = projections::AccountsView::AccountIdByEmail(accounts(), email);
  std::optional<projections::AccountRow> row;
  if (account_id) row = projections::AccountsView::Account(accounts(), *account_id);
  if (row) {
    commands::Micros wait = config_.login_policy.Backoff(row->failures);
    if (wait > 0 && now < row->last_failure_us + wait) {
      return reply(TooMany(row->last_failure_us + wait - now,
                           "too many failed logins; retry in " +
                               std::to_string((row->last_failure_us + wait - now) / 1000000 + 1) +
                               " s"));
    }
  }
  std::string client = request.remote_address;
  auto job = [this, row, password, address_key, client, reply]() mutable {
    commands::Micros now = services_.clock->Now();
    if (!row) {
      VerifyPassword(DummyPasswordHash(config_.password_cost), password);
      address_failures_.Record(address_key, now);
      return reply(ErrorResponse(ErrorCode::kUnauthenticated, "wrong e-mail or password"));
    }
    bool ok = VerifyPassword(row->password_hash, password);
    if (!ok) address_failures_.Record(address_key, now);
    std::string token = RandomToken();
    auto command = std::make_unique<commands::RecordLogin>();
    command->account_id = row->id;
    command->actor = "account-" + row->id;
    command->password_ok = ok;
    command->session_hash = HashHex(token);
    command->session_lifetime = config_.session_absolute;
    command->client = client;
    command->policy = config_.login_policy;
    projections::AccountRow account = *row;
    ExecuteAndReply(
        *services_.bus, std::move(command), reply,
        [this, token, account](commands::CommandOutcome& outcome) {
          auto login = std::any_cast<commands::LoginReply>(outcome.reply);
          if (!login.ok) {
            Response r = ErrorResponse(login.code, login.message);
            if (login.code == ErrorCode::kTooManyRequests)
              r.headers.emplace_back("Retry-After", "1");
            return r;
          }
          int64_t max_age = config_.session_absolute / 1000000;
          Response r = JsonResponse(
              201, Json{{"token", token},
                        {"expires_at", IsoTime(services_.clock->Now() + config_.session_absolute)},
                        {"idle_timeout_seconds", config_.session_idle / 1000000},
                        {"account",
                         {{"id", account.id}, {"email", account.email}, {"role", account.role}}}});
          std::string cookie =
              std::string(kSessionCookie) + "=" + token +
              "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age);
          if (config_.secure_cookie) cookie += "; Secure";
          r.headers.emplace_back("Set-Cookie", cookie);
          return r;
        });
  };
  if (!hasher_.Submit(std::move(job))) {
    reply(ErrorResponse(ErrorCode::kUnavailable, "the server is busy; please retry"));
  }
}

void AccountRoutes::Logout(Request& request, Reply reply) {
  auto caller = Authenticated(request, reply);
  if (!caller) return;
  auto command = std::make_unique<commands::EndSession>();
  command->account_id = caller->account.id;
  command->actor = "account-" + caller->account.id;
  command->session_hash = caller->session_hash;
  auth_.Forget(caller->session_hash);
  ExecuteAndReply(
      *services_.bus, std::move(command), std::move(reply), [](commands::CommandOutcome&) {
        Response r = NoContent();
        r.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) +
                                                 "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
        return r;
      });
}

void AccountRoutes::RequestReset(Request& request, Reply reply) {
  MailLink(request, std::move(reply), config_.reset_ttl, kResetMessage,
           &commands::RequestPasswordReset::reset);
}

void AccountRoutes::ConfirmReset(Request& request, Reply reply) {
  auto input = ParseBody(request, reply);
  if (!input) return;
  std::string token = input->String("token", 10, 128);
  std::string password = input->String("password", 1, 1024);
  if (!Finish(*input, reply)) return;
  std::string hash = HashHex(token);
  auto link = projections::AccountsView::Link(accounts(), hash);
  if (!link || link->kind != "reset") {
    return reply(ErrorResponse(ErrorCode::kNotFound, "this reset link is unknown"));
  }
  auto account = projections::AccountsView::Account(accounts(), link->account_id);
  if (!account) return reply(ErrorResponse(ErrorCode::kNotFound, "this reset link is unknown"));
  if (auto problem = PasswordProblem(password, account->email); !problem.empty()) {
    return reply(ErrorResponse(
        Error(ErrorCode::kInvalid, "the new password " + problem, {{"password", problem}})));
  }
  std::string account_id = link->account_id;
  auto job = [this, password, hash, account_id, reply]() mutable {
    auto password_hash = HashPassword(password, config_.password_cost);
    if (!password_hash) return reply(ErrorResponse(ErrorCode::kUnavailable, "busy; retry"));
    auto command = std::make_unique<commands::ResetPassword>();
    command->account_id = account_id;
    command->actor = "account-" + account_id;
    command->token_hash = hash;
    command->password_hash = *password_hash;
    ExecuteAndReply(*services_.bus, std::move(command), reply, [](commands::CommandOutcome&) {
      return JsonResponse(200, Json{{"message", "your password was changed; please log in"}});
    });
  };
  if (!hasher_.Submit(std::move(job))) {
    reply(ErrorResponse(ErrorCode::kUnavailable, "the server is busy; please retry"));
  }
}

void AccountRoutes::Me(Request& request, Reply reply) {
  auto caller = Authenticated(request, reply);
  if (!caller) return;
  Json subscriptions = Json::array();
  for (const auto& family_id : caller->account.subscriptions) {
    auto family = projections::FamiliesView::Family(families(), family_id);
    if (!family) continue;
    subscriptions.push_back({{"family_id", family->id}, {"name", family->name}});
  }
  const auto& a = caller->account;
  reply(JsonResponse(200, Json{{"id", a.id},
                               {"email", a.email},
                               {"first_name", a.first_name},
                               {"last_name", a.last_name},
                               {"role", a.role},
                               {"subscriptions", std::move(subscriptions)}}));
}

std::optional<std::pair<Caller, projections::FamilyRow>> AccountRoutes::FamilyByCodeBody(
    Request& request, Reply& reply) {
  auto caller = Authenticated(request, reply);
  if (!caller) return std::nullopt;
  if (!caller->is_family()) {
    reply(ErrorResponse(ErrorCode::kForbidden, "subscriptions are for family accounts"));
    return std::nullopt;
  }
  auto input = ParseBody(request, reply);
  if (!input) return std::nullopt;
  std::string code = input->String("subscriber_code", 1, 32);
  if (!Finish(*input, reply)) return std::nullopt;
  auto family_id = FamilyOfCode(code, "account:" + caller->account.id);
  if (!family_id) {
    reply(ErrorResponse(family_id.error()));
    return std::nullopt;
  }
  auto family = projections::FamiliesView::Family(families(), *family_id);
  if (!family) {
    reply(ErrorResponse(ErrorCode::kNotFound, "no such family"));
    return std::nullopt;
  }
  return std::make_pair(std::move(*caller), std::move(*family));
}

void AccountRoutes::LookupCode(Request& request, Reply reply) {
  auto found = FamilyByCodeBody(request, reply);
  if (!found) return;
  const auto& [caller, family] = *found;
  reply(JsonResponse(200, Json{{"family_name", family.name},
                               {"already_subscribed", caller.SubscribedTo(family.id)}}));
}

void AccountRoutes::SubscribeByCode(Request& request, Reply reply) {
  auto found = FamilyByCodeBody(request, reply);
  if (!found) return;
  const auto& [caller, family] = *found;
  auto command = std::make_unique<commands::Subscribe>();
  command->account_id = caller.account.id;
  command->actor = "account-" + caller.account.id;
  command->family_id = family.id;
  ExecuteAndReply(*services_.bus, std::move(command), std::move(reply),
                  [id = family.id, name = family.name](commands::CommandOutcome&) {
                    return JsonResponse(201, Json{{"family_id", id}, {"name", name}});
                  });
}

void AccountRoutes::Unsubscribe(Request& request, Reply reply) {
  auto caller = Authenticated(request, reply);
  if (!caller) return;
  if (!caller->is_family()) {
    return reply(ErrorResponse(ErrorCode::kForbidden, "subscriptions are for family accounts"));
  }
  std::string family_id(request.Param("family_id"));
  if (!caller->SubscribedTo(family_id)) {
    return reply(ErrorResponse(ErrorCode::kNotFound, "you are not subscribed to this family"));
  }
  auto command = std::make_unique<commands::Unsubscribe>();
  command->account_id = caller->account.id;
  command->actor = "account-" + caller->account.id;
  command->family_id = family_id;
  ExecuteAndReply(*services_.bus, std::move(command), std::move(reply),
                  [](commands::CommandOutcome&) { return NoContent(); });
}

}  // namespace portail::server
