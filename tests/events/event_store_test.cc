// Tests of the event log: appends, expected versions, idempotency, the hash chain and projections.
#include "events/event_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <chrono>
#include <functional>
#include <latch>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "projections/event_counts.h"
#include "tests/support/notes.h"
#include "tests/support/temp_dir.h"

namespace portail::events {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using portail::testing::Note;

StreamAppend Notes(std::string stream, ExpectedVersion expected, std::vector<std::string> texts) {
  StreamAppend append{std::move(stream), expected, {}};
  for (auto& text : texts) append.events.push_back(Note(std::move(text)));
  return append;
}

AppendRequest Request(std::vector<StreamAppend> streams, std::string command_id = "") {
  AppendRequest request;
  request.command_id = std::move(command_id);
  request.actor = "agent-1";
  request.streams = std::move(streams);
  return request;
}

// A request appending `texts` to one stream.
AppendRequest OneStream(std::string stream, ExpectedVersion expected,
                        std::vector<std::string> texts, std::string command_id = "") {
  return Request({Notes(std::move(stream), expected, std::move(texts))}, std::move(command_id));
}

StoreOptions ReadOnlyOptions(std::string path, std::string secondary_path) {
  StoreOptions options;
  options.path = std::move(path);
  options.read_only = true;
  options.secondary_path = std::move(secondary_path);
  return options;
}

std::string TextOf(const StoredEvent& event) {
  return event.record().payload_as_OperatorNote()->text()->str();
}

std::vector<uint64_t> PositionsOf(const std::vector<StoredEvent>& events) {
  std::vector<uint64_t> out;
  for (const auto& e : events) out.push_back(e.position());
  return out;
}

std::vector<uint64_t> VersionsOf(const std::vector<StoredEvent>& events) {
  std::vector<uint64_t> out;
  for (const auto& e : events) out.push_back(e.stream_version());
  return out;
}

class EventStoreTest : public ::testing::Test {
 protected:
  // Opens the store in the test's directory; throws (failing the test) when it cannot.
  std::unique_ptr<EventStore> Open(std::vector<Projection*> projections = {}) {
    StoreOptions options;
    options.path = dir_.path();
    options.projections = std::move(projections);
    auto store = EventStore::Open(std::move(options));
    if (!store) throw std::runtime_error("opening the store: " + store.error().message);
    return std::move(*store);
  }

  // Appends `request` and returns its positions; throws when the append fails.
  static std::vector<uint64_t> MustAppend(EventStore& store, const AppendRequest& request) {
    auto result = store.Append(request);
    if (!result) throw std::runtime_error("append failed: " + result.error().message);
    return result->positions;
  }

  std::vector<StoredEvent> All(const EventStore& store) {
    auto events = store.ReadAll(1, 1'000'000);
    if (!events) throw std::runtime_error("ReadAll failed: " + events.error().message);
    return std::move(*events);
  }

  // Opens the closed store's directory with raw RocksDB and runs `fn` with its column families.
  void WithRawDb(
      const std::function<void(rocksdb::DB&, std::map<std::string, rocksdb::ColumnFamilyHandle*>&)>&
          fn) {
    rocksdb::Options options;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(options, dir_.path(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_.path(), descriptors, &handles, &db).ok());
    std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name;
    for (auto* h : handles) by_name[h->GetName()] = h;
    fn(*db, by_name);
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    ASSERT_TRUE(db->Close().ok());
    delete db;
  }

  // Appends five events at positions 1..5 to streams "s-a" and "s-b", texts "note-<position>".
  void AppendFive(EventStore& store) {
    for (int i = 1; i <= 5; ++i) {
      MustAppend(store, OneStream(i % 2 ? "s-a" : "s-b", ExpectedVersion::Any(),
                                  {"note-" + std::to_string(i)}));
    }
  }

