// Messages on a request (request-<id> streams) between the town and the family, and each
// account's read markers (reads-<account id> streams) behind the "n nouveau(x) message(s)" count.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "commands/command.h"

namespace portail::commands {

std::string ReadsStream(std::string_view account_id);

// Ok, or kInvalid: a message is 1 to `kMaxMessageLength` characters of valid UTF-8 with something
// other than white space, and no control character but tab and line breaks.
inline constexpr size_t kMaxMessageLength = 2000;
Status CheckMessageText(std::string_view text);

// The town (an agent) or the family writes on one of the family's requests. The text is kept as
// typed: it is plain text, never markup. kNotFound when the request is not the family's.
class PostMessage : public Command {
 public:
  std::string request_id;
  std::string family_id;
  bool from_town = false;
  std::string text;
  std::string by_name;
  std::vector<std::string> Streams() const override;
  Result<Decision> Decide(const States& states, Micros now) const override;
};

// An account read a request's history up to a log position: its updates up to there are no
// longer counted as unread, for this account only.
class MarkRequestRead : public Command {
 public:
  std::string account_id;
  std::string request_id;
  uint64_t up_to_position = 0;
  std::vector<std::string> Streams() const override { return {}; }
  Result<Decision> Decide(const States& states, Micros now) const override;
};

// "Mark all read": every update of every request up to a log position, for one account.
class MarkAllRead : public Command {
 public:
  std::string account_id;
  uint64_t up_to_position = 0;
  std::vector<std::string> Streams() const override { return {}; }
  Result<Decision> Decide(const States& states, Micros now) const override;
};

}  // namespace portail::commands
