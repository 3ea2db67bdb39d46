// Tests of the account and family deciders over states folded from hand-built events: no storage.
#include "commands/accounts.h"

#include <flatbuffers/flatbuffers.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <any>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "commands/aggregate.h"
#include "commands/clock.h"
#include "commands/command.h"
#include "events/stored_event.h"
#include "tests/commands/decider_test.h"

namespace portail::commands {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr Micros kSecond = 1'000'000;
constexpr Micros kMinute = 60 * kSecond;
constexpr Micros kHour = 60 * kMinute;
constexpr Micros kStart = 1'700'000'000'000'000;
constexpr Micros kActivationExpiry = kStart + 48 * kHour;

constexpr char kAccount[] = "acc-1";
constexpr char kEmail[] = "Ada@example.org";
constexpr char kEmailKey[] = "key-ada";
constexpr char kFamily[] = "fam-1";
constexpr char kCode[] = "code-hash-1";
constexpr char kAgent[] = "agent-7";

LoginReply ReplyOf(const Decision& decision) { return std::any_cast<LoginReply>(decision.reply); }

class AccountDecidersTest : public DeciderTest {
 protected:
  AccountDecidersTest() { RegisterAccountAggregates(registry_); }

  const AccountState& Account(const std::string& id = kAccount) {
    return dynamic_cast<const AccountState&>(State(AccountStream(id)));
  }
  const FamilyState& Family(const std::string& id = kFamily) {
    return dynamic_cast<const FamilyState&>(State(FamilyStream(id)));
  }

  static RegisterAccount Registration() {
    RegisterAccount command;
    command.account_id = kAccount;
    command.email = kEmail;
    command.email_key = kEmailKey;
    command.first_name = "Ada";
    command.last_name = "Lovelace";
    command.password_hash = "pw-hash-1";
    command.activation = {"act-id-1", "act-hash-1", kActivationExpiry};
    command.mail_id = "mail-1";
    return command;
  }

  static ActivateAccount Activation(std::string token_hash) {
    ActivateAccount command;
    command.account_id = kAccount;
    command.token_hash = std::move(token_hash);
    return command;
  }

  static ResendActivation Resend(std::string id, std::string hash, Micros expires) {
    ResendActivation command;
    command.account_id = kAccount;
    command.activation = {std::move(id), std::move(hash), expires};
    command.mail_id = "mail-resend";
    return command;
  }

  static RecordLogin Login(bool password_ok, std::string session_hash = "sess-1") {
    RecordLogin command;
    command.account_id = kAccount;
    command.password_ok = password_ok;
    command.session_hash = std::move(session_hash);
    command.client = "firefox";
    return command;
  }

  static LockAccount Lock() {
    LockAccount command;
    command.account_id = kAccount;
    command.reason = "suspicious activity";
    command.actor = kAgent;
    return command;
  }

  static UnlockAccount Unlock() {
    UnlockAccount command;
    command.account_id = kAccount;
    command.actor = kAgent;
    return command;
  }

  static EndSession End(std::string session_hash) {
    EndSession command;
    command.account_id = kAccount;
    command.session_hash = std::move(session_hash);
    return command;
  }

  static RequestPasswordReset ResetRequest(Micros expires) {
    RequestPasswordReset command;
    command.account_id = kAccount;
    command.reset = {"rst-id-1", "rst-hash-1", expires};
    command.mail_id = "mail-reset";
    return command;
  }

  static ResetPassword Reset(std::string token_hash) {
    ResetPassword command;
    command.account_id = kAccount;
    command.token_hash = std::move(token_hash);
    command.password_hash = "pw-hash-2";
    return command;
  }

  static Subscribe SubscribeTo(std::string family_id) {
    Subscribe command;
    command.account_id = kAccount;
    command.family_id = std::move(family_id);
    return command;
  }

  static Unsubscribe UnsubscribeFrom(std::string family_id) {
    Unsubscribe command;
    command.account_id = kAccount;
    command.family_id = std::move(family_id);
    return command;
  }

  static RegisterFamily FamilyRegistration(std::string code_hash = kCode) {
    RegisterFamily command;
    command.family_id = kFamily;
    command.name = "Lovelace";
    command.code_hash = std::move(code_hash);
    return command;
  }

  static RegenerateSubscriberCode NewCode(std::string family_id, std::string code_hash) {
    RegenerateSubscriberCode command;
    command.family_id = std::move(family_id);
    command.code_hash = std::move(code_hash);
    return command;
  }

  // The family kFamily, registered at kStart.
  void GivenFamily() {
    schema::FamilyRegisteredT registered;
    registered.family_id = kFamily;
    registered.name = "Lovelace";
    registered.code_hash = kCode;
    Add(FamilyStream(kFamily), MakePayload(std::move(registered)), kStart);
  }