  portail::testing::TempDir dir_;
};

TEST_F(EventStoreTest, AppendedEventIsReadBackWithItsEnvelope) {
  auto store = Open();
  AppendRequest request = OneStream("family-7", ExpectedVersion::NoStream(), {"hello"}, "cmd-1");
  request.correlation_id = "corr-1";
  request.recorded_at_us = 1'700'000'000'123'456;
  auto result = store->Append(request);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_THAT(result->positions, ElementsAre(1u));
  EXPECT_FALSE(result->duplicate);

  auto events = All(*store);
  ASSERT_EQ(events.size(), 1u);
  const schema::EventRecord& record = events[0].record();
  EXPECT_EQ(record.position(), 1u);
  EXPECT_EQ(record.stream_id()->str(), "family-7");
  EXPECT_EQ(record.stream_version(), 1u);
  EXPECT_EQ(record.recorded_at_us(), 1'700'000'000'123'456);
  EXPECT_EQ(record.actor()->str(), "agent-1");
  EXPECT_EQ(record.command_id()->str(), "cmd-1");
  EXPECT_EQ(record.correlation_id()->str(), "corr-1");
  EXPECT_EQ(events[0].type(), schema::Payload::OperatorNote);
  EXPECT_EQ(EventTypeName(events[0].type()), "OperatorNote");
  EXPECT_EQ(TextOf(events[0]), "hello");
  EXPECT_EQ(store->HeadPosition(), 1u);
  EXPECT_EQ(store->StreamVersion("family-7").value(), 1u);
}

TEST_F(EventStoreTest, SeveralEventsOfOneRequestGetConsecutivePositionsAndVersions) {
  auto store = Open();
  MustAppend(*store, OneStream("s-x", ExpectedVersion::Any(), {"zero"}));
  auto positions =
      MustAppend(*store, OneStream("s-y", ExpectedVersion::Any(), {"one", "two", "three"}));
  EXPECT_THAT(positions, ElementsAre(2u, 3u, 4u));
  auto events = store->ReadStream("s-y", 1, 100);
  ASSERT_TRUE(events);
  EXPECT_THAT(VersionsOf(*events), ElementsAre(1u, 2u, 3u));
  EXPECT_THAT(PositionsOf(*events), ElementsAre(2u, 3u, 4u));
  EXPECT_EQ(TextOf((*events)[2]), "three");
  EXPECT_EQ(store->HeadPosition(), 4u);
}

TEST_F(EventStoreTest, ReadStreamStartsAtFromVersionAndStopsAtMax) {
  auto store = Open();
  // s-a gets positions 1, 3, 5, 7, 9; s-b gets 2, 4, 6, 8, 10.
  for (int i = 1; i <= 10; ++i) {
    MustAppend(*store, OneStream(i % 2 ? "s-a" : "s-b", ExpectedVersion::Any(),
                                 {"note-" + std::to_string(i)}));
  }
  auto middle = store->ReadStream("s-a", 2, 2);
  ASSERT_TRUE(middle);
  EXPECT_THAT(VersionsOf(*middle), ElementsAre(2u, 3u));
  EXPECT_THAT(PositionsOf(*middle), ElementsAre(3u, 5u));

  auto whole = store->ReadStream("s-a", 1, 100);
  ASSERT_TRUE(whole);
  EXPECT_THAT(PositionsOf(*whole), ElementsAre(1u, 3u, 5u, 7u, 9u));
  for (const auto& e : *whole) EXPECT_EQ(e.stream_id(), "s-a");

  auto past_end = store->ReadStream("s-a", 6, 100);
  ASSERT_TRUE(past_end);
  EXPECT_THAT(*past_end, IsEmpty());
  auto missing = store->ReadStream("s-none", 1, 100);
  ASSERT_TRUE(missing);
  EXPECT_THAT(*missing, IsEmpty());
  // A stream whose id is a prefix of another's does not read the other's events.
  auto prefix = store->ReadStream("s-", 1, 100);
  ASSERT_TRUE(prefix);
  EXPECT_THAT(*prefix, IsEmpty());
}

TEST_F(EventStoreTest, ReadAllStartsAtFromPositionAndStopsAtMax) {
  auto store = Open();
  for (int i = 1; i <= 6; ++i) {
    MustAppend(*store, OneStream("s-" + std::to_string(i % 3), ExpectedVersion::Any(),
                                 {"note-" + std::to_string(i)}));
  }
  auto middle = store->ReadAll(3, 2);
  ASSERT_TRUE(middle);
  EXPECT_THAT(PositionsOf(*middle), ElementsAre(3u, 4u));
  EXPECT_EQ(TextOf((*middle)[0]), "note-3");
  auto tail = store->ReadAll(5, 100);
  ASSERT_TRUE(tail);
  EXPECT_THAT(PositionsOf(*tail), ElementsAre(5u, 6u));
  auto past_end = store->ReadAll(7, 100);
  ASSERT_TRUE(past_end);
  EXPECT_THAT(*past_end, IsEmpty());
}

TEST_F(EventStoreTest, HeadPositionIsZeroOnAnEmptyLogAndFollowsAppends) {
  auto store = Open();
  EXPECT_EQ(store->HeadPosition(), 0u);
  MustAppend(*store, OneStream("s-a", ExpectedVersion::Any(), {"a", "b"}));
  EXPECT_EQ(store->HeadPosition(), 2u);
  MustAppend(*store, OneStream("s-b", ExpectedVersion::Any(), {"c"}));
  EXPECT_EQ(store->HeadPosition(), 3u);
}

TEST_F(EventStoreTest, ExpectedVersionAnyAppendsWhateverTheStreamVersion) {
  auto store = Open();
  MustAppend(*store, OneStream("s-a", ExpectedVersion::Any(), {"first"}));
  MustAppend(*store, OneStream("s-a", ExpectedVersion::Any(), {"second", "third"}));
  EXPECT_EQ(store->StreamVersion("s-a").value(), 3u);
}

TEST_F(EventStoreTest, ExpectedNoStreamSucceedsOnlyWhenTheStreamDoesNotExist) {
  auto store = Open();
  EXPECT_EQ(store->StreamVersion("s-a").value(), 0u);
  MustAppend(*store, OneStream("s-a", ExpectedVersion::NoStream(), {"first"}));
  auto again = store->Append(OneStream("s-a", ExpectedVersion::NoStream(), {"second"}));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_EQ(store->StreamVersion("s-a").value(), 1u);
}

TEST_F(EventStoreTest, ExpectedExactVersionAppendsWhenItMatches) {
  auto store = Open();
  MustAppend(*store, OneStream("s-a", ExpectedVersion::Any(), {"one", "two"}));
  auto positions = MustAppend(*store, OneStream("s-a", ExpectedVersion::Exact(2), {"three"}));
  EXPECT_THAT(positions, ElementsAre(3u));
  EXPECT_EQ(store->StreamVersion("s-a").value(), 3u);
}

TEST_F(EventStoreTest, WrongExpectedVersionIsConflictNamingStreamAndBothVersionsAndWritesNothing) {
  auto store = Open();
  MustAppend(*store, OneStream("order-x", ExpectedVersion::Any(), {"one", "two", "three"}));
  auto result = store->Append(OneStream("order-x", ExpectedVersion::Exact(9), {"four"}, "cmd-9"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kConflict);
  EXPECT_THAT(result.error().message, HasSubstr("order-x"));
  EXPECT_THAT(result.error().message, HasSubstr("version 3"));
  EXPECT_THAT(result.error().message, HasSubstr("version 9"));

  EXPECT_EQ(store->HeadPosition(), 3u);
  EXPECT_EQ(store->StreamVersion("order-x").value(), 3u);
  auto events = store->ReadStream("order-x", 1, 100);
  ASSERT_TRUE(events);
  EXPECT_THAT(PositionsOf(*events), ElementsAre(1u, 2u, 3u));
  // A rejected command id is not remembered: a corrected retry applies.
  EXPECT_FALSE(store->CommandPositions("cmd-9").value().has_value());
  auto retry = store->Append(OneStream("order-x", ExpectedVersion::Exact(3), {"four"}, "cmd-9"));
  ASSERT_TRUE(retry) << retry.error().message;
  EXPECT_FALSE(retry->duplicate);
  EXPECT_THAT(retry->positions, ElementsAre(4u));
}

TEST_F(EventStoreTest, SameCommandIdReturnsOriginalPositionsAsDuplicateAndWritesNothing) {
  auto store = Open();
  MustAppend(*store, OneStream("s-other", ExpectedVersion::Any(), {"before"}));
  auto first = store->Append(OneStream("s-a", ExpectedVersion::NoStream(), {"a", "b"}, "cmd-1"));
  ASSERT_TRUE(first);
  EXPECT_THAT(first->positions, ElementsAre(2u, 3u));
  EXPECT_FALSE(first->duplicate);

  // The retry's content and expected version are ignored: the command was applied.
  auto retry = store->Append(OneStream("s-a", ExpectedVersion::NoStream(), {"c"}, "cmd-1"));
  ASSERT_TRUE(retry) << retry.error().message;
  EXPECT_TRUE(retry->duplicate);
  EXPECT_THAT(retry->positions, ElementsAre(2u, 3u));
  EXPECT_EQ(store->HeadPosition(), 3u);
  EXPECT_EQ(store->StreamVersion("s-a").value(), 2u);
  EXPECT_EQ(All(*store).size(), 3u);
  EXPECT_THAT(store->CommandPositions("cmd-1").value().value(), ElementsAre(2u, 3u));
}

TEST_F(EventStoreTest, SameCommandIdIsDuplicateAfterReopen) {
  {
    auto store = Open();
    MustAppend(*store, OneStream("s-a", ExpectedVersion::Any(), {"a"}, "cmd-1"));
    MustAppend(*store, OneStream("s-b", ExpectedVersion::Any(), {"b", "c"}, "cmd-2"));
  }
  auto store = Open();
  auto retry = store->Append(OneStream("s-b", ExpectedVersion::Any(), {"d"}, "cmd-2"));
  ASSERT_TRUE(retry) << retry.error().message;
  EXPECT_TRUE(retry->duplicate);
  EXPECT_THAT(retry->positions, ElementsAre(2u, 3u));
  EXPECT_EQ(store->HeadPosition(), 3u);
  EXPECT_EQ(All(*store).size(), 3u);
}

TEST_F(EventStoreTest, SameCommandIdTwiceInOneBatchIsWrittenOnce) {
  auto store = Open();
  std::vector<AppendRequest> requests = {
      OneStream("s-a", ExpectedVersion::Any(), {"a"}, "cmd-1"),
      OneStream("s-a", ExpectedVersion::Any(), {"b"}, "cmd-1"),
  };
  auto results = store->AppendBatch(requests);
  ASSERT_EQ(results.size(), 2u);
  ASSERT_TRUE(results[0]);
  ASSERT_TRUE(results[1]);
  EXPECT_FALSE(results[0]->duplicate);
  EXPECT_TRUE(results[1]->duplicate);
  EXPECT_THAT(results[1]->positions, ElementsAre(1u));
  EXPECT_EQ(store->HeadPosition(), 1u);
}

TEST_F(EventStoreTest, MultiStreamAppendWritesEveryStreamInRequestOrder) {
  auto store = Open();
  auto positions =
      MustAppend(*store, Request({Notes("child-1", ExpectedVersion::NoStream(), {"c1", "c2"}),
                                  Notes("activity-1", ExpectedVersion::NoStream(), {"a1"})}));
  EXPECT_THAT(positions, ElementsAre(1u, 2u, 3u));
  EXPECT_EQ(store->StreamVersion("child-1").value(), 2u);
  EXPECT_EQ(store->StreamVersion("activity-1").value(), 1u);
  auto activity = store->ReadStream("activity-1", 1, 10);
  ASSERT_TRUE(activity);
  EXPECT_THAT(PositionsOf(*activity), ElementsAre(3u));
}

TEST_F(EventStoreTest, MultiStreamAppendWithOneWrongVersionWritesNeitherStream) {
  auto store = Open();
  MustAppend(*store, OneStream("activity-1", ExpectedVersion::Any(), {"created"}));
  auto result = store->Append(Request({Notes("child-1", ExpectedVersion::NoStream(), {"booked"}),
                                       Notes("activity-1", ExpectedVersion::Exact(5), {"taken"})},
                                      "cmd-book"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kConflict);
  EXPECT_THAT(result.error().message, HasSubstr("activity-1"));
  EXPECT_EQ(store->HeadPosition(), 1u);
  EXPECT_EQ(store->StreamVersion("child-1").value(), 0u);
  EXPECT_EQ(store->StreamVersion("activity-1").value(), 1u);
  EXPECT_THAT(store->ReadStream("child-1", 1, 10).value(), IsEmpty());
  EXPECT_FALSE(store->CommandPositions("cmd-book").value().has_value());
  EXPECT_EQ(All(*store).size(), 1u);
}

TEST_F(EventStoreTest, SameStreamTwiceInOneRequestIsInvalid) {
  auto store = Open();
  auto result = store->Append(Request({Notes("s-a", ExpectedVersion::Any(), {"one"}),
                                       Notes("s-a", ExpectedVersion::Any(), {"two"})}));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kInvalid);
  EXPECT_EQ(store->HeadPosition(), 0u);
}

TEST_F(EventStoreTest, EmptyStreamIdIsInvalid) {
  auto store = Open();
  auto result = store->Append(OneStream("", ExpectedVersion::Any(), {"one"}));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kInvalid);
  EXPECT_EQ(store->HeadPosition(), 0u);
}

TEST_F(EventStoreTest, FailingRequestInTheMiddleOfABatchLeavesTheOthersWrittenWithoutGaps) {
  auto store = Open();
  std::vector<AppendRequest> requests = {
      OneStream("s-a", ExpectedVersion::NoStream(), {"a1"}, "cmd-a"),
      OneStream("s-b", ExpectedVersion::Exact(5), {"b1"}, "cmd-b"),
      OneStream("s-c", ExpectedVersion::NoStream(), {"c1", "c2"}, "cmd-c"),
      // Sees s-a as written by the first request of the batch.
      OneStream("s-a", ExpectedVersion::Exact(1), {"a2"}, "cmd-a2"),
  };
  BatchStats stats;
  auto results = store->AppendBatch(requests, &stats);
  ASSERT_EQ(results.size(), 4u);
  ASSERT_TRUE(results[0]);
  ASSERT_FALSE(results[1]);
  ASSERT_TRUE(results[2]);
  ASSERT_TRUE(results[3]);
  EXPECT_EQ(results[1].error().code, ErrorCode::kConflict);
  EXPECT_THAT(results[0]->positions, ElementsAre(1u));
  EXPECT_THAT(results[2]->positions, ElementsAre(2u, 3u));
  EXPECT_THAT(results[3]->positions, ElementsAre(4u));
  EXPECT_EQ(stats.requests_written, 3u);
  EXPECT_EQ(stats.events_written, 4u);

  EXPECT_EQ(store->HeadPosition(), 4u);
  EXPECT_THAT(PositionsOf(All(*store)), ElementsAre(1u, 2u, 3u, 4u));
  EXPECT_EQ(store->StreamVersion("s-b").value(), 0u);
  EXPECT_FALSE(store->CommandPositions("cmd-b").value().has_value());
  auto report = store->Verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->problem;
}

TEST_F(EventStoreTest, EventsSurviveCloseAndReopen) {
  {
    auto store = Open();
    AppendFive(*store);
  }
  auto store = Open();
  EXPECT_EQ(store->HeadPosition(), 5u);
  auto events = All(*store);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(TextOf(events[4]), "note-5");
  EXPECT_EQ(store->StreamVersion("s-a").value(), 3u);
  // The stream versions and the hash chain carry on where they were.
  auto positions = MustAppend(*store, OneStream("s-a", ExpectedVersion::Exact(3), {"note-6"}));
  EXPECT_THAT(positions, ElementsAre(6u));
  auto report = store->Verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->problem;
  EXPECT_EQ(report->events_checked, 6u);
}

TEST_F(EventStoreTest, AClosedStoreRefusesReadsAndAppendsAsUnavailable) {
  auto store = Open();
  AppendFive(*store);
  store->Close();
  auto append = store->Append(OneStream("s-a", ExpectedVersion::Any(), {"late"}));
  ASSERT_FALSE(append);
  EXPECT_EQ(append.error().code, ErrorCode::kUnavailable);
  auto read = store->ReadAll(1, 10);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kUnavailable);
}

TEST_F(EventStoreTest, VerifyPassesOnACleanStore) {
  projections::EventCounts counts;
  auto store = Open({&counts});
  AppendFive(*store);
  auto report = store->Verify();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->ok()) << report->problem;
  EXPECT_EQ(report->events_checked, 5u);
  EXPECT_EQ(report->head_position, 5u);
}

