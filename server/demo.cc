// Seeds the demo town through the same commands as the API.
#include "server/demo.h"

#include <fstream>
#include <sstream>

#include "commands/accounts.h"
#include "commands/dossier.h"
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

// Adds a member to a family's file as an agent would; returns its id.
Result<std::string> Member(App& app, const std::string& family_id, schema::dossier::Kind kind,
                           commands::SectionMap sections, const std::string& child_id = "") {
  auto command = std::make_unique<commands::AddMember>();
  command->family_id = family_id;
  command->by_name = "Agnès Mairie";
  command->member_id = RandomId();
  command->kind = kind;
  command->child_id = child_id;
  command->sections = std::move(sections);
  std::string id = command->member_id;
  if (auto ok = Run(app, std::move(command)); !ok) return std::unexpected(ok.error());
  return id;
}

// The Martins' file: two guardians, three children, an authorised adult; the Duboises' file.
Status DemoFiles(App& app, const std::string& martin_id, const std::string& dubois_id) {
  using Kind = schema::dossier::Kind;
  auto alice = Member(
      app, martin_id, Kind::kGuardian,
      {{"basic",
        {{"civility", "Mme"},
         {"first_name", "Alice"},
         {"last_name", "Martin"},
         {"mobile_phone", "06 12 34 56 78"},
         {"email", "alice@demo.portail.test"},
         {"profession", "Infirmière"}}},
       {"address", {{"street", "12 rue des Lilas"}, {"postal_code", "69003"}, {"city", "Lyon"}}},
       {"fiscal", {{"reference_income", "38500"}, {"tax_shares", "3"}}},
       {"bank",
        {{"account_holder", "Alice Martin"},
         {"iban", "FR7630006000011234567890189"},
         {"bic", "AGRIFRPP"}}}});
  if (!alice) return std::unexpected(alice.error());
  auto paul = Member(app, martin_id, Kind::kGuardian,
                     {{"basic",
                       {{"civility", "M"},
                        {"first_name", "Paul"},
                        {"last_name", "Martin"},
                        {"mobile_phone", "06 98 76 54 32"}}}});
  if (!paul) return std::unexpected(paul.error());
  auto lea = Member(app, martin_id, Kind::kChild,
                    {{"general",
                      {{"first_name", "Léa"},
                       {"last_name", "Martin"},
                       {"birth_date", "2017-03-14"},
                       {"sex", "F"},
                       {"school", "École Jean Macé"},
                       {"class", "CE2"}}},
                     {"authorisations", {{"image_rights", "true"}, {"outings", "true"}}},
                     {"health", {{"allergies", "Arachide : aucune trace"}, {"pai", "true"}}}});
  if (!lea) return std::unexpected(lea.error());
  for (auto [first, birth, school_class] :
       {std::tuple{"Hugo", "2019-09-02", "GS"}, std::tuple{"Zoé", "2021-01-20", "PS"}}) {
    auto child = Member(app, martin_id, Kind::kChild,
                        {{"general",
                          {{"first_name", first},
                           {"last_name", "Martin"},
                           {"birth_date", birth},
                           {"school", "École Jean Macé"},
                           {"class", school_class}}}});
    if (!child) return std::unexpected(child.error());
  }
  auto grandmother = Member(app, martin_id, Kind::kAuthorisedAdult,
                            {{"contact",
                              {{"first_name", "Jeanne"},
                               {"last_name", "Durand"},
                               {"link", "grand-mère"},
                               {"mobile_phone", "06 11 22 33 44"}}}},
                            *lea);
  if (!grandmother) return std::unexpected(grandmother.error());
  auto claire = Member(app, dubois_id, Kind::kGuardian,
                       {{"basic", {{"first_name", "Claire"}, {"last_name", "Dubois"}}}});
  if (!claire) return std::unexpected(claire.error());
  auto tom =
      Member(app, dubois_id, Kind::kChild,
             {{"general", {{"first_name", "Tom"}, {"last_name", "Dubois"}, {"class", "CP"}}}});
  if (!tom) return std::unexpected(tom.error());
  return {};
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
  if (auto ok = DemoFiles(app, martin_id, dubois_id); !ok) return std::unexpected(ok.error());
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
