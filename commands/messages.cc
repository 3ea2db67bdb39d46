// Messages on requests and read markers (see messages.h).
#include "commands/messages.h"

#include <optional>

#include "commands/planning.h"

namespace portail::commands {
namespace {

// The number of code points of `text`, or nullopt when it is not valid UTF-8 (overlong forms and
// surrogates included).
std::optional<size_t> CodePoints(std::string_view text) {
  size_t count = 0;
  for (size_t i = 0; i < text.size(); ++count) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t extra = c < 0x80           ? 0
                   : (c >> 5) == 0x6  ? 1
                   : (c >> 4) == 0xe  ? 2
                   : (c >> 3) == 0x1e ? 3
                                      : 4;
    if (extra == 4 || i + extra >= text.size()) return std::nullopt;
    uint32_t cp = extra == 0 ? c : c & (0x3f >> extra);
    for (size_t k = 1; k <= extra; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (next & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;
    i += extra + 1;
  }
  return count;
}

}  // namespace

std::string ReadsStream(std::string_view account_id) { return "reads-" + std::string(account_id); }

Status CheckMessageText(std::string_view text) {
  auto invalid = [](std::string message) -> Status {
    return std::unexpected(Error(ErrorCode::kInvalid, "text " + message, {{"text", message}}));
  };
  auto length = CodePoints(text);
  if (!length) return invalid("must be valid UTF-8");
  if (*length == 0 || *length > kMaxMessageLength) {
    return invalid("must be 1 to " + std::to_string(kMaxMessageLength) + " characters");
  }
  bool blank = true;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\r' && c != '\t') || u == 0x7f) {
      return invalid("must not contain control characters");
    }
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') blank = false;
  }
  if (blank) return invalid("must not be blank");
  return {};
}

std::vector<std::string> PostMessage::Streams() const { return {RequestStream(request_id)}; }

Result<Decision> PostMessage::Decide(const States& states, Micros) const {
  const auto* request = states.As<RequestState>(RequestStream(request_id));
  if (request == nullptr || !request->exists || request->family_id != family_id) {
    return Fail(ErrorCode::kNotFound, "no such request");
  }
  if (auto ok = CheckMessageText(text); !ok) return std::unexpected(ok.error());
  schema::RequestMessageT message;
  message.request_id = request_id;
  message.family_id = family_id;
  message.from_town = from_town;
  message.text = text;
  message.by_name = by_name;
  Decision decision;
  decision.appends.push_back({RequestStream(request_id), {}, {MakePayload(std::move(message))}});
  return decision;
}

Result<Decision> MarkRequestRead::Decide(const States&, Micros) const {
  if (account_id.empty() || request_id.empty() || up_to_position == 0) {
    return Fail(ErrorCode::kInvalid, "a read marker needs an account, a request and a position");
  }
  schema::RequestReadT read;
  read.account_id = account_id;
  read.request_id = request_id;
  read.up_to_position = up_to_position;
  Decision decision;
  decision.appends.push_back({ReadsStream(account_id), {}, {MakePayload(std::move(read))}});
  return decision;
}

Result<Decision> MarkAllRead::Decide(const States&, Micros) const {
  if (account_id.empty() || up_to_position == 0) {
    return Fail(ErrorCode::kInvalid, "a read marker needs an account and a position");
  }
  schema::AllRequestsReadT read;
  read.account_id = account_id;
  read.up_to_position = up_to_position;
  Decision decision;
  decision.appends.push_back({ReadsStream(account_id), {}, {MakePayload(std::move(read))}});
  return decision;
}

}  // namespace portail::commands
