// Activities, enrolments, requests and the town's answers (see docs/openapi.yaml).
#include "server/planning_routes.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "commands/planning.h"
#include "server/family_access.h"
#include "server/handler_support.h"
#include "server/json.h"
#include "server/security.h"

namespace portail::server {
namespace {

using commands::Day;

// Answers `error` and returns false when `result` failed.
template <class T>
bool Ok(const Result<T>& result, Reply& reply) {
  if (!result) reply(ErrorResponse(result.error()));
  return result.has_value();
}

Day ReadDay(JsonInput& input, std::string_view name) {
  auto text = input.OptionalString(name, 10, 10);
  if (!text) {
    if (!input.has_problems()) input.AddProblem(std::string(name), "is required (YYYY-MM-DD)");
    return Day();
  }
  auto day = commands::ParseDay(*text);
  if (!day || *day < commands::DayOf(10957) || *day > commands::DayOf(47482)) {
    input.AddProblem(std::string(name), "must be a date from 2000-01-01 to 2099-12-31");
    return Day();
  }
  return *day;
}

uint8_t ReadWeekdays(JsonInput& input, std::string_view name, uint8_t fallback) {
  auto names = input.OptionalStringList(name, 7, 3);
  if (!names) return fallback;
  auto mask = commands::ParseWeekdays(*names);
  if (!mask || *mask == 0) {
    input.AddProblem(std::string(name), "must list days among mon tue wed thu fri sat sun");
    return fallback;
  }
  return *mask;
}

// {"days": N, "at": "HH:MM", "working_days": bool}
commands::NoticeRule ReadNotice(JsonInput& input, std::string_view name) {
  commands::NoticeRule rule;
  const Json* value = input.OptionalValue(name);
  if (value == nullptr) {
    input.AddProblem(std::string(name), "is required, e.g. {\"days\": 1, \"at\": \"15:00\"}");
    return rule;
  }
  auto problem = [&] {
    input.AddProblem(std::string(name),
                     "must be {\"days\": 0-60, \"at\": \"HH:MM\", \"working_days\": true|false}");
  };
  if (!value->is_object()) {
    problem();
    return rule;
  }
  for (const auto& [key, v] : value->items()) {
    if (key == "days" && v.is_number_integer()) {
      rule.days = static_cast<int>(std::clamp<int64_t>(v.get<int64_t>(), -1, 1000));
    } else if (key == "working_days" && v.is_boolean()) {
      rule.kind = v.get<bool>() ? commands::NoticeRule::Kind::kWorkingDaysBefore
                                : commands::NoticeRule::Kind::kDaysBeforeAt;
    } else if (key == "at" && v.is_string() && v.get_ref<const std::string&>().size() == 5 &&
               v.get_ref<const std::string&>()[2] == ':') {
      const std::string& at = v.get_ref<const std::string&>();
      bool digits = std::isdigit(static_cast<unsigned char>(at[0])) &&
                    std::isdigit(static_cast<unsigned char>(at[1])) &&
                    std::isdigit(static_cast<unsigned char>(at[3])) &&
                    std::isdigit(static_cast<unsigned char>(at[4]));
      int minutes = digits ? std::stoi(at.substr(0, 2)) * 60 + std::stoi(at.substr(3)) : -1;
      if (!digits || std::stoi(at.substr(3)) > 59 || minutes > 24 * 60) {
        problem();
        return rule;
      }
      rule.at_minutes = minutes;
    } else {
      problem();
      return rule;
    }
  }
  if (auto p = commands::NoticeRuleProblem(rule)) input.AddProblem(std::string(name), *p);
  return rule;
}

Json NoticeJson(const commands::NoticeRule& rule) {
  char at[6];
  std::snprintf(at, sizeof(at), "%02d:%02d", rule.at_minutes / 60, rule.at_minutes % 60);
  return Json{{"days", rule.days},
              {"at", at},
              {"working_days", rule.kind == commands::NoticeRule::Kind::kWorkingDaysBefore},
              {"text", commands::DescribeNoticeRule(rule)}};
}

// The activity definition of a body (POST or PUT).
std::optional<commands::ActivityRules> ReadActivity(JsonInput& input) {
  commands::ActivityRules rules;
  rules.name = input.String("name", 1, 100);
  auto kind = input.OptionalString("kind", 1, 40);
  if (kind && !commands::ParseActivityKind(*kind, &rules.kind)) {
    input.AddProblem("kind",
                     "must be canteen, morning_care, evening_care, wednesday_centre, "
                     "holiday_centre or other");
  }
  rules.calendar.weekdays = ReadWeekdays(input, "weekdays", 0);
  if (rules.calendar.weekdays == 0 && !input.has_problems()) {
    input.AddProblem("weekdays", "is required, e.g. [\"mon\", \"tue\", \"thu\", \"fri\"]");
  }
  if (const Json* periods = input.OptionalValue("periods")) {
    bool ok = periods->is_array() && periods->size() <= 50;
    for (const auto& p : ok ? *periods : Json::array()) {
      auto from = p.is_object() && p.contains("from") && p["from"].is_string()
                      ? commands::ParseDay(p["from"].get<std::string>())
                      : std::nullopt;
      auto to = p.is_object() && p.contains("to") && p["to"].is_string()
                    ? commands::ParseDay(p["to"].get<std::string>())
                    : std::nullopt;
      if (!from || !to || p.size() != 2) {
        ok = false;
        break;
      }
      rules.calendar.periods.emplace_back(*from, *to);
    }
    if (!ok) input.AddProblem("periods", "must be a list of {\"from\": date, \"to\": date}");
  }
  if (auto closed = input.OptionalStringList("closed_days", 400, 10)) {
    for (const auto& text : *closed) {
      auto day = commands::ParseDay(text);
      if (!day) {
        input.AddProblem("closed_days", "must be a list of dates (YYYY-MM-DD)");
        break;
      }
      rules.calendar.closed_days.insert(*day);
    }
  }
  rules.capacity = static_cast<int>(input.OptionalInt("capacity", 1, 100000).value_or(0));
  if (rules.capacity == 0 && !input.has_problems()) input.AddProblem("capacity", "is required");
  rules.reservation_notice = ReadNotice(input, "reservation_notice");
  rules.absence_notice = ReadNotice(input, "absence_notice");
  auto mode = input.OptionalString("mode", 1, 20);
  if (mode && *mode != "agent" && *mode != "automatic") {
    input.AddProblem("mode", "must be agent or automatic");
  }
  rules.automatic = mode && *mode == "automatic";
  return rules;
}

Json ActivityJson(const commands::ActivityRules& a) {
  Json periods = Json::array();
  for (const auto& [from, to] : a.calendar.periods) {
    periods.push_back({{"from", commands::FormatDay(from)}, {"to", commands::FormatDay(to)}});
  }
  Json closed = Json::array();
  for (Day day : a.calendar.closed_days) closed.push_back(commands::FormatDay(day));
  return Json{{"id", a.id},
              {"name", a.name},
              {"kind", commands::ActivityKindName(a.kind)},
              {"weekdays", commands::WeekdayNames(a.calendar.weekdays)},
              {"periods", periods},
              {"closed_days", closed},
              {"capacity", a.capacity},
              {"reservation_notice", NoticeJson(a.reservation_notice)},
              {"absence_notice", NoticeJson(a.absence_notice)},
              {"mode", a.automatic ? "automatic" : "agent"}};
}

// The dates and weekdays of an enrolment (POST and PUT bodies).
void ReadEnrolment(JsonInput& input, commands::Enrolment* enrolment) {
  enrolment->from = ReadDay(input, "from");
  enrolment->to = ReadDay(input, "to");
  enrolment->weekdays = ReadWeekdays(input, "weekdays", commands::kMondayToFriday);
}

Json EnrolmentJson(const commands::Enrolment& enrolment) {
  return Json{{"id", enrolment.id},
              {"from", commands::FormatDay(enrolment.from)},
              {"to", commands::FormatDay(enrolment.to)},
              {"weekdays", commands::WeekdayNames(enrolment.weekdays)}};
}

Json LineJson(const commands::BookingKey& key) {
  return Json{{"child_id", key.child_id},
              {"activity_id", key.activity_id},
              {"date", commands::FormatDay(key.day)}};
}

}  // namespace

void PlanningRoutes::Add(Router& router) {
  auto bind = [this](void (PlanningRoutes::*method)(Request&, Reply)) {
    return [this, method](Request& request, Reply reply) {
      (this->*method)(request, std::move(reply));
    };
  };
  router.Add("POST", "/api/v1/agent/activities", bind(&PlanningRoutes::CreateActivity));
  router.Add("PUT", "/api/v1/agent/activities/{activity_id}",
             bind(&PlanningRoutes::RedefineActivity));
  router.Add("POST", "/api/v1/agent/families/{family_id}/children/{child_id}/enrolments",
             bind(&PlanningRoutes::Enrol));
  router.Add("PUT",
             "/api/v1/agent/families/{family_id}/children/{child_id}/enrolments/{enrolment_id}",
             bind(&PlanningRoutes::ChangeEnrolment));
  router.Add("POST", "/api/v1/families/{family_id}/requests", bind(&PlanningRoutes::Submit));
  router.Add("POST", "/api/v1/families/{family_id}/requests/{request_id}/cancel",
             bind(&PlanningRoutes::Cancel));
  router.Add("POST", "/api/v1/agent/requests/{request_id}/decisions",
             bind(&PlanningRoutes::DecideDays));
}

void PlanningRoutes::DefineActivity(Request& request, Reply reply, bool create) {
  auto caller = StaffAccess(*auth_, request);
  if (!Ok(caller, reply)) return;
  auto input = JsonInput::FromRequest(request);
  if (!Ok(input, reply)) return;
  auto rules = ReadActivity(*input);
  if (auto ok = input->Finish(); !ok) return reply(ErrorResponse(ok.error()));
  if (auto ok = commands::CheckActivity(*rules); !ok) return reply(ErrorResponse(ok.error()));
  rules->id = create ? RandomId() : std::string(request.Param("activity_id"));
  auto command = std::make_unique<commands::DefineActivity>();
  command->actor = ActorOf(*caller);
  command->rules = *rules;
  command->create = create;
  Json body = ActivityJson(*rules);
  ExecuteAndReply(
      *services_.bus, std::move(command), std::move(reply),
      [body, create](commands::CommandOutcome&) { return JsonResponse(create ? 201 : 200, body); });
}

void PlanningRoutes::CreateActivity(Request& request, Reply reply) {
  DefineActivity(request, std::move(reply), true);
}

void PlanningRoutes::RedefineActivity(Request& request, Reply reply) {
  DefineActivity(request, std::move(reply), false);
}

void PlanningRoutes::Enrol(Request& request, Reply reply) {
  auto caller = StaffAccess(*auth_, request);
  if (!Ok(caller, reply)) return;
  auto input = JsonInput::FromRequest(request);
  if (!Ok(input, reply)) return;
  auto command = std::make_unique<commands::EnrolChild>();
  command->enrolment.activity_id = input->String("activity_id", 1, 64);
  ReadEnrolment(*input, &command->enrolment);
  if (auto ok = input->Finish(); !ok) return reply(ErrorResponse(ok.error()));
  command->actor = ActorOf(*caller);
  command->by_name = NameOf(*caller);
  command->family_id = std::string(request.Param("family_id"));
  command->child_id = std::string(request.Param("child_id"));
  command->enrolment.id = RandomId();
  Json body = EnrolmentJson(command->enrolment);
  body["child_id"] = command->child_id;
  body["activity_id"] = command->enrolment.activity_id;
  ExecuteAndReply(*services_.bus, std::move(command), std::move(reply),
                  [body](commands::CommandOutcome&) { return JsonResponse(201, body); });
}

void PlanningRoutes::ChangeEnrolment(Request& request, Reply reply) {
  auto caller = StaffAccess(*auth_, request);
  if (!Ok(caller, reply)) return;
  auto input = JsonInput::FromRequest(request);
  if (!Ok(input, reply)) return;
  auto command = std::make_unique<commands::ChangeEnrolment>();
  ReadEnrolment(*input, &command->enrolment);
  if (auto ok = input->Finish(); !ok) return reply(ErrorResponse(ok.error()));
  command->actor = ActorOf(*caller);
  command->by_name = NameOf(*caller);
  command->child_id = std::string(request.Param("child_id"));
  command->enrolment.id = std::string(request.Param("enrolment_id"));
  Json body = EnrolmentJson(command->enrolment);
  ExecuteAndReply(*services_.bus, std::move(command), std::move(reply),
                  [body](commands::CommandOutcome&) { return JsonResponse(200, body); });
}

void PlanningRoutes::Submit(Request& request, Reply reply) {
  auto allowed = WriteAccess(*auth_, request, *services_.store);
  if (!Ok(allowed, reply)) return;
  if (allowed->access != Access::kFamily) {
    return reply(ErrorResponse(ErrorCode::kForbidden,
                               "requests are made by the family; agents answer them"));
  }
  auto input = JsonInput::FromRequest(request);
  if (!Ok(input, reply)) return;
  auto command = std::make_unique<commands::SubmitRequest>();
  std::string kind = input->String("kind", 1, 20);
  if (!kind.empty() && kind != "reservation" && kind != "absence") {
    input->AddProblem("kind", "must be reservation or absence");
  }
  command->kind =
      kind == "absence" ? schema::RequestKind::Absence : schema::RequestKind::Reservation;
  auto children = input->OptionalStringList("children", 10, 64);
  auto activities = input->OptionalStringList("activities", 10, 64);
  if (!children || children->empty()) input->AddProblem("children", "must name 1 to 10 children");
  if (!activities || activities->empty()) {
    input->AddProblem("activities", "must name 1 to 10 activities");
  }
  command->from = ReadDay(*input, "from");
  command->to = ReadDay(*input, "to");
  command->weekdays = ReadWeekdays(*input, "weekdays", commands::kEveryDay);
  if (!input->has_problems()) {
    if (command->to < command->from) {
      input->AddProblem("to", "must not be before from");
    } else if ((command->to - command->from).count() >= commands::SubmitRequest::kMaxDays) {
      input->AddProblem("to", "a request covers at most 366 days");
    }
  }
  if (auto ok = input->Finish(); !ok) return reply(ErrorResponse(ok.error()));
  command->children = *children;
  command->activities = *activities;
  std::sort(command->children.begin(), command->children.end());
  command->children.erase(std::unique(command->children.begin(), command->children.end()),
                          command->children.end());
  std::sort(command->activities.begin(), command->activities.end());
  command->activities.erase(std::unique(command->activities.begin(), command->activities.end()),
                            command->activities.end());
  command->actor = ActorOf(allowed->caller);
  command->by_name = NameOf(allowed->caller);
  command->family_id = std::string(request.Param("family_id"));
  command->request_id = RandomId();
  std::string id = command->request_id;
  ExecuteAndReply(*services_.bus, std::move(command), std::move(reply),
                  [id](commands::CommandOutcome& outcome) {
                    const auto& result = std::any_cast<const commands::SubmitReply&>(outcome.reply);
                    Json taken = Json::array();
                    for (const auto& [key, state] : result.taken) {
                      Json line = LineJson(key);
                      line["state"] = commands::BookingStateName(state);
                      taken.push_back(std::move(line));
                    }
                    Json not_taken = Json::array();
                    for (const auto& refused : result.not_taken) {
                      Json line = LineJson(refused.key);
                      line["code"] = ErrorCodeName(refused.code);
                      line["reason"] = refused.reason;
                      not_taken.push_back(std::move(line));
                    }
                    return JsonResponse(
                        201, Json{{"request_id", id}, {"taken", taken}, {"not_taken", not_taken}});
                  });
}

void PlanningRoutes::Cancel(Request& request, Reply reply) {
  auto allowed = WriteAccess(*auth_, request, *services_.store);
  if (!Ok(allowed, reply)) return;
  if (allowed->access != Access::kFamily) {
    return reply(ErrorResponse(ErrorCode::kForbidden,
                               "a request is cancelled by its family; agents refuse it"));
  }
  std::string request_id(request.Param("request_id"));
  // The days of a request are fixed when it is submitted: read them from its first event.
  auto events = services_.store->ReadStream(commands::RequestStream(request_id), 1, 1);
  if (!Ok(events, reply)) return;
  auto command = std::make_unique<commands::CancelRequest>();
  if (!events->empty()) {
    const auto* submitted = (*events)[0].record().payload_as_RequestSubmitted();
    if (submitted != nullptr && submitted->taken() != nullptr) {
      for (const auto* line : *submitted->taken()) {
        command->taken.push_back({events::Str(line->child_id()), events::Str(line->activity_id()),
                                  commands::DayOf(line->day())});
      }
    }
  }
  command->actor = ActorOf(allowed->caller);
  command->by_name = NameOf(allowed->caller);
  command->family_id = std::string(request.Param("family_id"));
  command->request_id = request_id;
  ExecuteAndReply(*services_.bus, std::move(command), std::move(reply),
                  [request_id](commands::CommandOutcome& outcome) {
                    return JsonResponse(
                        200, Json{{"request_id", request_id},
                                  {"cancelled_days", std::any_cast<int>(outcome.reply)}});
                  });
}

void PlanningRoutes::DecideDays(Request& request, Reply reply) {
  auto caller = StaffAccess(*auth_, request);
  if (!Ok(caller, reply)) return;
  auto input = JsonInput::FromRequest(request);
  if (!Ok(input, reply)) return;
  auto command = std::make_unique<commands::DecideBookings>();
  const Json* decisions = input->OptionalValue("decisions");
  std::string problem =
      "must be a list of 1 to 400 {\"child_id\", \"activity_id\", \"date\", \"outcome\": "
      "accept|refuse|waiting_list, \"reason\"} (a reason is required to refuse)";
  bool ok = decisions != nullptr && decisions->is_array() && !decisions->empty() &&
            decisions->size() <= 400;
  for (const auto& d : ok ? *decisions : Json::array()) {
    auto text = [&](const char* name) {
      return d.is_object() && d.contains(name) && d[name].is_string() ? d[name].get<std::string>()
                                                                      : std::string();
    };
    auto day = commands::ParseDay(text("date"));
    std::string outcome = text("outcome");
    std::string reason = text("reason");
    commands::DayDecision decision;
    decision.key = {text("child_id"), text("activity_id"), day.value_or(Day())};
    decision.reason = reason.substr(0, 500);
    decision.outcome = outcome == "refuse"         ? commands::Outcome::kRefuse
                       : outcome == "waiting_list" ? commands::Outcome::kWaitingList
                                                   : commands::Outcome::kAccept;
    bool known_outcome = outcome == "accept" || outcome == "refuse" || outcome == "waiting_list";
    if (!day || decision.key.child_id.empty() || decision.key.activity_id.empty() ||
        !known_outcome || (outcome == "refuse" && reason.empty())) {
      ok = false;
      break;
    }
    command->decisions.push_back(std::move(decision));
  }
  if (!ok) input->AddProblem("decisions", problem);
  if (auto finished = input->Finish(); !finished) return reply(ErrorResponse(finished.error()));
  command->actor = ActorOf(*caller);
  command->by_name = NameOf(*caller);
  command->request_id = std::string(request.Param("request_id"));
  std::string id = command->request_id;
  size_t count = command->decisions.size();
  ExecuteAndReply(*services_.bus, std::move(command), std::move(reply),
                  [id, count](commands::CommandOutcome&) {
                    return JsonResponse(200, Json{{"request_id", id}, {"decided_days", count}});
                  });
}

}  // namespace portail::server