TEST_F(EventStoreTest, VerifyPassesOnAnEmptyStore) {
  auto store = Open();
  auto report = store->Verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->problem;
  EXPECT_EQ(report->events_checked, 0u);
}

TEST_F(EventStoreTest, VerifyNamesThePositionOfAFlippedByte) {
  {
    auto store = Open();
    AppendFive(*store);
  }
  ASSERT_NO_FATAL_FAILURE(WithRawDb([](rocksdb::DB& db, auto& cfs) {
    std::string key = EncodeBigEndian64(3);
    std::string value;
    ASSERT_TRUE(db.Get(rocksdb::ReadOptions(), cfs.at("events"), key, &value).ok());
    size_t text = value.find("note-3");
    ASSERT_NE(text, std::string::npos);
    value[text + 2] ^= 0x01;  // "note-3" becomes "nnte-3"
    rocksdb::WriteOptions wo;
    wo.sync = true;
    ASSERT_TRUE(db.Put(wo, cfs.at("events"), key, value).ok());
  }));
  auto store = Open();
  auto report = store->Verify();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->ok());
  EXPECT_EQ(report->first_bad_position, 3u);
  EXPECT_THAT(report->problem, HasSubstr("hash"));
}

TEST_F(EventStoreTest, VerifyNamesTheMissingPositionOfADeletedRecord) {
  {
    auto store = Open();
    AppendFive(*store);
  }
  ASSERT_NO_FATAL_FAILURE(WithRawDb([](rocksdb::DB& db, auto& cfs) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    ASSERT_TRUE(db.Delete(wo, cfs.at("events"), EncodeBigEndian64(3)).ok());
  }));
  auto store = Open();
  auto report = store->Verify();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->ok());
  EXPECT_EQ(report->first_bad_position, 3u);
  EXPECT_THAT(report->problem, HasSubstr("missing"));
}

