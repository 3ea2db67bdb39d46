// Tests of the message and read-marker deciders: who may write on which request, the text's
// limits, and the markers' events.
#include "commands/messages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "commands/planning.h"
#include "tests/commands/decider_test.h"

namespace portail::commands {
namespace {

using ::testing::ElementsAre;

class MessageDecidersTest : public DeciderTest {
 protected:
  MessageDecidersTest() {
    RegisterPlanningAggregates(registry_);
    schema::RequestSubmittedT submitted;
    submitted.request_id = "req-1";
    submitted.family_id = "fam-1";
    Add(RequestStream("req-1"), MakePayload(std::move(submitted)), 0);
  }

  static PostMessage Message(std::string text, std::string family = "fam-1",
                             std::string request = "req-1") {
    PostMessage message;
    message.request_id = std::move(request);
    message.family_id = std::move(family);
    message.from_town = true;
    message.text = std::move(text);
    message.by_name = "Agent Mairie";
    return message;
  }
};

TEST_F(MessageDecidersTest, AMessageIsAppendedToItsRequestAsPlainText) {
  auto decided = Decide(Message("Bonjour, <b>merci</b> &amp; à bientôt\nLa mairie"), 1);
  ASSERT_TRUE(decided.has_value()) << decided.error().message;
  EXPECT_THAT(StreamsOf(*decided), ElementsAre("request-req-1"));
  const auto& events = EventsTo(*decided, "request-req-1");
  ASSERT_EQ(events.size(), 1u);
  const auto* message = events[0].AsRequestMessage();
  ASSERT_NE(message, nullptr);
  EXPECT_EQ(message->text, "Bonjour, <b>merci</b> &amp; à bientôt\nLa mairie");
  EXPECT_TRUE(message->from_town);
  EXPECT_EQ(message->family_id, "fam-1");
  EXPECT_EQ(message->by_name, "Agent Mairie");
}

TEST_F(MessageDecidersTest, AnotherFamilysRequestOrAnUnknownOneIsNotFound) {
  EXPECT_THAT(Decide(Message("Bonjour", "fam-2"), 1), FailsWith(ErrorCode::kNotFound));
  EXPECT_THAT(Decide(Message("Bonjour", "fam-1", "req-9"), 1), FailsWith(ErrorCode::kNotFound));
}

TEST_F(MessageDecidersTest, TextMustBeOneToTwoThousandCharactersOfPrintableUtf8) {
  EXPECT_THAT(Decide(Message(""), 1), FailsWith(ErrorCode::kInvalid));
  EXPECT_THAT(Decide(Message(" \n\t "), 1), FailsWith(ErrorCode::kInvalid));
  EXPECT_THAT(Decide(Message(std::string(2001, 'a')), 1), FailsWith(ErrorCode::kInvalid));
  EXPECT_THAT(Decide(Message("bell\x07"), 1), FailsWith(ErrorCode::kInvalid));
  EXPECT_THAT(Decide(Message("\xc3\x28"), 1), FailsWith(ErrorCode::kInvalid));      // bad UTF-8
  EXPECT_THAT(Decide(Message("\xc0\xaf"), 1), FailsWith(ErrorCode::kInvalid));      // overlong
  EXPECT_THAT(Decide(Message("\xed\xa0\x80"), 1), FailsWith(ErrorCode::kInvalid));  // surrogate
  EXPECT_THAT(Decide(Message("\xe2\x82"), 1), FailsWith(ErrorCode::kInvalid));      // truncated
  // 2000 characters of two bytes each are within the limit: it counts characters, not bytes.
  std::string accents;
  for (int i = 0; i < 2000; ++i) accents += "é";
  EXPECT_TRUE(Decide(Message(accents), 1).has_value());
  EXPECT_TRUE(Decide(Message("x"), 1).has_value());
}

TEST_F(MessageDecidersTest, ReadMarkersGoToTheAccountsOwnStream) {
  MarkRequestRead read;
  read.account_id = "acc-1";
  read.request_id = "req-1";
  read.up_to_position = 42;
  auto decided = Decide(read, 1);
  ASSERT_TRUE(decided.has_value());
  EXPECT_THAT(TypesTo(*decided, "reads-acc-1"), ElementsAre("RequestRead"));
  const auto* marker = EventsTo(*decided, "reads-acc-1")[0].AsRequestRead();
  EXPECT_EQ(marker->up_to_position, 42u);
  EXPECT_EQ(marker->request_id, "req-1");

  MarkAllRead all;
  all.account_id = "acc-1";
  all.up_to_position = 43;
  auto all_decided = Decide(all, 1);
  ASSERT_TRUE(all_decided.has_value());
  EXPECT_THAT(TypesTo(*all_decided, "reads-acc-1"), ElementsAre("AllRequestsRead"));
  EXPECT_EQ(EventsTo(*all_decided, "reads-acc-1")[0].AsAllRequestsRead()->up_to_position, 43u);
}

TEST_F(MessageDecidersTest, AReadMarkerWithoutAPositionIsInvalid) {
  MarkRequestRead read;
  read.account_id = "acc-1";
  read.request_id = "req-1";
  EXPECT_THAT(Decide(read, 1), FailsWith(ErrorCode::kInvalid));
  MarkAllRead all;
  all.account_id = "acc-1";
  EXPECT_THAT(Decide(all, 1), FailsWith(ErrorCode::kInvalid));
}

}  // namespace
}  // namespace portail::commands
