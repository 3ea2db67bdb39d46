// libsodium-backed secrets and the input checks of accounts.
#include "server/security.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace portail::server {
namespace {

constexpr std::string_view kCodeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

// A short list of passwords of 12+ characters seen in breaches, and French favourites.
constexpr std::array<std::string_view, 40> kCommonPasswords = {
    "123456789012",  "1234567890123",  "12345678901234",   "123456789123",   "111111111111",
    "000000000000",  "password1234",   "passwordpassword", "password123!",   "motdepasse12",
    "motdepasse123", "motdepasse1234", "azertyuiop12",     "azertyuiop123",  "azertyuiopqs",
    "azerty123456",  "azertyazerty",   "qwertyuiop12",     "qwerty123456",   "qwertyqwerty",
    "iloveyou1234",  "jetaime123456",  "soleil123456",     "bonjour12345",   "doudou123456",
    "marseille1313", "nicolas12345",   "chouchou1234",     "portailfamille", "portail12345",
    "abcdefghijkl",  "abc123abc123",   "letmein12345",     "welcome12345",   "administrator",
    "1q2w3e4r5t6y",  "1qaz2wsx3edc",   "zaq12wsxcde3",     "football1234",   "monkey123456"};

}  // namespace

bool InitCrypto() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

std::string RandomToken(size_t bytes) {
  InitCrypto();
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  std::string out(sodium_base64_encoded_len(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), raw.data(), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::string RandomId() {
  InitCrypto();
  unsigned char raw[16];
  randombytes_buf(raw, sizeof(raw));
  char hex[33];
  sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
  return hex;
}

std::string HashHex(std::string_view data, std::string_view key) {
  InitCrypto();
  unsigned char out[32];
  crypto_generichash(out, sizeof(out), reinterpret_cast<const unsigned char*>(data.data()),
                     data.size(), reinterpret_cast<const unsigned char*>(key.data()), key.size());
  char hex[65];
  sodium_bin2hex(hex, sizeof(hex), out, sizeof(out));
  return hex;
}

Result<std::string> LoadOrCreateKey(const std::string& path) {
  InitCrypto();
  std::ifstream in(path, std::ios::binary);
  if (in) {
    std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (key.size() != 32) return Fail(ErrorCode::kCorruption, path + " is not a 32-byte key");
    return key;
  }
  std::string key(32, '\0');
  randombytes_buf(key.data(), key.size());
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return Fail(ErrorCode::kIoError, "cannot create " + path);
  bool ok =
      ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Fail(ErrorCode::kIoError, "cannot write " + path);
  }
  return key;
}

std::string LinkTokenFor(std::string_view key, std::string_view token_id) {
  InitCrypto();
  unsigned char out[32];
  crypto_generichash(out, sizeof(out), reinterpret_cast<const unsigned char*>(token_id.data()),
                     token_id.size(), reinterpret_cast<const unsigned char*>(key.data()),
                     key.size());
  std::string text(sodium_base64_encoded_len(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(text.data(), text.size(), out, sizeof(out),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  text.resize(std::strlen(text.c_str()));
  return text;
}

PasswordCost PasswordCost::Minimum() {
  return PasswordCost{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

std::optional<std::string> HashPassword(std::string_view password, PasswordCost cost) {
  InitCrypto();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), cost.ops, cost.mem,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return std::nullopt;
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
  InitCrypto();
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  std::string h(hash);
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

const std::string& DummyPasswordHash(PasswordCost cost) {
  static const std::string hash = HashPassword(RandomToken(24), cost).value_or("");
  return hash;
}

std::string NewSubscriberCode() {
  InitCrypto();
  std::string code;
  for (int i = 0; i < 12; ++i) {
    if (i > 0 && i % 4 == 0) code.push_back('-');
    code.push_back(kCodeAlphabet[randombytes_uniform(kCodeAlphabet.size())]);
  }
  return code;
}

std::optional<std::string> NormaliseSubscriberCode(std::string_view code) {
  std::string out;
  for (char c : code) {
    if (c == ' ' || c == '-') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (kCodeAlphabet.find(c) == std::string_view::npos) return std::nullopt;
    out.push_back(c);
  }
  if (out.size() != 12) return std::nullopt;
  return out;
}

std::optional<std::string> CheckEmail(std::string_view email) {
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.front()))) {
    email.remove_prefix(1);
  }
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.back()))) {
    email.remove_suffix(1);
  }
  if (email.size() < 3 || email.size() > 254) return std::nullopt;
  size_t at = email.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64 ||
      email.find('@', at + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view domain = email.substr(at + 1);
  if (domain.size() < 3 || domain.find('.') == std::string_view::npos || domain.front() == '.' ||
      domain.back() == '.' || domain.find("..") != std::string_view::npos) {
    return std::nullopt;
  }
  for (char c : email) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == '"' || c == ',' || c == ';' ||
        c == '\\' || c == '(' || c == ')' || c == '[' || c == ']') {
      return std::nullopt;
    }
  }
  for (char c : domain) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
          static_cast<unsigned char>(c) >= 0x80)) {
      return std::nullopt;
    }
  }
  return std::string(email);
}

std::string PasswordProblem(std::string_view password, std::string_view email) {
  if (password.size() < 12) return "must be at least 12 characters long";
  if (password.size() > 128) return "must be at most 128 characters long";
  std::string lower(password);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string lower_email(email);
  for (auto& c : lower_email) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == lower_email) return "must not be your e-mail address";
  if (std::all_of(password.begin(), password.end(), [&](char c) { return c == password[0]; })) {
    return "must not repeat a single character";
  }
  for (auto common : kCommonPasswords) {
    if (lower == common) return "is too common; choose a less predictable password";
  }
  return "";
}

WorkerPool::WorkerPool(int threads, size_t capacity) : capacity_(capacity) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        std::function<void()> job;
        {
          std::unique_lock<std::mutex> lock(mu_);
          cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
          if (jobs_.empty()) return;
          job = std::move(jobs_.front());
          jobs_.pop_front();
        }
        job();
      }
    });
  }
}

WorkerPool::~WorkerPool() { Stop(); }

bool WorkerPool::Submit(std::function<void()> job) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || jobs_.size() >= capacity_) return false;
  jobs_.push_back(std::move(job));
  cv_.notify_one();
  return true;
}

void WorkerPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace portail::server