TEST_F(EventStoreTest, VerifyFailsWhenAStreamIndexEntryIsEdited) {
  {
    auto store = Open();
    AppendFive(*store);
  }
  // s-a holds positions 1, 3, 5: point its version 2 at position 1 instead of 3.
  ASSERT_NO_FATAL_FAILURE(WithRawDb([](rocksdb::DB& db, auto& cfs) {
    std::string key = std::string("s-a") + '\0' + EncodeBigEndian64(2);
    std::string value;
    ASSERT_TRUE(db.Get(rocksdb::ReadOptions(), cfs.at("streams"), key, &value).ok());
    ASSERT_EQ(DecodeBigEndian64(value), 3u);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    ASSERT_TRUE(db.Put(wo, cfs.at("streams"), key, EncodeBigEndian64(1)).ok());
  }));
  auto store = Open();
  auto report = store->Verify();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->ok());
  EXPECT_EQ(report->first_bad_position, 3u);
  EXPECT_THAT(report->problem, HasSubstr("stream index"));
}

TEST_F(EventStoreTest, VerifyFailsWhenAStreamIndexEntryIsAdded) {
  {
    auto store = Open();
    AppendFive(*store);
  }
  ASSERT_NO_FATAL_FAILURE(WithRawDb([](rocksdb::DB& db, auto& cfs) {
    std::string key = std::string("s-z") + '\0' + EncodeBigEndian64(1);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    ASSERT_TRUE(db.Put(wo, cfs.at("streams"), key, EncodeBigEndian64(2)).ok());
  }));
  auto store = Open();
  auto report = store->Verify();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->ok());
  EXPECT_EQ(report->first_bad_position, 2u);
  EXPECT_THAT(report->problem, HasSubstr("stream index"));
}

