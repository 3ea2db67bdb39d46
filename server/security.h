// Secrets: random tokens, hashes, link tokens derived with the server key, argon2id passwords,
// subscriber codes, and the checks on e-mails and passwords.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "events/error.h"

namespace portail::server {

// Initialises libsodium once; false if it cannot be used. Thread-safe.
bool InitCrypto();

// `bytes` random bytes as unpadded base64url.
std::string RandomToken(size_t bytes = 32);
// A random identifier (16 bytes, hex): account, family and mail ids.
std::string RandomId();
// Hex BLAKE2b-256 of `data`; keyed when `key` is given.
std::string HashHex(std::string_view data, std::string_view key = {});

// The server's secret key (32 bytes) in `path`, created with mode 0600 when missing.
Result<std::string> LoadOrCreateKey(const std::string& path);

// The token mailed in a link: derived from the random id stored in the log with the server key.
std::string LinkTokenFor(std::string_view key, std::string_view token_id);

// argon2id cost: by default OWASP's recommended minimum (t = 2, m = 19 MiB, one lane), about
// 20 ms here, so one worker sustains a login storm of 20/s; tests use libsodium's minimum.
struct PasswordCost {
  uint64_t ops = 2;
  size_t mem = 19 << 20;
  static PasswordCost Minimum();
};
// crypto_pwhash_str; nullopt when memory is short.
std::optional<std::string> HashPassword(std::string_view password, PasswordCost cost);
bool VerifyPassword(std::string_view hash, std::string_view password);

// A hash of a password nobody has, to spend the same time on unknown e-mails.
const std::string& DummyPasswordHash(PasswordCost cost);

// Subscriber codes: 12 characters from a 32-letter alphabet without 0/O, 1/I (60 bits), shown in
// groups of four: "K7QM-2XRP-9HVA".
std::string NewSubscriberCode();
// Upper-cases and drops spaces and dashes; nullopt when the code cannot be one of ours.
std::optional<std::string> NormaliseSubscriberCode(std::string_view code);

// Trimmed, checked e-mail address (lower-casing is the caller's choice); nullopt if invalid.
std::optional<std::string> CheckEmail(std::string_view email);
// Empty when acceptable, else why not (French-free, for the field error).
std::string PasswordProblem(std::string_view password, std::string_view email);

// Runs CPU-heavy work (argon2id) on its own threads so I/O threads never stall.
class WorkerPool {
 public:
  WorkerPool(int threads, size_t capacity);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  // False (and `job` is not run) when the queue is full or the pool stopped.
  bool Submit(std::function<void()> job);
  void Stop();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  size_t capacity_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace portail::server
