// Old records must always decode: a corpus of records written by every schema version, read
// with today's generated code. New versions add files; none is ever removed or rewritten.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "commands/command.h"
#include "events/event_store.h"
#include "tests/support/temp_dir.h"

namespace portail::events {
namespace {

const std::filesystem::path kCorpus = PORTAIL_SOURCE_DIR "/tests/events/corpus";

// One record of every payload type of the current schema (v2 added the family file's), with a
// few fields set.
std::vector<schema::PayloadUnion> CurrentPayloads() {
  using commands::MakePayload;
  schema::OperatorNoteT note;
  note.text = "maintenance";
  schema::AccountRegisteredT registered;
  registered.account_id = "a1";
  registered.email = "Alice@Example.org";
  registered.first_name = "Alice";
  registered.role = schema::Role::Agent;
  schema::MailQueuedT mail;
  mail.mail_id = "m1";
  mail.kind = "activation";
  mail.to = "alice@example.org";
  mail.expires_at_us = 42;
  schema::ChangeProposedT proposed;
  proposed.family_id = "f1";
  proposed.change_id = "c1";
  proposed.member_id = "m1";
  proposed.member_kind = schema::MemberKind::Guardian;
  auto section = std::make_unique<schema::SectionValuesT>();
  section->section = "address";
  auto city = std::make_unique<schema::FieldValueT>();
  city->name = "city";
  city->value = "Lyon";
  section->fields.push_back(std::move(city));
  proposed.sections.push_back(std::move(section));
  auto ref = std::make_unique<schema::FieldRefT>();
  ref->change_id = "c0";
  ref->section = "address";
  ref->field = "city";
  proposed.superseded.push_back(std::move(ref));
  proposed.by_name = "Alice Martin";
  schema::MemberAddedT added;
  added.member_id = "m1";
  added.kind = schema::MemberKind::Child;
  return {MakePayload(note),
          MakePayload(registered),
          MakePayload(schema::EmailClaimedT{}),
          MakePayload(schema::ActivationIssuedT{}),
          MakePayload(schema::AccountActivatedT{}),
          MakePayload(schema::RegistrationRepeatedT{}),
          MakePayload(schema::SessionStartedT{}),
          MakePayload(schema::SessionEndedT{}),
          MakePayload(schema::LoginFailedT{}),
          MakePayload(schema::AccountLockedT{}),
          MakePayload(schema::AccountUnlockedT{}),
          MakePayload(schema::PasswordResetIssuedT{}),
          MakePayload(schema::PasswordChangedT{}),
          MakePayload(schema::SubscribedT{}),
          MakePayload(schema::UnsubscribedT{}),
          MakePayload(schema::FamilyRegisteredT{}),
          MakePayload(schema::SubscriberCodeChangedT{}),
          MakePayload(schema::SubscriberCodeClaimedT{}),
          MakePayload(mail),
          MakePayload(schema::MailDeliveredT{}),
          MakePayload(added),
          MakePayload(schema::SectionUpdatedT{}),
          MakePayload(schema::MemberRemovedT{}),
          MakePayload(std::move(proposed)),
          MakePayload(schema::ChangeApprovedT{}),
          MakePayload(schema::ChangeRejectedT{}),
          MakePayload(schema::ChangeWithdrawnT{}),
          MakePayload(schema::ChangeSupersededT{})};
}

// Writes the corpus of the current version; run by hand when the schema gains members:
// PORTAIL_WRITE_CORPUS=v2 build/tests/events/events_test --gtest_filter='*WritesTheCorpus*'
TEST(SchemaCorpusTest, WritesTheCorpusWhenAsked) {
  const char* version = std::getenv("PORTAIL_WRITE_CORPUS");
  if (version == nullptr) GTEST_SKIP() << "set PORTAIL_WRITE_CORPUS=vN to write the corpus";
  testing::TempDir dir;
  auto store = EventStore::Open(StoreOptions{.path = dir.path()});
  ASSERT_TRUE(store.has_value());
  AppendRequest request;
  request.actor = "operator";
  request.recorded_at_us = 1'764'000'000'000'000;
  request.streams.push_back({"corpus-1", ExpectedVersion::NoStream(), CurrentPayloads()});
  ASSERT_TRUE((*store)->Append(request).has_value());
  auto events = (*store)->ReadAll(1, 1000);
  ASSERT_TRUE(events.has_value());
  for (const auto& e : *events) {
    std::ofstream(
        kCorpus / (std::string(version) + "-" + std::string(EventTypeName(e.type())) + ".bin"),
        std::ios::binary)
        << e.bytes();
  }
}

TEST(SchemaCorpusTest, EveryRecordOfEveryVersionDecodesWithTodaysSchema) {
  std::map<std::string, std::string> records;  // file name -> bytes
  for (const auto& entry : std::filesystem::directory_iterator(kCorpus)) {
    std::ifstream in(entry.path(), std::ios::binary);
    records[entry.path().filename().string()] =
        std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  ASSERT_GE(records.size(), CurrentPayloads().size());
  for (const auto& [name, bytes] : records) {
    flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    ASSERT_TRUE(schema::VerifyEventRecordBuffer(verifier)) << name;
    StoredEvent event(bytes);
    // "v1-AccountRegistered.bin": the type in the name is the type decoded.
    std::string type = name.substr(name.find('-') + 1);
    type = type.substr(0, type.find('.'));
    EXPECT_EQ(EventTypeName(event.type()), type) << name;
    EXPECT_EQ(event.stream_id(), "corpus-1");
    EXPECT_EQ(event.record().actor()->str(), "operator");
    EXPECT_EQ(event.record().recorded_at_us(), 1'764'000'000'000'000);
  }
  StoredEvent registered(records.at("v1-AccountRegistered.bin"));
  const auto* account = registered.record().payload_as_AccountRegistered();
  ASSERT_NE(account, nullptr);
  EXPECT_EQ(account->email()->str(), "Alice@Example.org");
  EXPECT_EQ(account->role(), schema::Role::Agent);
  StoredEvent mail(records.at("v1-MailQueued.bin"));
  EXPECT_EQ(mail.record().payload_as_MailQueued()->to()->str(), "alice@example.org");
  EXPECT_EQ(mail.record().payload_as_MailQueued()->expires_at_us(), 42);
  StoredEvent change(records.at("v2-ChangeProposed.bin"));
  const auto* proposed = change.record().payload_as_ChangeProposed();
  ASSERT_NE(proposed, nullptr);
  EXPECT_EQ(proposed->sections()->Get(0)->fields()->Get(0)->value()->str(), "Lyon");
  EXPECT_EQ(proposed->superseded()->Get(0)->change_id()->str(), "c0");
  StoredEvent added(records.at("v2-MemberAdded.bin"));
  EXPECT_EQ(added.record().payload_as_MemberAdded()->kind(), schema::MemberKind::Child);
}

}  // namespace
}  // namespace portail::events