  // kAccount, registered at kStart and not yet activated.
  void GivenPendingAccount() { Run(Registration(), kStart); }

  // kAccount, registered at kStart and activated a minute later.
  void GivenActiveAccount() {
    GivenPendingAccount();
    Run(Activation("act-hash-1"), kStart + kMinute);
  }

  // Records `count` wrong passwords, each as soon as the backoff allows, the first at `from`.
  // Returns the time of the last one.
  Micros FailLogins(int count, Micros from) {
    Micros at = from;
    for (int i = 0; i < count; ++i) {
      at += LoginPolicy().Backoff(Account().failures);
      Run(Login(false), at);
    }
    return at;
  }

 private:
};

// ---- RegisterAccount ----

TEST_F(AccountDecidersTest, RegisteringANewEmailCreatesAPendingAccountAndMailsTheActivationLink) {
  auto decided = Decide(Registration(), kStart);
  ASSERT_TRUE(decided.has_value()) << decided.error().message;

  EXPECT_THAT(StreamsOf(*decided),
              ElementsAre(AccountStream(kAccount), EmailStream(kEmailKey), "outbox"));
  ASSERT_THAT(TypesTo(*decided, AccountStream(kAccount)),
              ElementsAre("AccountRegistered", "ActivationIssued"));
  const auto& account_events = EventsTo(*decided, AccountStream(kAccount));
  const auto* registered = account_events[0].AsAccountRegistered();
  EXPECT_EQ(registered->account_id, kAccount);
  EXPECT_EQ(registered->email, kEmail);
  EXPECT_EQ(registered->password_hash, "pw-hash-1");
  EXPECT_EQ(registered->role, schema::Role::Family);
  const auto* issued = account_events[1].AsActivationIssued();
  EXPECT_EQ(issued->token_id, "act-id-1");
  EXPECT_EQ(issued->token_hash, "act-hash-1");
  EXPECT_EQ(issued->expires_at_us, kActivationExpiry);

  ASSERT_THAT(TypesTo(*decided, EmailStream(kEmailKey)), ElementsAre("EmailClaimed"));
  EXPECT_EQ(EventsTo(*decided, EmailStream(kEmailKey))[0].AsEmailClaimed()->account_id, kAccount);

  ASSERT_THAT(TypesTo(*decided, kOutboxStream), ElementsAre("MailQueued"));
  const auto* mail = EventsTo(*decided, kOutboxStream)[0].AsMailQueued();
  EXPECT_EQ(mail->kind, "activation");
  EXPECT_EQ(mail->mail_id, "mail-1");
  EXPECT_EQ(mail->to, kEmail);
  EXPECT_EQ(mail->account_id, kAccount);
  EXPECT_EQ(mail->token_id, "act-id-1");
  EXPECT_EQ(mail->expires_at_us, kActivationExpiry);

  Fold(*decided, kStart);
  EXPECT_TRUE(Account().exists);
  EXPECT_FALSE(Account().active);
  EXPECT_EQ(Account().activation_hash, "act-hash-1");
  EXPECT_EQ(Account().activation_expires, kActivationExpiry);
  EXPECT_EQ(dynamic_cast<const EmailState&>(State(EmailStream(kEmailKey))).account_id, kAccount);
}

TEST_F(AccountDecidersTest, RegisteringWithAnExistingFamilySubscribesAtOnce) {
  GivenFamily();
  auto command = Registration();
  command.family_id = kFamily;

  Decision decision = Run(command, kStart);

  ASSERT_THAT(TypesTo(decision, AccountStream(kAccount)),
              ElementsAre("AccountRegistered", "ActivationIssued", "Subscribed"));
  EXPECT_EQ(EventsTo(decision, AccountStream(kAccount))[2].AsSubscribed()->family_id, kFamily);
  EXPECT_THAT(Account().subscriptions, ElementsAre(kFamily));
}

TEST_F(AccountDecidersTest, RegisteringWithAFamilyThatDoesNotExistIsNotFound) {
  auto command = Registration();
  command.family_id = "fam-missing";

  EXPECT_THAT(Decide(command, kStart), FailsWith(ErrorCode::kNotFound));
}

TEST_F(AccountDecidersTest, RegisteringATakenEmailTellsItsOwnerAndCreatesNothing) {
  schema::EmailClaimedT claimed;
  claimed.account_id = "acc-owner";
  Add(EmailStream(kEmailKey), MakePayload(std::move(claimed)), kStart);

  auto decided = Decide(Registration(), kStart + kHour);
  ASSERT_TRUE(decided.has_value()) << decided.error().message;

  EXPECT_THAT(StreamsOf(*decided), ElementsAre(AccountStream("acc-owner"), "outbox"));
  EXPECT_THAT(TypesTo(*decided, AccountStream("acc-owner")), ElementsAre("RegistrationRepeated"));
  ASSERT_THAT(TypesTo(*decided, kOutboxStream), ElementsAre("MailQueued"));
  const auto* mail = EventsTo(*decided, kOutboxStream)[0].AsMailQueued();
  EXPECT_EQ(mail->kind, "already_registered");
  EXPECT_EQ(mail->to, kEmail);
  EXPECT_EQ(mail->account_id, "acc-owner");
  EXPECT_EQ(mail->token_id, "");
  for (const auto& append : decided->appends) {
    for (const auto& event : append.events) {
      EXPECT_NE(event.type, schema::Payload::AccountRegistered) << "in " << append.stream;
    }
  }
}

TEST_F(AccountDecidersTest, RegisteringAStaffMemberWithATakenEmailIsAlreadyExists) {
  schema::EmailClaimedT claimed;
  claimed.account_id = "acc-owner";
  Add(EmailStream(kEmailKey), MakePayload(std::move(claimed)), kStart);
  auto command = Registration();
  command.role = schema::Role::Agent;

  EXPECT_THAT(Decide(command, kStart + kHour), FailsWith(ErrorCode::kAlreadyExists));
}

TEST_F(AccountDecidersTest, RegisteringAStaffMemberCreatesAnActiveAccountWithoutMail) {
  auto command = Registration();
  command.role = schema::Role::Agent;

  Decision decision = Run(command, kStart);

  EXPECT_THAT(StreamsOf(decision), ElementsAre(AccountStream(kAccount), EmailStream(kEmailKey)));
  EXPECT_THAT(TypesTo(decision, AccountStream(kAccount)),
              ElementsAre("AccountRegistered", "AccountActivated"));
  EXPECT_THAT(TypesTo(decision, kOutboxStream), IsEmpty());
  EXPECT_TRUE(Account().active);
  EXPECT_EQ(Account().role, schema::Role::Agent);
  EXPECT_TRUE(ReplyOf(Run(Login(true), kStart + kMinute)).ok);
}

TEST_F(AccountDecidersTest, RegisteringAnAccountIdAlreadyInUseIsAConflict) {
  GivenPendingAccount();
  auto command = Registration();
  command.email_key = "key-other";

  EXPECT_THAT(Decide(command, kStart + kMinute), FailsWith(ErrorCode::kConflict));
}

// ---- ActivateAccount ----

TEST_F(AccountDecidersTest, ActivatingWithTheLiveTokenBeforeExpiryActivatesTheAccount) {
  GivenPendingAccount();

  Decision decision = Run(Activation("act-hash-1"), kActivationExpiry - 1);

  ASSERT_THAT(TypesTo(decision, AccountStream(kAccount)), ElementsAre("AccountActivated"));
  EXPECT_EQ(EventsTo(decision, AccountStream(kAccount))[0].AsAccountActivated()->token_hash,
            "act-hash-1");
  EXPECT_TRUE(Account().active);
  EXPECT_EQ(Account().activation_hash, "");
}

TEST_F(AccountDecidersTest, ActivatingAtOrAfterTheExpiryIsGone) {
  GivenPendingAccount();

  EXPECT_THAT(Decide(Activation("act-hash-1"), kActivationExpiry), FailsWith(ErrorCode::kGone));
  auto late = Decide(Activation("act-hash-1"), kActivationExpiry + kHour);
  ASSERT_THAT(late, FailsWith(ErrorCode::kGone));
  EXPECT_THAT(late.error().message, HasSubstr("expired"));
}

TEST_F(AccountDecidersTest, ActivatingWithAReplacedTokenIsGone) {
  GivenPendingAccount();
  Run(Resend("act-id-2", "act-hash-2", kStart + 72 * kHour), kStart + kHour);

  auto replaced = Decide(Activation("act-hash-1"), kStart + 2 * kHour);
  ASSERT_THAT(replaced, FailsWith(ErrorCode::kGone));
  EXPECT_THAT(replaced.error().message, HasSubstr("replaced"));
  EXPECT_TRUE(Decide(Activation("act-hash-2"), kStart + 2 * kHour).has_value());
}

TEST_F(AccountDecidersTest, ActivatingTwiceIsGoneAsAlreadyUsed) {
  GivenPendingAccount();
  Run(Activation("act-hash-1"), kStart + kHour);

  auto again = Decide(Activation("act-hash-1"), kStart + 2 * kHour);

  ASSERT_THAT(again, FailsWith(ErrorCode::kGone));
  EXPECT_THAT(again.error().message, HasSubstr("already used"));
}

TEST_F(AccountDecidersTest, ActivatingAnUnknownAccountIsNotFound) {
  EXPECT_THAT(Decide(Activation("act-hash-1"), kStart), FailsWith(ErrorCode::kNotFound));
}

// ---- ResendActivation ----

TEST_F(AccountDecidersTest, ResendingToAPendingAccountIssuesANewLinkAndMailsIt) {
  GivenPendingAccount();
  const Micros expires = kStart + 72 * kHour;

  Decision decision = Run(Resend("act-id-2", "act-hash-2", expires), kStart + kHour);

  ASSERT_THAT(TypesTo(decision, AccountStream(kAccount)), ElementsAre("ActivationIssued"));
  const auto* issued = EventsTo(decision, AccountStream(kAccount))[0].AsActivationIssued();
  EXPECT_EQ(issued->token_hash, "act-hash-2");
  EXPECT_EQ(issued->expires_at_us, expires);
  ASSERT_THAT(TypesTo(decision, kOutboxStream), ElementsAre("MailQueued"));
  const auto* mail = EventsTo(decision, kOutboxStream)[0].AsMailQueued();
  EXPECT_EQ(mail->kind, "activation");
  EXPECT_EQ(mail->to, kEmail);
  EXPECT_EQ(mail->first_name, "Ada");
  EXPECT_EQ(mail->token_id, "act-id-2");
  EXPECT_EQ(mail->expires_at_us, expires);
  EXPECT_EQ(Account().activation_hash, "act-hash-2");
}

TEST_F(AccountDecidersTest, ResendingToAnActiveAccountAppendsNothing) {
  GivenActiveAccount();

  auto decided = Decide(Resend("act-id-2", "act-hash-2", kStart + 72 * kHour), kStart + kHour);

  ASSERT_TRUE(decided.has_value()) << decided.error().message;
  EXPECT_THAT(decided->appends, IsEmpty());
}

TEST_F(AccountDecidersTest, ResendingToAnUnknownAccountAppendsNothing) {
  auto decided = Decide(Resend("act-id-2", "act-hash-2", kStart + 72 * kHour), kStart);

  ASSERT_TRUE(decided.has_value()) << decided.error().message;
  EXPECT_THAT(decided->appends, IsEmpty());
}

// ---- RecordLogin ----

TEST_F(AccountDecidersTest, LoginWithTheRightPasswordStartsASession) {
  GivenActiveAccount();
  const Micros now = kStart + kHour;
  auto command = Login(true);

  Decision decision = Run(command, now);

  EXPECT_TRUE(ReplyOf(decision).ok);
  ASSERT_THAT(TypesTo(decision, AccountStream(kAccount)), ElementsAre("SessionStarted"));
  const auto* started = EventsTo(decision, AccountStream(kAccount))[0].AsSessionStarted();
  EXPECT_EQ(started->session_hash, "sess-1");
  EXPECT_EQ(started->expires_at_us, now + command.session_lifetime);
  EXPECT_EQ(started->client, "firefox");
  EXPECT_THAT(Account().sessions, ElementsAre(testing::Key("sess-1")));
}

TEST_F(AccountDecidersTest, LoginWithAWrongPasswordRecordsAFailure) {
  GivenActiveAccount();

  Decision decision = Run(Login(false), kStart + kHour);

  EXPECT_FALSE(ReplyOf(decision).ok);
  EXPECT_EQ(ReplyOf(decision).code, ErrorCode::kUnauthenticated);
  EXPECT_THAT(TypesTo(decision, AccountStream(kAccount)), ElementsAre("LoginFailed"));
  EXPECT_EQ(Account().failures, 1);
  EXPECT_THAT(Account().sessions, IsEmpty());
}

TEST_F(AccountDecidersTest, LoginToAnUnknownAccountIsNotFound) {
  EXPECT_THAT(Decide(Login(true), kStart), FailsWith(ErrorCode::kNotFound));
}

TEST_F(AccountDecidersTest, AfterThreeFailuresAnAttemptWithinTheBackoffIsRefusedUnrecorded) {
  GivenActiveAccount();
  const Micros last = FailLogins(3, kStart + kHour);
  ASSERT_EQ(last, kStart + kHour);  // no backoff before the third failure

  auto refused = Decide(Login(true), last + kSecond - 1);

  ASSERT_TRUE(refused.has_value()) << refused.error().message;
  EXPECT_THAT(refused->appends, IsEmpty());
  EXPECT_EQ(ReplyOf(*refused).code, ErrorCode::kTooManyRequests);
  EXPECT_THAT(ReplyOf(*refused).message, HasSubstr("retry in 1 s"));
  Decision allowed = Run(Login(true), last + kSecond);
  EXPECT_TRUE(ReplyOf(allowed).ok);
  EXPECT_THAT(TypesTo(allowed, AccountStream(kAccount)), ElementsAre("SessionStarted"));
}

TEST_F(AccountDecidersTest, TheTenthConsecutiveFailureAlsoLocksTheAccountForThirtyMinutes) {
  GivenActiveAccount();
  const Micros ninth = FailLogins(9, kStart + kHour);
  ASSERT_EQ(Account().failures, 9);
  const Micros tenth = ninth + LoginPolicy().Backoff(9);

  Decision decision = Run(Login(false), tenth);

  EXPECT_EQ(ReplyOf(decision).code, ErrorCode::kUnauthenticated);
  ASSERT_THAT(TypesTo(decision, AccountStream(kAccount)),
              ElementsAre("LoginFailed", "AccountLocked"));
  const auto* locked = EventsTo(decision, AccountStream(kAccount))[1].AsAccountLocked();
  EXPECT_EQ(locked->until_us, tenth + 30 * kMinute);
  EXPECT_EQ(locked->by, "system");
  EXPECT_TRUE(Account().LockedAt(tenth + 30 * kMinute - 1));
  EXPECT_FALSE(Account().locked_by_agent);
}

TEST_F(AccountDecidersTest, NoFailureBeforeTheTenthLocksTheAccount) {
  GivenActiveAccount();
  Micros at = kStart + kHour;
  for (int i = 0; i < 9; ++i) {
    at += LoginPolicy().Backoff(Account().failures);
    Decision decision = Run(Login(false), at);
    EXPECT_THAT(TypesTo(decision, AccountStream(kAccount)), ElementsAre("LoginFailed"))
        << "failure " << i + 1;
  }
  EXPECT_FALSE(Account().LockedAt(at));
}

TEST_F(AccountDecidersTest, ALockedAccountRefusesLoginsWithoutRecordingThem) {
  GivenActiveAccount();
  const Micros tenth = FailLogins(10, kStart + kHour);
  const Micros until = tenth + 30 * kMinute;

  for (bool password_ok : {true, false}) {
    auto decided = Decide(Login(password_ok), until - 1);
    ASSERT_TRUE(decided.has_value()) << decided.error().message;
    EXPECT_THAT(decided->appends, IsEmpty()) << "password_ok " << password_ok;
    EXPECT_FALSE(ReplyOf(*decided).ok);
    EXPECT_EQ(ReplyOf(*decided).code, ErrorCode::kLocked);
  }
}

TEST_F(AccountDecidersTest, ALoginWorksAgainOnceTheLockHasExpired) {
  GivenActiveAccount();
  const Micros tenth = FailLogins(10, kStart + kHour);

  Decision decision = Run(Login(true), tenth + 30 * kMinute);

  EXPECT_TRUE(ReplyOf(decision).ok);
  EXPECT_THAT(TypesTo(decision, AccountStream(kAccount)), ElementsAre("SessionStarted"));
  EXPECT_EQ(Account().failures, 0);
}

TEST_F(AccountDecidersTest, SessionsPastTheirExpiryAreForgottenAtTheNextLogin) {
  GivenActiveAccount();
  Run(Login(true, "old"), kStart + kHour);
  Run(Login(true, "recent"), kStart + 2 * kHour);
  // 12 h later "old" has expired, "recent" has not: the next login keeps only live ones.
  Run(Login(true, "new"), kStart + 13 * kHour);
  EXPECT_THAT(Account().sessions, ElementsAre(testing::Key("new"), testing::Key("recent")));
}

TEST_F(AccountDecidersTest, AServedSystemLockStartsANewCountOfFailures) {
  GivenActiveAccount();
  const Micros tenth = FailLogins(10, kStart + kHour);
  Micros at = tenth + 30 * kMinute;

  // One wrong password after the lock is the first of a new count: no new lock, no backoff.
  Decision first = Run(Login(false), at);
  EXPECT_THAT(TypesTo(first, AccountStream(kAccount)), ElementsAre("LoginFailed"));
  EXPECT_EQ(Account().CountedFailures(at), 1);
  EXPECT_FALSE(Account().LockedAt(at));
  // Nine more (spaced by the backoff) lock it again.
  for (int i = 1; i < 10; ++i) {
    at += LoginPolicy().Backoff(Account().CountedFailures(at));
    Run(Login(false), at);
  }
  EXPECT_TRUE(Account().LockedAt(at));
}

TEST_F(AccountDecidersTest, ASuccessfulLoginResetsTheFailureCount) {
  GivenActiveAccount();
  const Micros fifth = FailLogins(5, kStart + kHour);
  ASSERT_EQ(Account().failures, 5);
  const Micros login = fifth + LoginPolicy().Backoff(5);

  Run(Login(true), login);

  EXPECT_EQ(Account().failures, 0);
  // With the count reset, the next attempt needs no wait.
  Decision next = Run(Login(false), login + 1);
  EXPECT_THAT(TypesTo(next, AccountStream(kAccount)), ElementsAre("LoginFailed"));
  EXPECT_EQ(Account().failures, 1);
}

TEST_F(AccountDecidersTest, LoginToANotActivatedAccountWithTheRightPasswordIsForbidden) {
  GivenPendingAccount();

  auto decided = Decide(Login(true), kStart + kHour);

  ASSERT_TRUE(decided.has_value()) << decided.error().message;
  EXPECT_THAT(decided->appends, IsEmpty());
  EXPECT_FALSE(ReplyOf(*decided).ok);
  EXPECT_EQ(ReplyOf(*decided).code, ErrorCode::kForbidden);
}

TEST(LoginPolicyTest, BackoffIsZeroBelowThreeFailuresThenDoublesFromOneSecondUpToAMinute) {
  LoginPolicy policy;
  std::vector<Micros> seconds;
  for (int failures = 0; failures <= 12; ++failures) {
    seconds.push_back(policy.Backoff(failures) / kSecond);
  }
  EXPECT_THAT(seconds, ElementsAre(0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60, 60));
  EXPECT_EQ(policy.Backoff(1000), 60 * kSecond);
}

// ---- LockAccount, UnlockAccount, EndSession ----

TEST_F(AccountDecidersTest, AnAgentLockEndsEverySessionUntilUnlocked) {
  GivenActiveAccount();
  Run(Login(true, "sess-1"), kStart + kHour);
  Run(Login(true, "sess-2"), kStart + kHour);
  ASSERT_EQ(Account().sessions.size(), 2u);

  Decision decision = Run(Lock(), kStart + 2 * kHour);

  ASSERT_THAT(TypesTo(decision, AccountStream(kAccount)),
              ElementsAre("AccountLocked", "SessionEnded"));
  const auto& events = EventsTo(decision, AccountStream(kAccount));
  EXPECT_EQ(events[0].AsAccountLocked()->until_us, 0);
  EXPECT_EQ(events[0].AsAccountLocked()->by, kAgent);
  EXPECT_EQ(events[0].AsAccountLocked()->reason, "suspicious activity");
  EXPECT_EQ(events[1].AsSessionEnded()->session_hash, "");
  EXPECT_EQ(events[1].AsSessionEnded()->reason, "locked");
  EXPECT_THAT(Account().sessions, IsEmpty());
  EXPECT_TRUE(Account().LockedAt(kStart + 1000 * kHour));
  EXPECT_EQ(ReplyOf(Run(Login(true), kStart + 1000 * kHour)).code, ErrorCode::kLocked);
}

TEST_F(AccountDecidersTest, LockingALockedAccountAppendsNothing) {
  GivenActiveAccount();
  Run(Lock(), kStart + kHour);

  auto decided = Decide(Lock(), kStart + 2 * kHour);

  ASSERT_TRUE(decided.has_value()) << decided.error().message;
  EXPECT_THAT(decided->appends, IsEmpty());
}

TEST_F(AccountDecidersTest, LockingAnUnknownAccountIsNotFound) {
  EXPECT_THAT(Decide(Lock(), kStart), FailsWith(ErrorCode::kNotFound));
}

TEST_F(AccountDecidersTest, UnlockingLiftsTheLockAndForgetsTheFailures) {
  GivenActiveAccount();
  const Micros fourth = FailLogins(4, kStart + kHour);
  Run(Lock(), fourth);

  Decision decision = Run(Unlock(), fourth + kSecond);

  ASSERT_THAT(TypesTo(decision, AccountStream(kAccount)), ElementsAre("AccountUnlocked"));
  EXPECT_EQ(EventsTo(decision, AccountStream(kAccount))[0].AsAccountUnlocked()->by, kAgent);
  EXPECT_FALSE(Account().LockedAt(fourth + kSecond));
  EXPECT_EQ(Account().failures, 0);
  // No backoff is left from the four failures (it would be 2 s).
  EXPECT_TRUE(ReplyOf(Run(Login(true), fourth + kSecond)).ok);
}

TEST_F(AccountDecidersTest, UnlockingAnAccountWithNothingToLiftAppendsNothing) {
  GivenActiveAccount();

  auto decided = Decide(Unlock(), kStart + kHour);

  ASSERT_TRUE(decided.has_value()) << decided.error().message;
  EXPECT_THAT(decided->appends, IsEmpty());
}

TEST_F(AccountDecidersTest, EndingALiveSessionEndsOnlyThatOne) {
  GivenActiveAccount();
  Run(Login(true, "sess-1"), kStart + kHour);
  Run(Login(true, "sess-2"), kStart + kHour);

  Decision decision = Run(End("sess-1"), kStart + 2 * kHour);

  ASSERT_THAT(TypesTo(decision, AccountStream(kAccount)), ElementsAre("SessionEnded"));
  const auto* ended = EventsTo(decision, AccountStream(kAccount))[0].AsSessionEnded();
  EXPECT_EQ(ended->session_hash, "sess-1");
  EXPECT_EQ(ended->reason, "logout");
  EXPECT_THAT(Account().sessions, ElementsAre(testing::Key("sess-2")));
}

TEST_F(AccountDecidersTest, EndingAnUnknownSessionAppendsNothing) {
  GivenActiveAccount();
  Run(Login(true, "sess-1"), kStart + kHour);

  auto decided = Decide(End("sess-unknown"), kStart + 2 * kHour);

  ASSERT_TRUE(decided.has_value()) << decided.error().message;
  EXPECT_THAT(decided->appends, IsEmpty());
}

// ---- RequestPasswordReset, ResetPassword ----

TEST_F(AccountDecidersTest, RequestingAResetMailsALinkToAnActiveAccount) {
  GivenActiveAccount();
  const Micros expires = kStart + 2 * kHour;

  Decision decision = Run(ResetRequest(expires), kStart + kHour);

  ASSERT_THAT(TypesTo(decision, AccountStream(kAccount)), ElementsAre("PasswordResetIssued"));
  EXPECT_EQ(EventsTo(decision, AccountStream(kAccount))[0].AsPasswordResetIssued()->token_hash,
            "rst-hash-1");
  ASSERT_THAT(TypesTo(decision, kOutboxStream), ElementsAre("MailQueued"));
  const auto* mail = EventsTo(decision, kOutboxStream)[0].AsMailQueued();
  EXPECT_EQ(mail->kind, "password_reset");
  EXPECT_EQ(mail->token_id, "rst-id-1");
  EXPECT_EQ(mail->expires_at_us, expires);
}

TEST_F(AccountDecidersTest, RequestingAResetForAPendingAccountAppendsNothing) {
  GivenPendingAccount();

  auto decided = Decide(ResetRequest(kStart + 2 * kHour), kStart + kHour);

  ASSERT_TRUE(decided.has_value()) << decided.error().message;
  EXPECT_THAT(decided->appends, IsEmpty());
}

TEST_F(AccountDecidersTest, ResettingWithTheRightTokenChangesThePasswordAndEndsEverySession) {
  GivenActiveAccount();
  Run(Login(true, "sess-1"), kStart + kHour);
  Run(Login(true, "sess-2"), kStart + kHour);
  Run(ResetRequest(kStart + 3 * kHour), kStart + kHour);

  Decision decision = Run(Reset("rst-hash-1"), kStart + 2 * kHour);

  ASSERT_THAT(TypesTo(decision, AccountStream(kAccount)),
              ElementsAre("PasswordChanged", "SessionEnded"));
  const auto& events = EventsTo(decision, AccountStream(kAccount));
  EXPECT_EQ(events[0].AsPasswordChanged()->password_hash, "pw-hash-2");
  EXPECT_EQ(events[0].AsPasswordChanged()->token_hash, "rst-hash-1");
  EXPECT_EQ(events[1].AsSessionEnded()->session_hash, "");
  EXPECT_EQ(events[1].AsSessionEnded()->reason, "password_reset");
  EXPECT_EQ(Account().password_hash, "pw-hash-2");
  EXPECT_THAT(Account().sessions, IsEmpty());
}

TEST_F(AccountDecidersTest, ResettingWithAnExpiredTokenIsGone) {
  GivenActiveAccount();
  const Micros expires = kStart + 2 * kHour;
  Run(ResetRequest(expires), kStart + kHour);

  auto decided = Decide(Reset("rst-hash-1"), expires);

  ASSERT_THAT(decided, FailsWith(ErrorCode::kGone));
  EXPECT_THAT(decided.error().message, HasSubstr("expired"));
  EXPECT_EQ(Account().password_hash, "pw-hash-1");
}

TEST_F(AccountDecidersTest, ResettingTwiceWithTheSameTokenIsGone) {
  GivenActiveAccount();
  Run(ResetRequest(kStart + 3 * kHour), kStart + kHour);
  Run(Reset("rst-hash-1"), kStart + 2 * kHour);

  auto again = Decide(Reset("rst-hash-1"), kStart + 2 * kHour + kMinute);

  ASSERT_THAT(again, FailsWith(ErrorCode::kGone));
  EXPECT_THAT(again.error().message, HasSubstr("already used"));
}

// ---- Subscribe, Unsubscribe ----

TEST_F(AccountDecidersTest, SubscribingToAnExistingFamilyRecordsTheSubscription) {
  GivenFamily();
  GivenActiveAccount();

  Decision decision = Run(SubscribeTo(kFamily), kStart + kHour);

  ASSERT_THAT(TypesTo(decision, AccountStream(kAccount)), ElementsAre("Subscribed"));
  EXPECT_EQ(EventsTo(decision, AccountStream(kAccount))[0].AsSubscribed()->family_id, kFamily);
  EXPECT_THAT(Account().subscriptions, ElementsAre(kFamily));
}

TEST_F(AccountDecidersTest, SubscribingTwiceAppendsNothing) {
  GivenFamily();
  GivenActiveAccount();
  Run(SubscribeTo(kFamily), kStart + kHour);

  auto decided = Decide(SubscribeTo(kFamily), kStart + 2 * kHour);

  ASSERT_TRUE(decided.has_value()) << decided.error().message;
  EXPECT_THAT(decided->appends, IsEmpty());
}

TEST_F(AccountDecidersTest, SubscribingToAMissingFamilyIsNotFound) {
  GivenActiveAccount();

  EXPECT_THAT(Decide(SubscribeTo("fam-missing"), kStart + kHour), FailsWith(ErrorCode::kNotFound));
}

TEST_F(AccountDecidersTest, UnsubscribingRemovesTheSubscription) {
  GivenFamily();
  GivenActiveAccount();
  Run(SubscribeTo(kFamily), kStart + kHour);

  Decision decision = Run(UnsubscribeFrom(kFamily), kStart + 2 * kHour);

  ASSERT_THAT(TypesTo(decision, AccountStream(kAccount)), ElementsAre("Unsubscribed"));
  EXPECT_EQ(EventsTo(decision, AccountStream(kAccount))[0].AsUnsubscribed()->family_id, kFamily);
  EXPECT_THAT(Account().subscriptions, IsEmpty());
}

TEST_F(AccountDecidersTest, UnsubscribingWhenNotSubscribedIsNotFound) {
  GivenFamily();
  GivenActiveAccount();

  EXPECT_THAT(Decide(UnsubscribeFrom(kFamily), kStart + kHour), FailsWith(ErrorCode::kNotFound));
}

// ---- RegisterFamily, RegenerateSubscriberCode ----

TEST_F(AccountDecidersTest, RegisteringAFamilyClaimsItsSubscriberCode) {
  Decision decision = Run(FamilyRegistration(), kStart);

  EXPECT_THAT(StreamsOf(decision), ElementsAre(FamilyStream(kFamily), CodeStream(kCode)));
  ASSERT_THAT(TypesTo(decision, FamilyStream(kFamily)), ElementsAre("FamilyRegistered"));
  const auto* registered = EventsTo(decision, FamilyStream(kFamily))[0].AsFamilyRegistered();
  EXPECT_EQ(registered->family_id, kFamily);
  EXPECT_EQ(registered->name, "Lovelace");
  EXPECT_EQ(registered->code_hash, kCode);
  ASSERT_THAT(TypesTo(decision, CodeStream(kCode)), ElementsAre("SubscriberCodeClaimed"));
  EXPECT_EQ(EventsTo(decision, CodeStream(kCode))[0].AsSubscriberCodeClaimed()->family_id, kFamily);
  EXPECT_TRUE(Family().exists);
  EXPECT_EQ(Family().code_hash, kCode);
}

TEST_F(AccountDecidersTest, RegisteringAFamilyWithAClaimedCodeIsAConflict) {
  schema::SubscriberCodeClaimedT claimed;
  claimed.family_id = "fam-other";
  Add(CodeStream(kCode), MakePayload(std::move(claimed)), kStart);
  ASSERT_EQ(State(CodeStream(kCode)).version(), 1u);

  EXPECT_THAT(Decide(FamilyRegistration(), kStart + kHour), FailsWith(ErrorCode::kConflict));
}

TEST_F(AccountDecidersTest, RegisteringAnExistingFamilyIdIsAConflict) {
  GivenFamily();

  EXPECT_THAT(Decide(FamilyRegistration("code-hash-2"), kStart + kHour),
              FailsWith(ErrorCode::kConflict));
}

TEST_F(AccountDecidersTest, RegeneratingTheCodeChangesItAndClaimsTheNewOne) {
  GivenFamily();

  Decision decision = Run(NewCode(kFamily, "code-hash-2"), kStart + kHour);

  EXPECT_THAT(TypesTo(decision, FamilyStream(kFamily)), ElementsAre("SubscriberCodeChanged"));
  EXPECT_THAT(TypesTo(decision, CodeStream("code-hash-2")), ElementsAre("SubscriberCodeClaimed"));
  EXPECT_EQ(Family().code_hash, "code-hash-2");
}

TEST_F(AccountDecidersTest, RegeneratingTheCodeOfAMissingFamilyIsNotFound) {
  EXPECT_THAT(Decide(NewCode("fam-missing", "code-hash-2"), kStart),
              FailsWith(ErrorCode::kNotFound));
}

TEST_F(AccountDecidersTest, RegeneratingToAClaimedCodeIsAConflict) {
  GivenFamily();
  Run(NewCode(kFamily, "code-hash-2"), kStart + kHour);

  EXPECT_THAT(Decide(NewCode(kFamily, "code-hash-2"), kStart + 2 * kHour),
              FailsWith(ErrorCode::kConflict));
}

}  // namespace
}  // namespace portail::commands
