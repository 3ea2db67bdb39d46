// "Mes demandes" (see request_routes.h and docs/openapi.yaml). List bodies are joined from the
// view's pre-rendered summaries; only times (Paris) and unread counts are added here.
#include "server/request_routes.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "commands/calendar.h"
#include "commands/messages.h"
#include "commands/planning_rules.h"
#include "projections/families_view.h"
#include "projections/planning_view.h"
#include "projections/requests_view.h"
#include "server/family_access.h"
#include "server/handler_support.h"
#include "server/json.h"

namespace portail::server {
namespace {

using projections::RequestsView;

constexpr size_t kDefaultLimit = 50;
constexpr size_t kMaxLimit = 200;

Error Invalid(std::string field, std::string message) {
  std::string text = field + " " + message;
  return Error(ErrorCode::kInvalid, std::move(text), {{std::move(field), std::move(message)}});
}

std::optional<std::string_view> Query(const Request& request, const std::string& name) {
  auto found = request.query.find(name);
  if (found == request.query.end()) return std::nullopt;
  return std::string_view(found->second);
}

// Rejects query parameters other than `known` (a typo would silently widen a filter).
Status OnlyKnown(const Request& request, std::initializer_list<std::string_view> known) {
  for (const auto& [name, value] : request.query) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return std::unexpected(Invalid(name, "is not a parameter of this query"));
    }
  }
  return {};
}

// A cursor this API gave: the decimal position of the last item of the previous page.
Result<uint64_t> Cursor(const Request& request) {
  auto text = Query(request, "cursor");
  if (!text || text->empty()) return 0;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value == 0) {
    return std::unexpected(Invalid("cursor", "is not a cursor this API gave"));
  }
  return value;
}

Result<size_t> Limit(const Request& request) {
  auto text = Query(request, "limit");
  if (!text) return kDefaultLimit;
  size_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < 1 || value > kMaxLimit) {
    return std::unexpected(Invalid("limit", "must be 1 to 200"));
  }
  return value;
}

Result<std::optional<int>> DayParam(const Request& request, const std::string& name) {
  auto text = Query(request, name);
  if (!text) return std::optional<int>();
  auto day = commands::ParseDay(*text);
  if (!day) return std::unexpected(Invalid(name, "must be a date YYYY-MM-DD"));
  return std::optional<int>(commands::DaysOf(*day));
}

bool IsId(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

// commands::ParisIso for lists of instants. Paris's offset is a whole number of hours and changes
// only at whole UTC hours, so an instant's text is its UTC hour's with the minutes and seconds
// replaced: one time-zone lookup per hour met, per thread.
std::string ParisTime(int64_t micros) {
  if (micros < 0) return commands::ParisIso(micros);
  thread_local int64_t cached_hour = -1;
  thread_local std::string cached;
  int64_t seconds = micros / 1000000;
  int64_t hour = seconds / 3600;
  if (hour != cached_hour) {
    cached = commands::ParisIso(hour * 3600 * 1000000);
    cached_hour = hour;
  }
  std::string out = cached;  // "YYYY-MM-DDTHH:MM:SS+hh:mm"
  int in_hour = static_cast<int>(seconds - hour * 3600);
  if (out.size() < 19) return commands::ParisIso(micros);
  out[14] = static_cast<char>('0' + in_hour / 600);
  out[15] = static_cast<char>('0' + in_hour / 60 % 10);
  out[17] = static_cast<char>('0' + in_hour % 60 / 10);
  out[18] = static_cast<char>('0' + in_hour % 10);
  return out;
}

// Completes a summary from the view with its creation time and unread count.
void AppendRow(std::string& out, const projections::RequestRow& row) {
  out += row.json;
  out += ",\"created_at\":\"";
  out += ParisTime(row.created_at_us);
  out += "\",\"unread\":";
  out += std::to_string(row.unread);
  out += '}';
}

Response RawJson(int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  response.headers.emplace_back("Cache-Control", "private, no-store");
  return response;
}

}  // namespace

