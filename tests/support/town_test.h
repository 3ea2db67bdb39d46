// A fixture for the planning and requests journeys: a portal on Sunday 1 March 2026, 09:00 in
// Paris, an agent, the Martin family with its subscriber code and two children (Léa and Hugo),
// and the steps these journeys take.
#pragma once

#include <gtest/gtest.h>

#include "commands/calendar.h"
#include "tests/support/portal.h"

namespace portail::testing {

inline constexpr char kParentPassword[] = "correct horse battery";
inline constexpr char kAgentPassword[] = "agent staple battery";

inline commands::Day D(int year, unsigned month, unsigned day) {
  return commands::Day(std::chrono::year{year} / std::chrono::month{month} / std::chrono::day{day});
}

class TownTest : public ::testing::Test {
 protected:
  void SetUp() override {
    portal_ = std::make_unique<Portal>();
    portal_->clock().Set(commands::ParisInstant(D(2026, 3, 1), 9 * 60));
    portal_->CreateStaff("agent@mairie.fr", kAgentPassword);
    agent_ = portal_->Login("agent@mairie.fr", kAgentPassword);
    std::tie(family_, code_) = portal_->CreateFamily(agent_, "Famille Martin");
    lea_ = Child(family_, "Léa");
    hugo_ = Child(family_, "Hugo");
  }

  // A registered, logged-in parent subscribed to the Martin family; returns the token.
  std::string SubscribedParent(const std::string& email, const std::string& first_name) {
    std::string token = portal_->RegisterActivateLogin(email, kParentPassword, first_name);
    auto r = portal_->Post("/api/v1/me/subscriptions", {{"subscriber_code", code_}}, Bearer(token));
    EXPECT_EQ(r.status, 201) << r.body;
    return token;
  }

  std::string Child(const std::string& family, const std::string& first_name) {
    return portal_->AddChild(agent_, family, first_name);
  }
  std::string Activity(const std::string& name, int capacity, const std::string& mode = "agent",
                       const Json& closed = Json::array()) {
    return portal_->DefineActivity(agent_, name, capacity, mode, closed);
  }
  void Enrol(const std::string& family, const std::string& child, const std::string& activity) {
    portal_->Enrol(agent_, family, child, activity);
  }

  std::unique_ptr<Portal> portal_;
  std::string agent_, family_, code_, lea_, hugo_;
};

}  // namespace portail::testing
