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

// One record of every payload type of schema version 1, with a few fields set.
std::vector<schema::PayloadUnion> VersionOnePayloads() {
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
          MakePayload(schema::MailDeliveredT{})};
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
  request.streams.push_back({"corpus-1", ExpectedVersion::NoStream(), VersionOnePayloads()});
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
  ASSERT_GE(records.size(), VersionOnePayloads().size());
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
}

}  // namespace
}  // namespace portail::events
