// Seeds the demo town through the same commands as the API.
#include "server/demo.h"

#include <fstream>
#include <sstream>

#include "commands/accounts.h"
#include "server/account_routes.h"
#include "server/security.h"

namespace portail::server {
namespace {

constexpr char kAgentEmail[] = "agent@demo.portail.test";
constexpr char kAgentPassword[] = "demo agent password";
constexpr char kParentEmail[] = "alice@demo.portail.test";
constexpr char kParentPassword[] = "demo parent password";

Status Run(App& app, std::unique_ptr<commands::Command> command) {
  command->actor = "operator";
  auto outcome = app.services().bus->Execute(std::move(command));
  if (!outcome) return std::unexpected(outcome.error());
  return {};
}

Result<std::string> Family(App& app, const std::string& name, std::string* id) {
  std::string code = NewSubscriberCode();
  auto command = std::make_unique<commands::RegisterFamily>();
  command->family_id = RandomId();
  command->name = name;
  command->code_hash = app.account_routes().SubscriberCodeHash(code);
  *id = command->family_id;
  if (auto ok = Run(app, std::move(command)); !ok) return std::unexpected(ok.error());
  return code;
}

Status Account(App& app, const std::string& email, const std::string& password,
               const std::string& first, const std::string& last, schema::Role role,
               const std::string& family_id) {
  auto hash = HashPassword(password, app.account_routes().config().password_cost);
  if (!hash) return Fail(ErrorCode::kInternal, "cannot hash a password");
  auto command = std::make_unique<commands::RegisterAccount>();
  command->account_id = RandomId();
  command->email = email;
  command->email_key = EmailKey(email);
  command->first_name = first;
  command->last_name = last;
  command->password_hash = *hash;
  command->role = role;
  command->family_id = family_id;
  // A family account is activated at once with its own link, as if the parent clicked it.
  std::string token_id = RandomId();
  command->activation = {token_id, "demo-" + token_id,
                         app.services().clock->Now() + 3600LL * 1000000};
  command->mail_id = RandomId();
  command->mail_activation = false;
  std::string account_id = command->account_id;
  if (auto ok = Run(app, std::move(command)); !ok) return ok;
  if (role != schema::Role::Family) return {};
  auto activate = std::make_unique<commands::ActivateAccount>();
  activate->account_id = account_id;
  activate->token_hash = "demo-" + token_id;
  return Run(app, std::move(activate));
}

}  // namespace

Result<std::string> SeedDemoTown(App& app, const std::string& data_dir) {
  std::string path = data_dir + "/DEMO.txt";
  if (app.services().store->HeadPosition() > 0) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::string martin_id;
  std::string dubois_id;
  auto martin = Family(app, "Famille Martin", &martin_id);
  if (!martin) return std::unexpected(martin.error());
  auto dubois = Family(app, "Famille Dubois", &dubois_id);
  if (!dubois) return std::unexpected(dubois.error());
  if (auto ok =
          Account(app, kAgentEmail, kAgentPassword, "Agnès", "Mairie", schema::Role::Agent, "");
      !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = Account(app, kParentEmail, kParentPassword, "Alice", "Martin", schema::Role::Family,
                        martin_id);
      !ok) {
    return std::unexpected(ok.error());
  }
  std::ostringstream text;
  text << "Demo town (created " << data_dir << "):\n"
       << "  agent : " << kAgentEmail << " / " << kAgentPassword << "\n"
       << "  parent: " << kParentEmail << " / " << kParentPassword
       << " (subscribed to Famille Martin)\n"
       << "  subscriber codes: Famille Martin " << *martin << ", Famille Dubois " << *dubois
       << "\n";
  std::ofstream(path) << text.str();
  return text.str();
}

}  // namespace portail::server