TEST_F(EventStoreTest, WaitForHeadReturnsWhenAnotherThreadAppends) {
  auto store = Open();
  std::latch waiting(1);
  std::thread writer([&] {
    waiting.wait();
    auto result = store->Append(OneStream("s-a", ExpectedVersion::Any(), {"wake"}));
    EXPECT_TRUE(result);
  });
  waiting.count_down();
  // The timeout is a safety net only: the append ends the wait.
  uint64_t head = store->WaitForHead(0, std::chrono::minutes(10));
  writer.join();
  EXPECT_EQ(head, 1u);
}

TEST_F(EventStoreTest, WaitForHeadReturnsTheOldHeadAfterTheTimeoutWhenNothingHappens) {
  auto store = Open();
  MustAppend(*store, OneStream("s-a", ExpectedVersion::Any(), {"one", "two"}));
  EXPECT_EQ(store->WaitForHead(2, std::chrono::milliseconds(20)), 2u);
  // A head already beyond the position returns at once.
  EXPECT_EQ(store->WaitForHead(1, std::chrono::minutes(10)), 2u);
}

TEST_F(EventStoreTest, ProjectionIsUpdatedInTheSameBatchAndItsCheckpointEqualsTheHead) {
  projections::EventCounts counts;
  auto store = Open({&counts});
  ASSERT_NE(store->View("event_counts"), nullptr);
  EXPECT_EQ(store->View("no_such_view"), nullptr);
  EXPECT_EQ(store->Checkpoint("event_counts").value(), 0u);
  EXPECT_THAT(projections::EventCounts::Read(*store->View("event_counts")), IsEmpty());

  MustAppend(*store, OneStream("s-a", ExpectedVersion::Any(), {"a", "b"}));
  std::vector<AppendRequest> batch = {OneStream("s-b", ExpectedVersion::Any(), {"c"}),
                                      OneStream("s-c", ExpectedVersion::Exact(4), {"x"}),
                                      OneStream("s-d", ExpectedVersion::Any(), {"d", "e"})};
  store->AppendBatch(batch);
  EXPECT_EQ(store->HeadPosition(), 5u);
  auto view = projections::EventCounts::Read(*store->View("event_counts"));
  EXPECT_EQ(view, (std::map<std::string, uint64_t>{{"OperatorNote", 5}}));
  EXPECT_EQ(store->Checkpoint("event_counts").value(), 5u);
  auto unknown = store->Checkpoint("no_such_view");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST_F(EventStoreTest, AnUnsyncedBatchIsInvisibleToReadersUntilPublished) {
  projections::EventCounts counts;
  auto store = Open({&counts});
  MustAppend(*store, OneStream("s-a", ExpectedVersion::Any(), {"a"}));
  std::vector<AppendRequest> first = {OneStream("s-a", ExpectedVersion::Exact(1), {"b"})};
  UnsyncedBatch written = store->WriteUnsynced(first);
  ASSERT_EQ(written.results.size(), 1u);
  ASSERT_TRUE(written.results[0].has_value());
  EXPECT_EQ(written.head, 2u);
  // Readers still see the last durable state...
  EXPECT_EQ(store->HeadPosition(), 1u);
  EXPECT_EQ(projections::EventCounts::Read(*store->View("event_counts")).at("OperatorNote"), 1u);
  // ...while the writer's next batch is checked against it.
  std::vector<AppendRequest> second = {OneStream("s-a", ExpectedVersion::Exact(2), {"c"})};
  UnsyncedBatch next = store->WriteUnsynced(second);
  ASSERT_TRUE(next.results[0].has_value()) << next.results[0].error().message;
  EXPECT_THAT(next.results[0]->positions, ElementsAre(3u));
  // One sync publishes both.
  ASSERT_TRUE(store->SyncAndPublish(next).has_value());
  EXPECT_EQ(store->HeadPosition(), 3u);
  EXPECT_EQ(projections::EventCounts::Read(*store->View("event_counts")).at("OperatorNote"), 3u);
  // An older batch published late never moves readers back.
  ASSERT_TRUE(store->SyncAndPublish(written).has_value());
  EXPECT_EQ(store->HeadPosition(), 3u);
  EXPECT_EQ(projections::EventCounts::Read(*store->View("event_counts")).at("OperatorNote"), 3u);
  auto report = store->Verify();
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->ok()) << report->problem;
}

