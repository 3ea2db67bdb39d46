// Rendering and delivery of the outbox's mails.
#include "server/mailer.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <unordered_map>

#include "commands/accounts.h"
#include "events/log.h"
#include "server/security.h"

namespace portail::server {
namespace {

struct Text {
  std::string subject;
  std::string plain;
  std::string html;
};

std::string HtmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string Base64(std::string_view data) {
  InitCrypto();
  std::string out(sodium_base64_encoded_len(data.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(data.data()),
                    data.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// Base64 in lines of 76 characters, as MIME bodies want.
std::string Base64Lines(std::string_view data) {
  std::string encoded = Base64(data);
  std::string out;
  for (size_t i = 0; i < encoded.size(); i += 76) out += encoded.substr(i, 76) + "\r\n";
  return out;
}

std::string RfcDate(int64_t micros) {
  std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

// The bare address inside "Name <address>".
std::string AddressOf(const std::string& from) {
  size_t open = from.find('<');
  size_t close = from.find('>', open);
  if (open == std::string::npos || close == std::string::npos) return from;
  return from.substr(open + 1, close - open - 1);
}

std::string Greeting(const projections::PendingMail& mail) {
  return mail.first_name.empty() ? "Bonjour," : "Bonjour " + mail.first_name + ",";
}

Text Compose(const projections::PendingMail& mail, const MailConfig& config) {
  std::string base = config.public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  int64_t hours = mail.expires_at_us > mail.queued_at_us
                      ? (mail.expires_at_us - mail.queued_at_us + 1800000000LL) / 3600000000LL
                      : 0;
  std::string validity = hours == 1 ? "1 heure" : std::to_string(hours) + " heures";
  Text t;
  std::string link;
  std::string intro;
  std::string outro;
  if (mail.kind == "activation") {
    link = base + "/activation?token=" + LinkTokenFor(config.key, mail.token_id);
    t.subject = "Activez votre compte du Portail Famille";
    intro =
        "Votre compte du Portail Famille a bien été créé. Pour l'activer, ouvrez ce lien "
        "(valable " +
        validity + ", utilisable une seule fois) :";
    outro =
        "Si vous n'êtes pas à l'origine de cette inscription, ignorez ce message : le compte "
        "ne sera pas activé.";
  } else if (mail.kind == "password_reset") {
    link = base + "/mot-de-passe/reinitialisation?token=" + LinkTokenFor(config.key, mail.token_id);
    t.subject = "Réinitialisation de votre mot de passe";
    intro =
        "Vous avez demandé à changer le mot de passe de votre compte du Portail Famille. "
        "Ouvrez ce lien (valable " +
        validity + ", utilisable une seule fois) :";
    outro = "Si vous n'avez rien demandé, ignorez ce message : votre mot de passe reste inchangé.";
  } else {  // already_registered
    link = base + "/mot-de-passe/oubli";
    t.subject = "Tentative d'inscription avec votre adresse e-mail";
    intro =
        "Quelqu'un a tenté de créer un compte du Portail Famille avec votre adresse e-mail, "
        "qui a déjà un compte. Vous pouvez vous connecter, ou choisir un nouveau mot de "
        "passe si vous l'avez oublié :";
    outro = "Si ce n'était pas vous, aucune action n'est nécessaire : votre compte est inchangé.";
  }
  t.plain = Greeting(mail) + "\r\n\r\n" + intro + "\r\n" + link + "\r\n\r\n" + outro +
            "\r\n\r\nLe Portail Famille de votre ville\r\n";
  t.html = "<!DOCTYPE html><html lang=\"fr\"><body><p>" + HtmlEscape(Greeting(mail)) + "</p><p>" +
           HtmlEscape(intro) + "<br><a href=\"" + HtmlEscape(link) + "\">" + HtmlEscape(link) +
           "</a></p><p>" + HtmlEscape(outro) + "</p><p>Le Portail Famille de votre ville</p>" +
           "</body></html>\n";
  return t;
}

size_t ReadChunk(char* buffer, size_t size, size_t count, void* user) {
  auto* source = static_cast<std::string_view*>(user);
  size_t n = std::min(size * count, source->size());
  std::memcpy(buffer, source->data(), n);
  source->remove_prefix(n);
  return n;
}

}  // namespace

Mailer::Mailer(const events::EventStore* store, commands::CommandBus* bus, MailConfig config)
    : store_(store), bus_(bus), config_(std::move(config)) {}

Mailer::~Mailer() { Stop(); }

void Mailer::Start() {
  if (config_.smtp_url.empty()) std::filesystem::create_directories(config_.outbox_dir);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  thread_ = std::thread([this] { Run(); });
}

void Mailer::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string Mailer::Render(const projections::PendingMail& mail, const MailConfig& config) {
  Text t = Compose(mail, config);
  std::string from_address = AddressOf(config.from);
  std::string domain = from_address.substr(from_address.find('@') + 1);
  std::string boundary = "=_portail_" + mail.mail_id;
  std::string m;
  m += "From: " + config.from + "\r\n";
  m += "To: <" + mail.to + ">\r\n";
  m += "Subject: =?UTF-8?B?" + Base64(t.subject) + "?=\r\n";
  m += "Date: " + RfcDate(mail.queued_at_us) + "\r\n";
  m += "Message-ID: <" + mail.mail_id + "@" + domain + ">\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n";
  m += "\r\n--" + boundary + "\r\n";
  m += "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  m += Base64Lines(t.plain);
  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  m += Base64Lines(t.html);
  m += "--" + boundary + "--\r\n";
  return m;
}

std::string Mailer::Deliver(const projections::PendingMail& mail, const std::string& message) {
  if (config_.smtp_url.empty()) {
    std::string path = config_.outbox_dir + "/" + mail.mail_id + ".eml";
    std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return "cannot create " + tmp;
    bool ok = ::write(fd, message.data(), message.size()) == static_cast<ssize_t>(message.size()) &&
              ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) return "cannot write " + path;
    return "";
  }
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return "curl_easy_init failed";
  std::string_view source = message;
  std::string from = "<" + AddressOf(config_.from) + ">";
  std::string to = "<" + mail.to + ">";
  curl_slist* recipients = curl_slist_append(nullptr, to.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, config_.smtp_url.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, &ReadChunk);
  curl_easy_setopt(curl, CURLOPT_READDATA, &source);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (!config_.smtp_user.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, config_.smtp_user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, config_.smtp_password.c_str());
  }
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(recipients);
  curl_easy_cleanup(curl);
  return rc == CURLE_OK ? "" : curl_easy_strerror(rc);
}

void Mailer::Run() {
  struct Retry {
    int attempts = 0;
    std::chrono::steady_clock::time_point next;
  };
  std::unordered_map<std::string, Retry> retries;
  uint64_t seen_head = 0;
  while (!stopping_) {
    seen_head = store_->HeadPosition();
    const events::ViewReader* rows = store_->View("outbox");
    auto now = std::chrono::steady_clock::now();
    for (const auto& mail : projections::OutboxView::Pending(*rows, 64)) {
      if (stopping_) break;
      auto retry = retries.find(mail.mail_id);
      if (retry != retries.end() && now < retry->second.next) continue;
      std::string problem = Deliver(mail, Render(mail, config_));
      if (!problem.empty()) {
        Retry& r = retries[mail.mail_id];
        ++r.attempts;
        int delay = std::min(config_.max_backoff_seconds, 1 << std::min(r.attempts, 16));
        r.next = now + std::chrono::seconds(delay);
        log::warn("mail {} not delivered (attempt {}): {}; retry in {} s", mail.mail_id, r.attempts,
                  problem, delay);
        continue;
      }
      auto command = std::make_unique<commands::RecordMailDelivered>();
      command->mail_id = mail.mail_id;
      command->via = config_.smtp_url.empty() ? "file" : "smtp";
      command->actor = "system";
      command->command_id = "mail-delivered-" + mail.mail_id;
      auto recorded = bus_->Execute(std::move(command));
      if (!recorded) {
        log::warn("mail {} delivered but not recorded: {}", mail.mail_id, recorded.error().message);
        retries[mail.mail_id] = Retry{0, now + std::chrono::seconds(1)};
        continue;
      }
      retries.erase(mail.mail_id);
      log::info("mail {} ({}) delivered by {}", mail.mail_id, mail.kind,
                config_.smtp_url.empty() ? "file" : "smtp");
    }
    // Sleep until something is appended, a retry is due, or a short while passes.
    store_->WaitForHead(seen_head, std::chrono::milliseconds(retries.empty() ? 250 : 100));
  }
}

}  // namespace portail::server