void RequestRoutes::Add(Router& router) {
  auto bind = [this](void (RequestRoutes::*method)(Request&, Reply)) {
    return [this, method](Request& request, Reply reply) {
      (this->*method)(request, std::move(reply));
    };
  };
  router.Add("GET", "/api/v1/me/requests", bind(&RequestRoutes::List));
  router.Add("POST", "/api/v1/me/requests/read-all", bind(&RequestRoutes::ReadAll));
  router.Add("GET", "/api/v1/families/{family_id}/requests/{request_id}/history",
             bind(&RequestRoutes::History));
  router.Add("POST", "/api/v1/families/{family_id}/requests/{request_id}/messages",
             bind(&RequestRoutes::PostMessage));
  router.Add("GET", "/api/v1/agent/requests", bind(&RequestRoutes::Queue));
}

void RequestRoutes::List(Request& request, Reply reply) {
  auto caller = auth_->Authenticate(request);
  if (!caller) return reply(ErrorResponse(caller.error()));
  if (auto ok =
          OnlyKnown(request, {"family", "child", "kind", "state", "from", "to", "cursor", "limit"});
      !ok) {
    return reply(ErrorResponse(ok.error()));
  }
  std::vector<std::string> families;
  auto family = Query(request, "family");
  if (family && !IsId(*family)) {
    return reply(ErrorResponse(Invalid("family", "must be a family id")));
  }
  if (caller->is_family()) {
    if (family) {
      if (!caller->SubscribedTo(*family)) {
        return reply(ErrorResponse(ErrorCode::kNotFound, "no such family"));
      }
      families.emplace_back(*family);
    } else {
      families = caller->account.subscriptions;
    }
  } else {
    if (!family) {
      return reply(ErrorResponse(
          Invalid("family", "is required for agents (the agents' queue spans families)")));
    }
    if (!projections::FamiliesView::Family(*services_.store->View("families"), *family)) {
      return reply(ErrorResponse(ErrorCode::kNotFound, "no such family"));
    }
    families.emplace_back(*family);
  }
  projections::RequestFilter filter;
  if (auto child = Query(request, "child")) {
    if (!IsId(*child)) return reply(ErrorResponse(Invalid("child", "must be a child id")));
    filter.child_id = std::string(*child);
  }
  if (auto kind = Query(request, "kind")) {
    if (*kind != "reservation" && *kind != "absence" && *kind != "dossier_change") {
      return reply(
          ErrorResponse(Invalid("kind", "must be reservation, absence or dossier_change")));
    }
    filter.kind = std::string(*kind);
  }
  if (auto state = Query(request, "state")) {
    static const std::set<std::string, std::less<>> kStates = {
        "pending", "partly_decided", "accepted",  "partly_accepted",
        "refused", "waiting_list",   "cancelled", "superseded"};
    if (!kStates.contains(*state)) {
      return reply(ErrorResponse(
          Invalid("state",
                  "must be pending, partly_decided, accepted, partly_accepted, refused, "
                  "waiting_list, cancelled or superseded")));
    }
    filter.state = std::string(*state);
  }
  auto from = DayParam(request, "from");
  if (!from) return reply(ErrorResponse(from.error()));
  auto to = DayParam(request, "to");
  if (!to) return reply(ErrorResponse(to.error()));
  if (*from && *to && **to < **from) {
    return reply(ErrorResponse(Invalid("to", "must not be before from")));
  }
  filter.from_day = *from;
  filter.to_day = *to;
  auto cursor = Cursor(request);
  if (!cursor) return reply(ErrorResponse(cursor.error()));
  auto limit = Limit(request);
  if (!limit) return reply(ErrorResponse(limit.error()));

  auto rows = RequestsView::List(*services_.store->View("requests"), families, caller->account.id,
                                 filter, *cursor, *limit + 1);
  bool more = rows.size() > *limit;
  if (more) rows.resize(*limit);
  std::string body;
  body.reserve(64 + rows.size() * 400);
  body += "{\"requests\":[";
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i > 0) body += ',';
    AppendRow(body, rows[i]);
  }
  body += "],\"next_cursor\":";
  body += more ? "\"" + std::to_string(rows.back().position) + "\"" : std::string("null");
  body += '}';
  reply(RawJson(200, std::move(body)));
}