TEST_F(EventStoreTest, ProjectionAddedAfterEventsWereAppendedCatchesUpOnReopen) {
  {
    auto store = Open();
    AppendFive(*store);
  }
  projections::EventCounts counts;
  auto store = Open({&counts});
  EXPECT_EQ(projections::EventCounts::Read(*store->View("event_counts")),
            (std::map<std::string, uint64_t>{{"OperatorNote", 5}}));
  EXPECT_EQ(store->Checkpoint("event_counts").value(), store->HeadPosition());
  EXPECT_EQ(store->HeadPosition(), 5u);
  MustAppend(*store, OneStream("s-a", ExpectedVersion::Any(), {"note-6"}));
  EXPECT_EQ(projections::EventCounts::Read(*store->View("event_counts"))["OperatorNote"], 6u);
  auto report = store->Verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->problem;
}

// A view whose row encoding is its format version: event at position p -> row "v<version>/<p>".
class VersionedView : public Projection {
 public:
  explicit VersionedView(uint32_t version) : version_(version) {}
  std::string_view name() const override { return "versioned"; }
  uint32_t format_version() const override { return version_; }
  void Apply(const schema::EventRecord& event, ViewWriter& rows) override {
    ++applied;
    rows.Put("v" + std::to_string(version_) + "/" + std::to_string(event.position()), "x");
  }
  static std::vector<std::string> Keys(const ViewReader& rows) {
    std::vector<std::string> keys;
    rows.Scan("", [&](std::string_view key, std::string_view) {
      keys.emplace_back(key);
      return true;
    });
    return keys;
  }
  int applied = 0;

