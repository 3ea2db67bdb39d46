// Delivery through a real SMTP server on loopback: Debian's python3-aiosmtpd, started and
// stopped by the test, storing what it receives in a Maildir.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "tests/support/portal.h"

namespace portail::testing {
namespace {

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool Accepts(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// An aiosmtpd process for the test's lifetime.
class SmtpServer {
 public:
  explicit SmtpServer(const std::string& maildir) : port_(FreePort()) {
    std::string listen = "127.0.0.1:" + std::to_string(port_);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl(SYSTEM_PYTHON, SYSTEM_PYTHON, "-m", "aiosmtpd", "-n", "-l", listen.c_str(), "-c",
              "aiosmtpd.handlers.Mailbox", maildir.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200 && !Accepts(port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  ~SmtpServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  uint16_t port() const { return port_; }
  bool running() const { return pid_ > 0 && Accepts(port_); }

 private:
  uint16_t port_;
  pid_t pid_ = -1;
};

TEST(SmtpTest, ActivationMailIsDeliveredThroughARealSmtpServer) {
  TempDir mail_root;
  std::string maildir = mail_root.Sub("maildir");
  SmtpServer smtp(maildir);
  ASSERT_TRUE(smtp.running()) << "python3-aiosmtpd must be installed (scripts/setup.sh)";
  Portal portal([&](server::AppOptions& options) {
    options.mail.smtp_url = "smtp://127.0.0.1:" + std::to_string(smtp.port());
    options.mail.from = "Mairie <portail@ville.test>";
  });
  auto r = portal.Post("/api/v1/accounts", {{"email", "tess@example.org"},
                                            {"password", "correct horse battery"},
                                            {"first_name", "Tess"},
                                            {"last_name", "T"}});
  ASSERT_EQ(r.status, 202);
  auto mails = WaitForMails(maildir + "/new", 1);
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0].subject, "Activez votre compte du Portail Famille");
  EXPECT_EQ(mails[0].to, "<tess@example.org>");
  EXPECT_NE(mails[0].message_id.find("@ville.test>"), std::string::npos);
  std::string token = LinkToken(mails[0].text);
  ASSERT_EQ(token.size(), 43u);
  // Delivered by SMTP: nothing in the file outbox, and the link works.
  EXPECT_TRUE(ReadMails(portal.outbox()).empty());
  EXPECT_EQ(portal.Post("/api/v1/accounts/activate", {{"token", token}}).status, 200);
}

TEST(SmtpTest, AnUnreachableSmtpServerIsRetriedUntilItAnswers) {
  TempDir mail_root;
  std::string maildir = mail_root.Sub("maildir");
  uint16_t port = FreePort();
  Portal portal([&](server::AppOptions& options) {
    options.mail.smtp_url = "smtp://127.0.0.1:" + std::to_string(port);
  });
  auto r = portal.Post("/api/v1/accounts", {{"email", "uma@example.org"},
                                            {"password", "correct horse battery"},
                                            {"first_name", "Uma"},
                                            {"last_name", "U"}});
  ASSERT_EQ(r.status, 202);
  // Requests are served while the mail waits.
  EXPECT_EQ(portal.Get("/healthz").status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(ReadMails(maildir).empty());
  // The server comes up on that port: the retry (backoff 2 s, then 4 s) delivers.
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string listen = "127.0.0.1:" + std::to_string(port);
    ::execl(SYSTEM_PYTHON, SYSTEM_PYTHON, "-m", "aiosmtpd", "-n", "-l", listen.c_str(), "-c",
            "aiosmtpd.handlers.Mailbox", maildir.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto mails = WaitForMails(maildir + "/new", 1, std::chrono::seconds(20));
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0].to, "<uma@example.org>");
}

}  // namespace
}  // namespace portail::testing
