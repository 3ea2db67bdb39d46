// Mail parsing for tests: headers, base64 parts, RFC 2047 subjects.
#include "tests/support/mail.h"

#include <sodium.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace portail::testing {
namespace {

std::string DecodeBase64(std::string text) {
  std::erase_if(text, [](char c) { return c == '\r' || c == '\n' || c == ' '; });
  std::string out(text.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return "";
  }
  out.resize(len);
  return out;
}

std::string Header(const std::string& head, const std::string& name) {
  std::istringstream in(head);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 &&
        line[name.size()] == ':') {
      return line.substr(name.size() + 2);
    }
  }
  return "";
}

// The decoded body of the part whose Content-Type starts with `type`.
std::string Part(const std::string& raw, const std::string& type) {
  size_t at = raw.find("Content-Type: " + type);
  if (at == std::string::npos) return "";
  size_t body = raw.find("\r\n\r\n", at);
  if (body == std::string::npos) return "";
  body += 4;
  size_t end = raw.find("--", body);
  return DecodeBase64(raw.substr(body, end - body));
}

}  // namespace

ReceivedMail ParseMail(const std::string& raw) {
  ReceivedMail mail;
  mail.raw = raw;
  std::string head = raw.substr(0, raw.find("\r\n\r\n"));
  mail.to = Header(head, "To");
  mail.message_id = Header(head, "Message-ID");
  std::string subject = Header(head, "Subject");
  if (subject.starts_with("=?UTF-8?B?") && subject.ends_with("?=")) {
    subject = DecodeBase64(subject.substr(10, subject.size() - 12));
  }
  mail.subject = subject;
  mail.text = Part(raw, "text/plain");
  mail.html = Part(raw, "text/html");
  return mail;
}

std::vector<ReceivedMail> ReadMails(const std::string& dir) {
  std::vector<std::pair<std::filesystem::file_time_type, std::string>> files;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file()) continue;
    std::string path = it->path().string();
    // Skip files being written: "*.tmp" here, a Maildir's "tmp" folder there.
    if (path.ends_with(".tmp") || it->path().parent_path().filename() == "tmp") continue;
    files.emplace_back(it->last_write_time(), path);
  }
  std::sort(files.begin(), files.end());
  std::vector<ReceivedMail> out;
  for (const auto& [time, path] : files) {
    std::ifstream in(path, std::ios::binary);
    std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // A Maildir file may use bare LF line ends; normalise to CRLF.
    if (raw.find("\r\n") == std::string::npos) {
      std::string crlf;
      for (char c : raw) {
        if (c == '\n') crlf.push_back('\r');
        crlf.push_back(c);
      }
      raw = crlf;
    }
    out.push_back(ParseMail(raw));
  }
  return out;
}

std::vector<ReceivedMail> WaitForMails(const std::string& dir, size_t count,
                                       std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto mails = ReadMails(dir);
    if (mails.size() >= count || std::chrono::steady_clock::now() > deadline) return mails;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string LinkToken(const std::string& text) {
  size_t at = text.find("token=");
  if (at == std::string::npos) return "";
  size_t start = at + 6;
  size_t end = start;
  while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) ||
                               text[end] == '-' || text[end] == '_')) {
    ++end;
  }
  return text.substr(start, end - start);
}

}  // namespace portail::testing