 private:
  uint32_t version_;
};

TEST_F(EventStoreTest, AViewWhoseFormatVersionChangedIsRebuiltFromTheStartOnOpen) {
  {
    VersionedView v1(1);
    auto store = Open({&v1});
    AppendFive(*store);
    EXPECT_THAT(VersionedView::Keys(*store->View("versioned")),
                ElementsAre("v1/1", "v1/2", "v1/3", "v1/4", "v1/5"));
  }
  {
    VersionedView same(1);
    auto store = Open({&same});
    EXPECT_EQ(same.applied, 0);  // same format: nothing to redo
  }
  VersionedView v2(2);
  auto store = Open({&v2});
  EXPECT_EQ(v2.applied, 5);
  // The old rows are gone, every event is applied once more by the new code.
  EXPECT_THAT(VersionedView::Keys(*store->View("versioned")),
              ElementsAre("v2/1", "v2/2", "v2/3", "v2/4", "v2/5"));
  EXPECT_EQ(store->Checkpoint("versioned").value(), 5u);
  MustAppend(*store, OneStream("s-a", ExpectedVersion::Any(), {"note-6"}));
  EXPECT_EQ(VersionedView::Keys(*store->View("versioned")).back(), "v2/6");
  auto report = store->Verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->problem;
  store.reset();

  // The new version was recorded: reopening with it redoes nothing.
  VersionedView again(2);
  auto reopened = Open({&again});
  EXPECT_EQ(again.applied, 0);
  EXPECT_EQ(VersionedView::Keys(*reopened->View("versioned")).size(), 6u);
}

