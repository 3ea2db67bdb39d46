// Reading the mails the server wrote: .eml files in an outbox folder or a Maildir.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace portail::testing {

struct ReceivedMail {
  std::string raw;
  std::string to;
  std::string subject;  // decoded
  std::string message_id;
  std::string text;  // the decoded text/plain part
  std::string html;  // the decoded text/html part
};

// Parses an RFC 5322 message as the server writes it (multipart/alternative, base64 parts).
ReceivedMail ParseMail(const std::string& raw);

// Every mail file in `dir` (recursively, *.eml or Maildir files), oldest first.
std::vector<ReceivedMail> ReadMails(const std::string& dir);

// Waits until `dir` holds at least `count` mails (or `timeout` passes) and returns them.
std::vector<ReceivedMail> WaitForMails(
    const std::string& dir, size_t count,
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The token=... value of the first link in `text`; empty if none.
std::string LinkToken(const std::string& text);

}  // namespace portail::testing
