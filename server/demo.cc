// Seeds the demo town through the same commands as the API.
#include "server/demo.h"

#include <fstream>
#include <sstream>

#include "commands/accounts.h"
#include "commands/dossier.h"
#include "commands/planning.h"
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

// Creates an active account; returns its id.
Result<std::string> Account(App& app, const std::string& email, const std::string& password,
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
  if (auto ok = Run(app, std::move(command)); !ok) return std::unexpected(ok.error());
  if (role != schema::Role::Family) return account_id;
  auto activate = std::make_unique<commands::ActivateAccount>();
  activate->account_id = account_id;
  activate->token_hash = "demo-" + token_id;
  if (auto ok = Run(app, std::move(activate)); !ok) return std::unexpected(ok.error());
  return account_id;
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
// Returns the Martin children's ids.
Result<std::vector<std::string>> DemoFiles(App& app, const std::string& martin_id,
                                           const std::string& dubois_id) {
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
  std::vector<std::string> children = {*lea};
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
    children.push_back(*child);
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
  return children;
}

commands::Day D(int year, unsigned month, unsigned day) {
  return commands::Day(std::chrono::year{year} / std::chrono::month{month} / std::chrono::day{day});
}

// The town's four activities for the school year 2026-2027 (zone A holidays), the Martin
// children enrolled in all of them, and next month's requests: canteen and evening care
// reserved for a period, a Wednesday pending, an absence. Returns the month (its first day).
Result<commands::Day> DemoPlanning(App& app, const std::string& martin_id,
                                   const std::vector<std::string>& children,
                                   const std::string& alice_id) {
  using commands::NoticeRule;
  std::set<commands::Day> closed;
  for (auto [from, to] :
       {std::pair{D(2026, 10, 17), D(2026, 11, 1)}, std::pair{D(2026, 12, 19), D(2027, 1, 3)},
        std::pair{D(2027, 2, 6), D(2027, 2, 21)}, std::pair{D(2027, 4, 3), D(2027, 4, 18)}}) {
    for (auto day = from; day <= to; day += std::chrono::days(1)) closed.insert(day);
  }
  for (int year : {2026, 2027}) {
    for (auto day : commands::FrenchPublicHolidays(year)) closed.insert(day);
  }
  struct Spec {
    const char* name;
    schema::ActivityKind kind;
    uint8_t weekdays;
    int capacity;
    NoticeRule reservation;
    bool automatic;
  };
  constexpr uint8_t kSchoolDays =
      commands::kMonday | commands::kTuesday | commands::kThursday | commands::kFriday;
  const Spec specs[] = {
      {"Restaurant scolaire",
       schema::ActivityKind::Canteen,
       kSchoolDays,
       120,
       {NoticeRule::Kind::kDaysBeforeAt, 1, 15 * 60},
       false},
      {"Accueil du matin",
       schema::ActivityKind::MorningCare,
       kSchoolDays,
       30,
       {NoticeRule::Kind::kDaysBeforeAt, 1, 18 * 60},
       true},
      {"Garderie du soir",
       schema::ActivityKind::EveningCare,
       kSchoolDays,
       40,
       {NoticeRule::Kind::kDaysBeforeAt, 0, 12 * 60},
       true},
      {"Centre de loisirs du mercredi",
       schema::ActivityKind::WednesdayCentre,
       commands::kWednesday,
       48,
       {NoticeRule::Kind::kWorkingDaysBefore, 5, 24 * 60},
       false},
  };
  std::vector<std::string> activities;
  for (const auto& spec : specs) {
    auto define = std::make_unique<commands::DefineActivity>();
    define->rules.id = RandomId();
    define->rules.name = spec.name;
    define->rules.kind = spec.kind;
    define->rules.calendar = {spec.weekdays, {{D(2026, 9, 1), D(2027, 7, 3)}}, closed};
    define->rules.capacity = spec.capacity;
    define->rules.reservation_notice = spec.reservation;
    define->rules.absence_notice = {NoticeRule::Kind::kWorkingDaysBefore, 2, 24 * 60};
    define->rules.automatic = spec.automatic;
    activities.push_back(define->rules.id);
    if (auto ok = Run(app, std::move(define)); !ok) return std::unexpected(ok.error());
    for (const auto& child : children) {
      auto enrol = std::make_unique<commands::EnrolChild>();
      enrol->family_id = martin_id;
      enrol->child_id = child;
      enrol->enrolment = {RandomId(), activities.back(), D(2026, 9, 1), D(2027, 7, 3),
                          spec.weekdays};
      enrol->by_name = "Agnès Mairie";
      if (auto ok = Run(app, std::move(enrol)); !ok) return std::unexpected(ok.error());
    }
  }
  // Next month, as Alice would ask for it.
  auto today = std::chrono::year_month_day(commands::ParisDay(app.services().clock->Now()));
  auto next =
      std::chrono::year_month_day((today.year() / today.month() / 1)) + std::chrono::months(1);
  commands::Day first = next;
  commands::Day last = commands::Day(next.year() / next.month() / std::chrono::last);
  auto request = [&](std::vector<std::string> who, std::vector<std::string> what,
                     schema::RequestKind kind, commands::Day from,
                     commands::Day to) -> Result<std::string> {
    auto submit = std::make_unique<commands::SubmitRequest>();
    submit->request_id = RandomId();
    submit->family_id = martin_id;
    submit->kind = kind;
    submit->children = std::move(who);
    submit->activities = std::move(what);
    submit->from = from;
    submit->to = to;
    submit->by_name = "Alice Martin";
    std::string id = submit->request_id;
    submit->actor = "account-" + alice_id;
    auto outcome = app.services().bus->Execute(std::move(submit));
    if (!outcome) return std::unexpected(outcome.error());
    return id;
  };
  using schema::RequestKind;
  auto canteen =
      request({children[0], children[1]}, {activities[0]}, RequestKind::Reservation, first, last);
  if (!canteen) return first;  // a month without school days (holidays): nothing to reserve
  if (auto r = request({children[0]}, {activities[1], activities[2]}, RequestKind::Reservation,
                       first, last);
      !r) {
    return std::unexpected(r.error());
  }
  (void)request({children[2]}, {activities[3]}, RequestKind::Reservation, first, last);
  // The agent accepts Léa's canteen days of the first two weeks.
  auto decide = std::make_unique<commands::DecideBookings>();
  decide->request_id = *canteen;
  decide->by_name = "Agnès Mairie";
  for (auto day = first; day < first + std::chrono::days(14); day += std::chrono::days(1)) {
    if ((kSchoolDays & commands::WeekdayBit(day)) && !closed.contains(day)) {
      decide->decisions.push_back({{children[0], activities[0], day}, commands::Outcome::kAccept});
    }
  }
  if (!decide->decisions.empty()) {
    commands::Day absent = decide->decisions.back().key.day;
    if (auto ok = Run(app, std::move(decide)); !ok) return std::unexpected(ok.error());
    (void)request({children[0]}, {activities[0]}, RequestKind::Absence, absent, absent);
  }
  return first;
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
  auto alice = Account(app, kParentEmail, kParentPassword, "Alice", "Martin", schema::Role::Family,
                       martin_id);
  if (!alice) return std::unexpected(alice.error());
  auto children = DemoFiles(app, martin_id, dubois_id);
  if (!children) return std::unexpected(children.error());
  auto month = DemoPlanning(app, martin_id, *children, *alice);
  if (!month) return std::unexpected(month.error());
  std::ostringstream text;
  text << "Demo town (created " << data_dir << "):\n"
       << "  agent : " << kAgentEmail << " / " << kAgentPassword << "\n"
       << "  parent: " << kParentEmail << " / " << kParentPassword
       << " (subscribed to Famille Martin)\n"
       << "  subscriber codes: Famille Martin " << *martin << ", Famille Dubois " << *dubois << "\n"
       << "  planning month: " << commands::FormatDay(*month) << "\n";
  std::ofstream(path) << text.str();
  return text.str();
}

}  // namespace portail::server
