// Tests of the family file's deciders over states folded from hand-built events: no storage.
#include "commands/dossier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "commands/accounts.h"
#include "tests/commands/decider_test.h"

namespace portail::commands {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Kind = schema::dossier::Kind;

constexpr Micros kStart = 1'700'000'000'000'000;  // 2023-11-14
constexpr char kFamily[] = "fam-1";

class DossierDecidersTest : public DeciderTest {
 protected:
  DossierDecidersTest() {
    RegisterAccountAggregates(registry_);
    RegisterDossierAggregates(registry_);
    schema::FamilyRegisteredT registered;
    registered.family_id = kFamily;
    registered.name = "Martin";
    Add(FamilyStream(kFamily), MakePayload(std::move(registered)), kStart);
  }

  const DossierState& Dossier() {
    return dynamic_cast<const DossierState&>(State(DossierStream(kFamily)));
  }

  template <class C>
  static C For(C command) {
    command.family_id = kFamily;
    command.by_name = "Someone";
    return command;
  }

  static AddMember Child(std::string id, std::string first_name, SectionMap extra = {}) {
    AddMember command = For(AddMember{});
    command.member_id = std::move(id);
    command.kind = Kind::kChild;
    command.sections = std::move(extra);
    command.sections["general"]["first_name"] = std::move(first_name);
    command.sections["general"]["last_name"] = "Martin";
    return command;
  }

  static AddMember Guardian(std::string id) {
    AddMember command = For(AddMember{});
    command.member_id = std::move(id);
    command.kind = Kind::kGuardian;
    command.sections["basic"] = {{"first_name", "Alice"}, {"last_name", "Martin"}};
    command.sections["address"] = {{"city", "Lyon"}, {"postal_code", "69001"}};
    return command;
  }

  static ProposeChange Propose(std::string change_id, std::string member_id, std::string section,
                               FieldMap fields) {
    ProposeChange command = For(ProposeChange{});
    command.change_id = std::move(change_id);
    command.member_id = std::move(member_id);
    command.sections[std::move(section)] = std::move(fields);
    return command;
  }

  static DecideChange Decision(std::string change_id, bool approve, std::string reason = "") {
    DecideChange command = For(DecideChange{});
    command.change_id = std::move(change_id);
    command.approve = approve;
    command.reason = std::move(reason);
    return command;
  }

