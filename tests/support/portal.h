// A running portal for integration tests: the real App on a loopback port, a manual clock, and
// the steps most journeys need (agents, families, registered and logged-in parents).
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "commands/accounts.h"
#include "server/account_routes.h"
#include "server/app.h"
#include "server/security.h"
#include "tests/support/http_client.h"
#include "tests/support/mail.h"
#include "tests/support/temp_dir.h"

namespace portail::testing {

using Json = nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

inline Json BodyOf(const HttpResult& r) { return Json::parse(r.body, nullptr, false); }

inline Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// Expects a JSON error of `status` and wire `code`, with a message for people.
inline void ExpectError(const HttpResult& r, int status, std::string_view code) {
  EXPECT_EQ(r.status, status) << r.body;
  Json body = BodyOf(r);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(body["error"]["code"], code) << r.body;
  EXPECT_FALSE(body["error"].value("message", "").empty()) << r.body;
}

// The field names of an error answer's per-field details.
inline std::set<std::string> Fields(const HttpResult& r) {
  std::set<std::string> out;
  Json body = BodyOf(r);
  for (const auto& f : body["error"]["fields"]) out.insert(f["field"].get<std::string>());
  return out;
}

class Portal {
 public:
  // Starts the App; `tweak` may change the options first.
  explicit Portal(const std::function<void(server::AppOptions&)>& tweak = {})
      : clock_(std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count()) {
    server::AppOptions options;
    options.data_dir = dir_.Sub("data");
    options.http.port = 0;
    options.http.threads = 2;
    options.accounts.password_cost = server::PasswordCost::Minimum();
    options.accounts.public_url = "http://portail.test";
    if (tweak) tweak(options);
    data_dir_ = options.data_dir;
    auto app = server::App::Open(options, &clock_);
    if (!app) throw std::runtime_error(app.error().message);
    app_ = std::move(*app);
    auto port = app_->Start();
    if (!port) throw std::runtime_error(port.error().message);
    port_ = *port;
  }

  uint16_t port() const { return port_; }
  commands::ManualClock& clock() { return clock_; }
  server::App& app() { return *app_; }
  std::string outbox() const { return data_dir_ + "/outbox"; }
  std::string data_dir() const { return data_dir_; }

  HttpResult Post(const std::string& target, const Json& body, const Headers& headers = {}) {
    HttpClient client(port_);
    return client.Request("POST", target, body.dump(), headers);
  }
  // Any method with a JSON body ("" sends no body).
  HttpResult Send(const std::string& method, const std::string& target, const std::string& body,
                  const Headers& headers = {}) {
    HttpClient client(port_);
    return client.Request(method, target, body, headers);
  }
  HttpResult Get(const std::string& target, const Headers& headers = {}) {
    HttpClient client(port_);
    return client.Request("GET", target, "", headers);
  }
  HttpResult Delete(const std::string& target, const Headers& headers = {}) {
    HttpClient client(port_);
    return client.Request("DELETE", target, "", headers);
  }

  // Creates an active agent (or auditor) as `portail admin add-agent` does; returns its id.
  std::string CreateStaff(const std::string& email, const std::string& password,
                          schema::Role role = schema::Role::Agent) {
    auto command = std::make_unique<commands::RegisterAccount>();
    command->account_id = server::RandomId();
    command->actor = "operator";
    command->email = email;
    command->email_key = server::EmailKey(email);
    command->first_name = "Agent";
    command->last_name = "Mairie";
    command->password_hash = *server::HashPassword(password, server::PasswordCost::Minimum());
    command->role = role;
    std::string id = command->account_id;
    auto outcome = app_->services().bus->Execute(std::move(command));
    EXPECT_TRUE(outcome.has_value());
    return id;
  }

  // Logs in; returns the session token ("" on failure).
  std::string Login(const std::string& email, const std::string& password) {
    auto r = Post("/api/v1/sessions", {{"email", email}, {"password", password}});
    if (r.status != 201) return "";
    return BodyOf(r)["token"];
  }

  // Registers a family account, activates it from the mail, and logs in; returns the token.
  std::string RegisterActivateLogin(const std::string& email, const std::string& password,
                                    const std::string& first_name = "Alice") {
    size_t before = ReadMails(outbox()).size();
    auto r = Post("/api/v1/accounts", {{"email", email},
                                       {"password", password},
                                       {"first_name", first_name},
                                       {"last_name", "Martin"}});
    EXPECT_EQ(r.status, 202) << r.body;
    auto mails = WaitForMails(outbox(), before + 1);
    EXPECT_EQ(mails.size(), before + 1);
    if (mails.size() <= before) return "";
    std::string token = LinkToken(mails.back().text);
    auto activated = Post("/api/v1/accounts/activate", {{"token", token}});
    EXPECT_EQ(activated.status, 200) << activated.body;
    return Login(email, password);
  }

  // An agent adds a child to a family's file; returns its id.
  std::string AddChild(const std::string& agent_token, const std::string& family,
                       const std::string& first_name, const std::string& last_name = "Martin") {
    auto r =
        Post("/api/v1/families/" + family + "/members",
             {{"kind", "child"},
              {"sections", {{"general", {{"first_name", first_name}, {"last_name", last_name}}}}}},
             Bearer(agent_token));
    EXPECT_EQ(r.status, 201) << r.body;
    return BodyOf(r).value("member_id", "");
  }

  // An agent defines a canteen-like activity (Mon, Tue, Thu, Fri; reservations the day before
  // at 15:00, absences 2 working days before); returns its id.
  std::string DefineActivity(const std::string& agent_token, const std::string& name, int capacity,
                             const std::string& mode = "agent",
                             const Json& closed_days = Json::array()) {
    auto r = Post("/api/v1/agent/activities",
                  {{"name", name},
                   {"kind", "canteen"},
                   {"weekdays", {"mon", "tue", "thu", "fri"}},
                   {"closed_days", closed_days},
                   {"capacity", capacity},
                   {"reservation_notice", {{"days", 1}, {"at", "15:00"}}},
                   {"absence_notice", {{"days", 2}, {"working_days", true}}},
                   {"mode", mode}},
                  Bearer(agent_token));
    EXPECT_EQ(r.status, 201) << r.body;
    return BodyOf(r).value("id", "");
  }

  // An agent enrols a child in an activity from 2026-01-05 to 2026-07-03, Monday to Friday.
  void Enrol(const std::string& agent_token, const std::string& family, const std::string& child,
             const std::string& activity) {
    auto r = Post("/api/v1/agent/families/" + family + "/children/" + child + "/enrolments",
                  {{"activity_id", activity}, {"from", "2026-01-05"}, {"to", "2026-07-03"}},
                  Bearer(agent_token));
    EXPECT_EQ(r.status, 201) << r.body;
  }

  // An agent creates a family; returns {id, subscriber code}.
  std::pair<std::string, std::string> CreateFamily(const std::string& agent_token,
                                                   const std::string& name) {
    auto r = Post("/api/v1/agent/families", {{"name", name}}, Bearer(agent_token));
    EXPECT_EQ(r.status, 201) << r.body;
    Json body = BodyOf(r);
    return {body.value("id", ""), body.value("subscriber_code", "")};
  }

 private:
  TempDir dir_;
  commands::ManualClock clock_;
  std::string data_dir_;
  std::unique_ptr<server::App> app_;
  uint16_t port_ = 0;
};

}  // namespace portail::testing