void RequestRoutes::ReadAll(Request& request, Reply reply) {
  auto caller = auth_->Authenticate(request);
  if (!caller) return reply(ErrorResponse(caller.error()));
  if (caller->is_auditor()) {
    return reply(ErrorResponse(ErrorCode::kForbidden, "auditors can read but not change anything"));
  }
  auto command = std::make_unique<commands::MarkAllRead>();
  command->actor = ActorOf(*caller);
  command->account_id = caller->account.id;
  command->up_to_position = std::max<uint64_t>(services_.store->HeadPosition(), 1);
  uint64_t up_to = command->up_to_position;
  ExecuteAndReply(*services_.bus, std::move(command), std::move(reply),
                  [up_to](commands::CommandOutcome&) {
                    return JsonResponse(200, Json{{"read_up_to", std::to_string(up_to)}});
                  });
}

void RequestRoutes::History(Request& request, Reply reply) {
  auto allowed = ReadAccess(*auth_, request, *services_.store);
  if (!allowed) return reply(ErrorResponse(allowed.error()));
  std::string request_id(request.Param("request_id"));
  auto history = RequestsView::History(*services_.store->View("requests"), request_id,
                                       allowed->caller.account.id);
  if (!history || history->family_id != request.Param("family_id")) {
    return reply(ErrorResponse(ErrorCode::kNotFound, "no such request"));
  }
  int unread = history->summary.unread;
  // Opening the history marks it read for this account (auditors only look).
  bool mark = unread > 0 && allowed->access != Access::kAuditor;
  history->summary.unread = mark ? 0 : unread;
  std::string body;
  body.reserve(512 + history->entries.size() * 300);
  body += "{\"request\":";
  AppendRow(body, history->summary);
  body += ",\"entries\":[";
  for (size_t i = 0; i < history->entries.size(); ++i) {
    const auto& entry = history->entries[i];
    if (i > 0) body += ',';
    body += entry.json;
    body += ",\"at\":\"";
    body += ParisTime(entry.at_us);
    body += "\"}";
  }
  body += "],\"marked_read\":";
  body += std::to_string(mark ? unread : 0);
  body += '}';
  if (!mark) return reply(RawJson(200, std::move(body)));
  auto command = std::make_unique<commands::MarkRequestRead>();
  command->actor = ActorOf(allowed->caller);
  command->account_id = allowed->caller.account.id;
  command->request_id = request_id;
  command->up_to_position = history->last_update;
  ExecuteAndReply(
      *services_.bus, std::move(command), std::move(reply),
      [body = std::move(body)](commands::CommandOutcome&) { return RawJson(200, body); });
}

void RequestRoutes::PostMessage(Request& request, Reply reply) {
  auto allowed = WriteAccess(*auth_, request, *services_.store);
  if (!allowed) return reply(ErrorResponse(allowed.error()));
  auto input = JsonInput::FromRequest(request);
  if (!input) return reply(ErrorResponse(input.error()));
  std::string text = input->String("text", 1, commands::kMaxMessageLength);
  if (auto ok = input->Finish(); !ok) return reply(ErrorResponse(ok.error()));
  if (auto ok = commands::CheckMessageText(text); !ok) return reply(ErrorResponse(ok.error()));
  auto command = std::make_unique<commands::PostMessage>();
  command->actor = ActorOf(allowed->caller);
  command->by_name = NameOf(allowed->caller);
  command->family_id = std::string(request.Param("family_id"));
  command->request_id = std::string(request.Param("request_id"));
  command->from_town = allowed->access == Access::kAgent;
  command->text = text;
  Json body{{"request_id", command->request_id},
            {"from_town", command->from_town},
            {"text", text},
            {"by", {{"id", allowed->caller.account.id}, {"name", command->by_name}}}};
  const commands::Clock* clock = services_.clock;
  ExecuteAndReply(*services_.bus, std::move(command), std::move(reply),
                  [body, clock](commands::CommandOutcome& outcome) {
                    Json out = body;
                    if (!outcome.positions.empty()) {
                      out["position"] = std::to_string(outcome.positions.front());
                    }
                    out["at"] = commands::ParisIso(clock->Now());
                    return JsonResponse(201, out);
                  });
}