  const FieldMap& Current(const std::string& member, const std::string& section) {
    return Dossier().members.at(member).sections.at(section);
  }
};

// The field names of an error's per-field details.
std::vector<std::string> FieldsOf(const Error& error) {
  std::vector<std::string> fields;
  for (const auto& f : error.fields) fields.push_back(f.field);
  return fields;
}

TEST_F(DossierDecidersTest, AnAgentAddsChildrenWhoGetDistinctColours) {
  auto decision = Run(Child("c1", "Léa"), kStart);
  EXPECT_THAT(TypesTo(decision, DossierStream(kFamily)),
              ElementsAre("MemberAdded", "SectionUpdated"));
  Run(Child("c2", "Hugo"), kStart);
  EXPECT_EQ(Current("c1", "general").at("colour"), "#e6194b");
  EXPECT_EQ(Current("c2", "general").at("colour"), "#3cb44b");
  EXPECT_EQ(Current("c2", "general").at("first_name"), "Hugo");
  EXPECT_EQ(std::any_cast<DossierReply>(decision.reply).version, 2u);
}

TEST_F(DossierDecidersTest, AMemberNeedsItsNames) {
  AddMember command = Child("c1", "Léa");
  command.sections["general"].erase("last_name");
  auto decided = Decide(command, kStart);
  ASSERT_THAT(decided, FailsWith(ErrorCode::kInvalid));
  EXPECT_THAT(FieldsOf(decided.error()), ElementsAre("general.last_name"));
}

TEST_F(DossierDecidersTest, ValuesAreCheckedAndNormalisedPerField) {
  Run(Guardian("g1"), kStart);
  UpdateSection update = For(UpdateSection{});
  update.member_id = "g1";
  update.section = "basic";
  update.fields = {{"mobile_phone", "06.12.34.56.78"}, {"email", "Alice@Example.ORG"}};
  Run(update, kStart);
  EXPECT_EQ(Current("g1", "basic").at("mobile_phone"), "06 12 34 56 78");
  EXPECT_EQ(Current("g1", "basic").at("email"), "Alice@example.org");

  update.section = "bank";
  update.fields = {{"iban", "FR76 3000 6000 0112 3456 7890 188"}, {"bic", "BNPAFRPP"}};
  auto decided = Decide(update, kStart);
  ASSERT_THAT(decided, FailsWith(ErrorCode::kInvalid));
  EXPECT_THAT(FieldsOf(decided.error()), ElementsAre("bank.iban"));

  update.section = "basic";
  update.fields = {{"birth_date", "2030-01-01"}, {"nickname", "Al"}, {"civility", "Dr"}};
  decided = Decide(update, kStart);
  ASSERT_THAT(decided, FailsWith(ErrorCode::kInvalid));
  EXPECT_THAT(FieldsOf(decided.error()),
              ElementsAre("basic.birth_date", "basic.civility", "basic.nickname"));
}

TEST_F(DossierDecidersTest, DietsAreNeedsNotReligiousLabels) {
  Run(Child("c1", "Léa"), kStart);
  UpdateSection update = For(UpdateSection{});
  update.member_id = "c1";
  update.section = "health";
  update.fields = {{"diet", "sans_gluten,sans_porc"}};
  Run(update, kStart);
  EXPECT_EQ(Current("c1", "health").at("diet"), "sans_porc,sans_gluten");
  update.fields = {{"diet", "halal"}};
  EXPECT_THAT(Decide(update, kStart), FailsWith(ErrorCode::kInvalid));
}

TEST_F(DossierDecidersTest, AnUnknownFamilyIsNotFound) {
  AddMember command = Child("c1", "Léa");
  command.family_id = "nobody";
  EXPECT_THAT(Decide(command, kStart), FailsWith(ErrorCode::kNotFound));
}

TEST_F(DossierDecidersTest, AStaleIfMatchIsAPreconditionFailure) {
  Run(Guardian("g1"), kStart);  // version 3
  ProposeChange change = Propose("ch1", "g1", "address", {{"city", "Paris"}});
  change.if_match = 2;
  auto decided = Decide(change, kStart);
  ASSERT_THAT(decided, FailsWith(ErrorCode::kPreconditionFailed));
  EXPECT_THAT(decided.error().message, HasSubstr("now 3"));
  change.if_match = 3;
  EXPECT_TRUE(Decide(change, kStart).has_value());
}

TEST_F(DossierDecidersTest, AProposalStaysPendingUntilApproved) {
  Run(Guardian("g1"), kStart);
  Run(Propose("ch1", "g1", "address", {{"city", "Paris"}, {"postal_code", "75011"}}), kStart);
  EXPECT_EQ(Current("g1", "address").at("city"), "Lyon");
  EXPECT_EQ(Dossier().changes.at("ch1").status, ChangeStatus::kPending);
  auto decision = Run(Decision("ch1", true), kStart);
  EXPECT_THAT(TypesTo(decision, DossierStream(kFamily)),
              ElementsAre("ChangeApproved", "SectionUpdated"));
  EXPECT_EQ(Current("g1", "address").at("city"), "Paris");
  EXPECT_EQ(Current("g1", "address").at("postal_code"), "75011");
  EXPECT_THAT(Decide(Decision("ch1", false, "late"), kStart), FailsWith(ErrorCode::kConflict));
}

TEST_F(DossierDecidersTest, ARejectionKeepsTheCurrentValues) {
  Run(Guardian("g1"), kStart);
  Run(Propose("ch1", "g1", "address", {{"city", "Paris"}}), kStart);
  Run(Decision("ch1", false, "justificatif manquant"), kStart);
  EXPECT_EQ(Current("g1", "address").at("city"), "Lyon");
  EXPECT_EQ(Dossier().changes.at("ch1").status, ChangeStatus::kRejected);
}

TEST_F(DossierDecidersTest, ANewerProposalOfAFieldSupersedesTheOlderOne) {
  Run(Guardian("g1"), kStart);
  Run(Propose("a", "g1", "address", {{"city", "Paris"}, {"postal_code", "75011"}}), kStart);
  auto b = Run(Propose("b", "g1", "address", {{"city", "Lille"}}), kStart);
  EXPECT_THAT(TypesTo(b, DossierStream(kFamily)), ElementsAre("ChangeProposed"));
  EXPECT_EQ(Dossier().changes.at("a").sections.at("address"), (FieldMap{{"postal_code", "75011"}}));
  EXPECT_EQ(Dossier().changes.at("a").status, ChangeStatus::kPending);

  auto c = Run(Propose("c", "g1", "address", {{"postal_code", "59000"}}), kStart);
  EXPECT_THAT(TypesTo(c, DossierStream(kFamily)),
              ElementsAre("ChangeProposed", "ChangeSuperseded"));
  EXPECT_EQ(Dossier().changes.at("a").status, ChangeStatus::kSuperseded);
  EXPECT_THAT(Decide(Decision("a", true), kStart), FailsWith(ErrorCode::kConflict));
  Run(Decision("b", true), kStart);
  Run(Decision("c", true), kStart);
  EXPECT_EQ(Current("g1", "address"), (FieldMap{{"city", "Lille"}, {"postal_code", "59000"}}));
}

TEST_F(DossierDecidersTest, AProposalOfTheCurrentValuesChangesNothing) {
  Run(Guardian("g1"), kStart);
  auto decided = Decide(Propose("a", "g1", "address", {{"city", "Lyon"}}), kStart);
  ASSERT_THAT(decided, FailsWith(ErrorCode::kInvalid));
  EXPECT_THAT(decided.error().message, HasSubstr("nothing to change"));
}

TEST_F(DossierDecidersTest, AFamilyProposesANewChildButNotAGuardian) {
  ProposeChange add = For(ProposeChange{});
  add.change_id = "ch1";
  add.kind = schema::ChangeKind::AddMember;
  add.member_id = "c9";
  add.member_kind = Kind::kChild;
  add.sections["general"] = {{"first_name", "Zoé"}, {"last_name", "Martin"}};
  Run(add, kStart);
  EXPECT_EQ(Dossier().Member("c9"), nullptr);
  auto approved = Run(Decision("ch1", true), kStart);
  EXPECT_THAT(TypesTo(approved, DossierStream(kFamily)),
              ElementsAre("ChangeApproved", "MemberAdded", "SectionUpdated"));
  ASSERT_NE(Dossier().Member("c9"), nullptr);
  EXPECT_EQ(Current("c9", "general").at("colour"), "#e6194b");

  add.change_id = "ch2";
  add.member_id = "g9";
  add.member_kind = Kind::kGuardian;
  add.sections = {{"basic", {{"first_name", "Bob"}, {"last_name", "Martin"}}}};
  EXPECT_THAT(Decide(add, kStart), FailsWith(ErrorCode::kForbidden));
}

TEST_F(DossierDecidersTest, AnAuthorisedAdultNeedsAChildOfTheFamily) {
  AddMember adult = For(AddMember{});
  adult.member_id = "a1";
  adult.kind = Kind::kAuthorisedAdult;
  adult.child_id = "c1";
  adult.sections["contact"] = {{"first_name", "Jeanne"},
                               {"last_name", "Durand"},
                               {"link", "grand-mère"},
                               {"mobile_phone", "0611223344"}};
  EXPECT_THAT(Decide(adult, kStart), FailsWith(ErrorCode::kInvalid));
  Run(Child("c1", "Léa"), kStart);
  Run(adult, kStart);
  EXPECT_EQ(Dossier().Member("a1")->child_id, "c1");
}

TEST_F(DossierDecidersTest, AFamilyWithdrawsItsPendingChangeOnce) {
  Run(Guardian("g1"), kStart);
  Run(Propose("ch1", "g1", "address", {{"city", "Paris"}}), kStart);
  WithdrawChange withdraw = For(WithdrawChange{});
  withdraw.change_id = "ch1";
  Run(withdraw, kStart);
  EXPECT_EQ(Dossier().changes.at("ch1").status, ChangeStatus::kWithdrawn);
  EXPECT_THAT(Decide(withdraw, kStart), FailsWith(ErrorCode::kConflict));
  EXPECT_THAT(Decide(Decision("ch1", true), kStart), FailsWith(ErrorCode::kConflict));
  withdraw.change_id = "unknown";
  EXPECT_THAT(Decide(withdraw, kStart), FailsWith(ErrorCode::kNotFound));
}

TEST_F(DossierDecidersTest, RemovingAChildTakesItsAdultsAndRejectsTheirPendingChanges) {
  Run(Child("c1", "Léa"), kStart);
  AddMember adult = For(AddMember{});
  adult.member_id = "a1";
  adult.kind = Kind::kAuthorisedAdult;
  adult.child_id = "c1";
  adult.sections["contact"] = {{"first_name", "Jeanne"},
                               {"last_name", "Durand"},
                               {"link", "grand-mère"},
                               {"mobile_phone", "0611223344"}};
  Run(adult, kStart);
  Run(Propose("ch1", "a1", "contact", {{"other_phone", "0411223344"}}), kStart);
  RemoveMember remove = For(RemoveMember{});
  remove.member_id = "c1";
  auto decision = Run(remove, kStart);
  EXPECT_THAT(TypesTo(decision, DossierStream(kFamily)),
              ElementsAre("MemberRemoved", "MemberRemoved", "ChangeRejected"));
  EXPECT_EQ(Dossier().Member("c1"), nullptr);
  EXPECT_EQ(Dossier().Member("a1"), nullptr);
  EXPECT_EQ(Dossier().changes.at("ch1").status, ChangeStatus::kRejected);
}

}  // namespace
}  // namespace portail::commands