TEST_F(EventStoreTest, ReadOnlyStoreSeesThePrimarysEventsAfterRefreshAndRefusesAppends) {
  projections::EventCounts counts;
  auto primary = Open({&counts});
  MustAppend(*primary, OneStream("s-a", ExpectedVersion::Any(), {"one", "two"}));

  auto opened = EventStore::Open(ReadOnlyOptions(dir_.path(), dir_.Sub("secondary")));
  ASSERT_TRUE(opened) << opened.error().message;
  std::unique_ptr<EventStore> secondary = std::move(*opened);
  EXPECT_EQ(secondary->HeadPosition(), 2u);

  MustAppend(*primary, OneStream("s-b", ExpectedVersion::Any(), {"three"}));
  ASSERT_TRUE(secondary->Refresh());
  EXPECT_EQ(secondary->HeadPosition(), 3u);
  auto events = All(*secondary);
  EXPECT_THAT(PositionsOf(events), ElementsAre(1u, 2u, 3u));
  EXPECT_EQ(TextOf(events[2]), "three");
  EXPECT_EQ(secondary->StreamVersion("s-b").value(), 1u);
  auto report = secondary->Verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->problem;

  auto append = secondary->Append(OneStream("s-c", ExpectedVersion::Any(), {"refused"}));
  ASSERT_FALSE(append);
  EXPECT_EQ(append.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(primary->HeadPosition(), 3u);
}

TEST_F(EventStoreTest, ReadOnlyStoreOfAMissingDirectoryIsNotFound) {
  auto opened = EventStore::Open(ReadOnlyOptions(dir_.Sub("nothing-here"), dir_.Sub("secondary")));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kNotFound);
}

TEST(EncodeBigEndian64Test, RoundTripsAndSortsLikeTheNumbers) {
  EXPECT_EQ(EncodeBigEndian64(1), std::string("\0\0\0\0\0\0\0\1", 8));
  EXPECT_EQ(DecodeBigEndian64(EncodeBigEndian64(0x0102030405060708)), 0x0102030405060708u);
  EXPECT_LT(EncodeBigEndian64(255), EncodeBigEndian64(256));
}

}  // namespace
}  // namespace portail::events