void RequestRoutes::Queue(Request& request, Reply reply) {
  auto caller = StaffAccess(*auth_, request, /*auditors_too=*/true);
  if (!caller) return reply(ErrorResponse(caller.error()));
  if (auto ok = OnlyKnown(request, {"activity", "date", "kind", "cursor", "limit"}); !ok) {
    return reply(ErrorResponse(ok.error()));
  }
  std::string activity;
  if (auto text = Query(request, "activity")) {
    if (!IsId(*text)) return reply(ErrorResponse(Invalid("activity", "must be an activity id")));
    activity = std::string(*text);
  }
  auto day = DayParam(request, "date");
  if (!day) return reply(ErrorResponse(day.error()));
  std::string kind;
  if (auto text = Query(request, "kind")) {
    if (*text != "reservation" && *text != "absence") {
      return reply(ErrorResponse(Invalid("kind", "must be reservation or absence")));
    }
    kind = std::string(*text);
  }
  auto cursor = Cursor(request);
  if (!cursor) return reply(ErrorResponse(cursor.error()));
  auto limit = Limit(request);
  if (!limit) return reply(ErrorResponse(limit.error()));

  const events::ViewReader& planning = *services_.store->View("planning");
  const events::ViewReader& rows = *services_.store->View("requests");
  std::map<std::string, std::string, std::less<>> activity_names;
  auto activity_name = [&](const std::string& id) -> const std::string& {
    auto found = activity_names.find(id);
    if (found == activity_names.end()) {
      auto a = projections::PlanningView::Activity(planning, id);
      found = activity_names.emplace(id, a ? a->name : std::string()).first;
    }
    return found->second;
  };
  if (!activity.empty() && !projections::PlanningView::Activity(planning, activity)) {
    return reply(ErrorResponse(Invalid("activity", "names " + activity + ", not an activity")));
  }
  auto queued = RequestsView::Queue(rows, activity, *day, kind, *cursor, *limit + 1);
  bool more = queued.size() > *limit;
  if (more) queued.resize(*limit);
  std::map<std::string, std::map<std::string, std::string>> child_names;  // family -> child
  Json requests = Json::array();
  for (const auto& q : queued) {
    auto names = child_names.find(q.family_id);
    if (names == child_names.end()) {
      names = child_names.emplace(q.family_id, std::map<std::string, std::string>()).first;
      for (const auto& c : projections::PlanningView::Children(planning, q.family_id)) {
        names->second[c.id] = c.name();
      }
    }
    Json days = Json::array();
    int pending = 0;
    for (const auto& d : q.days) {
      Json day_json{{"child_id", d.child_id},
                    {"child_name", names->second[d.child_id]},
                    {"activity_id", d.activity_id},
                    {"activity_name", activity_name(d.activity_id)},
                    {"date", commands::FormatDay(commands::DayOf(d.day))},
                    {"state", d.state}};
      if (!d.reason.empty()) day_json["reason"] = d.reason;
      pending += d.state == "pending" ? 1 : 0;
      days.push_back(std::move(day_json));
    }
    requests.push_back({{"id", q.request_id},
                        {"family_id", q.family_id},
                        {"kind", q.kind},
                        {"created_at", commands::ParisIso(q.created_at_us)},
                        {"created_by", {{"id", q.by_id}, {"name", q.by_name}}},
                        {"pending_days", pending},
                        {"days", std::move(days)}});
  }
  Json counts = Json::array();
  for (const auto& c : RequestsView::PendingByActivity(rows)) {
    counts.push_back({{"activity_id", c.activity_id},
                      {"activity_name", activity_name(c.activity_id)},
                      {"requests", c.requests},
                      {"days", c.days}});
  }
  Json body{{"requests", std::move(requests)},
            {"pending_by_activity", std::move(counts)},
            {"next_cursor", more ? Json(std::to_string(queued.back().position)) : Json()}};
  reply(JsonResponse(200, body));
}

}  // namespace portail::server
