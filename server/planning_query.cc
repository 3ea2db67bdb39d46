// The planning query (see planning_query.h and docs/openapi.yaml). The JSON is written by hand:
// a month of 3 children x 4 activities is a few hundred cells, and a cache miss renders it whole.
#include "server/planning_query.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "commands/planning_rules.h"
#include "projections/json_text.h"
#include "projections/planning_view.h"
#include "server/family_access.h"
#include "server/json.h"

namespace portail::server {
namespace {

using commands::Day;
using commands::Micros;
using projections::AppendJsonString;
using projections::PlanningView;

constexpr size_t kMaxFilterIds = 50;
constexpr int kFirstYear = 2000;
constexpr int kLastYear = 2100;

// A planning query with its defaults applied; two queries asking the same thing are equal.
struct PlanningRequest {
  std::string view;  // month, week7, week5
  Day from;
  Day to;
  std::vector<std::string> children;    // sorted, unique; empty: every child
  std::vector<std::string> activities;  // sorted, unique; empty: every activity

  std::string Key(std::string_view family) const {
    std::string key(family);
    key += '|' + view + '|' + std::to_string(commands::DaysOf(from)) + '|';
    for (const auto& c : children) key += c + ',';
    key += '|';
    for (const auto& a : activities) key += a + ',';
    return key;
  }
};

Error Invalid(std::string field, std::string message) {
  std::string text = field + " " + message;
  return Error(ErrorCode::kInvalid, std::move(text), {{std::move(field), std::move(message)}});
}

// The comma-separated ids of query parameter `name`, sorted and unique.
Result<std::vector<std::string>> IdList(const Request& request, const std::string& name) {
  std::vector<std::string> ids;
  auto found = request.query.find(name);
  if (found == request.query.end() || found->second.empty()) return ids;
  std::string_view text = found->second;
  while (true) {
    size_t comma = text.find(',');
    std::string_view id = text.substr(0, comma);
    if (id.empty() || id.size() > 64) {
      return std::unexpected(Invalid(name, "must be a comma-separated list of ids"));
    }
    ids.emplace_back(id);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (ids.size() > kMaxFilterIds) {
    return std::unexpected(Invalid(name, "must name at most 50 ids"));
  }
  return ids;
}

Result<PlanningRequest> ParsePlanningRequest(const Request& request, Micros now) {
  PlanningRequest out;
  auto view = request.query.find("view");
  out.view = view == request.query.end() ? "month" : view->second;
  if (out.view != "month" && out.view != "week7" && out.view != "week5") {
    return std::unexpected(Invalid("view", "must be month, week7 or week5"));
  }
  Day date = commands::ParisDay(now);
  if (auto text = request.query.find("date"); text != request.query.end()) {
    auto parsed = commands::ParseDay(text->second);
    if (!parsed) return std::unexpected(Invalid("date", "must be a date YYYY-MM-DD"));
    date = *parsed;
  }
  int year = static_cast<int>(std::chrono::year_month_day(date).year());
  if (year < kFirstYear || year > kLastYear) {
    return std::unexpected(Invalid("date", "must be from 2000 to 2100"));
  }
  std::tie(out.from, out.to) = out.view == "month"   ? commands::MonthOf(date)
                               : out.view == "week7" ? commands::WeekOf(date, 7)
                                                     : commands::WeekOf(date, 5);
  auto children = IdList(request, "children");
  if (!children) return std::unexpected(children.error());
  out.children = std::move(*children);
  auto activities = IdList(request, "activities");
  if (!activities) return std::unexpected(activities.error());
  out.activities = std::move(*activities);
  return out;
}

commands::NoticeRule RuleOf(const projections::PlanningNotice& notice) {
  commands::NoticeRule rule;
  rule.kind = notice.kind == schema::NoticeKind::WorkingDaysBefore
                  ? commands::NoticeRule::Kind::kWorkingDaysBefore
                  : commands::NoticeRule::Kind::kDaysBeforeAt;
  rule.days = notice.days;
  rule.at_minutes = notice.at_minutes;
  return rule;
}

commands::ActivityRules RulesOf(const projections::PlanningActivity& a) {
  commands::ActivityRules rules;
  rules.id = a.id;
  rules.name = a.name;
  rules.kind = a.kind;
  rules.calendar.weekdays = a.weekdays;
  for (const auto& [from, to] : a.periods) {
    rules.calendar.periods.emplace_back(commands::DayOf(from), commands::DayOf(to));
  }
  for (int day : a.closed_days) rules.calendar.closed_days.insert(commands::DayOf(day));
  rules.capacity = a.capacity;
  rules.reservation_notice = RuleOf(a.reservation_notice);
  rules.absence_notice = RuleOf(a.absence_notice);
  rules.automatic = a.mode == schema::DecisionMode::Automatic;
  return rules;
}

// Appends `,"name":"value"`.
void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":";
  AppendJsonString(out, value);
}

struct Rendered {
  std::string body;
  Micros expires = std::numeric_limits<Micros>::max();  // the first deadline after now
};

// One activity as the planning uses it.
struct Shown {
  projections::PlanningActivity activity;
  commands::ActivityRules rules;
};

// The planning of `family` for `query` at `now`; kInvalid naming an unknown child or activity.
Result<Rendered> Render(const events::ViewReader& rows, std::string_view family,
                        const PlanningRequest& query, Micros now) {
  // Children, in the family's order, and the filter checked against them.
  std::vector<projections::PlanningChild> children = PlanningView::Children(rows, family);
  for (const auto& id : query.children) {
    if (std::none_of(children.begin(), children.end(), [&](const auto& c) { return c.id == id; })) {
      return std::unexpected(Invalid("children", "names " + id + ", not a child of this family"));
    }
  }
  if (!query.children.empty()) {
    std::erase_if(children, [&](const auto& c) {
      return !std::binary_search(query.children.begin(), query.children.end(), c.id);
    });
  }
  std::map<std::string, Shown, std::less<>> activities;
  auto load = [&](const std::string& id) -> const Shown* {
    if (auto found = activities.find(id); found != activities.end()) return &found->second;
    auto a = PlanningView::Activity(rows, id);
    if (!a) return nullptr;
    auto rules = RulesOf(*a);
    return &activities.emplace(id, Shown{std::move(*a), std::move(rules)}).first->second;
  };
  for (const auto& id : query.activities) {
    if (load(id) == nullptr) {
      return std::unexpected(Invalid("activities", "names " + id + ", not an activity"));
    }
  }
  auto wanted = [&](std::string_view activity) {
    return query.activities.empty() ||
           std::binary_search(query.activities.begin(), query.activities.end(), activity);
  };

  int from = commands::DaysOf(query.from);
  int to = commands::DaysOf(query.to);
  int days = to - from + 1;
  // Per child: its enrolments in the period and its cells, by day.
  struct ChildData {
    std::vector<projections::PlanningEnrolment> enrolments;
    std::vector<projections::PlanningCell> cells;
    std::set<std::string> activity_ids;  // enrolled in the period or with a cell
  };
  std::vector<ChildData> data(children.size());
  for (size_t i = 0; i < children.size(); ++i) {
    for (auto& e : PlanningView::Enrolments(rows, family, children[i].id)) {
      if (e.to < from || e.from > to || !wanted(e.activity_id) || !load(e.activity_id)) continue;
      data[i].activity_ids.insert(e.activity_id);
      data[i].enrolments.push_back(std::move(e));
    }
    for (auto& cell : PlanningView::Cells(rows, family, children[i].id, from, to)) {
      if (!wanted(cell.activity_id) || !load(cell.activity_id)) continue;
      data[i].activity_ids.insert(cell.activity_id);
      data[i].cells.push_back(std::move(cell));
    }
  }
  // The activities shown: those asked for, else those of the children's rows; by name then id.
  std::vector<const Shown*> shown;
  for (const auto& [id, s] : activities) {
    bool used = std::any_of(data.begin(), data.end(),
                            [&](const ChildData& d) { return d.activity_ids.contains(id); });
    if (wanted(id) && (used || !query.activities.empty())) shown.push_back(&s);
  }
  std::sort(shown.begin(), shown.end(), [](const Shown* a, const Shown* b) {
    return std::tie(a->activity.name, a->activity.id) < std::tie(b->activity.name, b->activity.id);
  });

  Rendered out;
  std::string& body = out.body;
  body.reserve(512 + static_cast<size_t>(days) * 48 +
               children.size() * shown.size() * static_cast<size_t>(days) * 200);
  body += "{\"family_id\":";
  AppendJsonString(body, family);
  AppendField(body, "view", query.view);
  AppendField(body, "from", commands::FormatDay(query.from));
  AppendField(body, "to", commands::FormatDay(query.to));
  body += ",\"children\":[";
  for (size_t i = 0; i < children.size(); ++i) {
    body += i == 0 ? "{\"id\":" : ",{\"id\":";
    AppendJsonString(body, children[i].id);
    AppendField(body, "name", children[i].name());
    AppendField(body, "colour", children[i].colour);
    body += '}';
  }
  body += "],\"activities\":[";
  for (size_t i = 0; i < shown.size(); ++i) {
    body += i == 0 ? "{\"id\":" : ",{\"id\":";
    AppendJsonString(body, shown[i]->activity.id);
    AppendField(body, "name", shown[i]->activity.name);
    AppendField(body, "kind", commands::ActivityKindName(shown[i]->activity.kind));
    body += '}';
  }
  body += "],\"days\":[";
  std::vector<size_t> next_cell(children.size(), 0);
  for (int day = from; day <= to; ++day) {
    Day date = commands::DayOf(day);
    body += day == from ? "{\"date\":" : ",{\"date\":";
    AppendJsonString(body, commands::FormatDay(date));
    body += ",\"cells\":[";
    bool first = true;
    for (size_t i = 0; i < children.size(); ++i) {
      ChildData& d = data[i];
      // This day's cells of the child (cells are in day order).
      size_t begin = next_cell[i];
      while (begin < d.cells.size() && d.cells[begin].day < day) ++begin;
      size_t end = begin;
      while (end < d.cells.size() && d.cells[end].day == day) ++end;
      next_cell[i] = end;
      for (const Shown* s : shown) {
        const std::string& id = s->activity.id;
        if (!d.activity_ids.contains(id)) continue;
        const projections::PlanningCell* cell = nullptr;
        for (size_t c = begin; c < end; ++c) {
          if (d.cells[c].activity_id == id) cell = &d.cells[c];
        }
        bool enrolled = std::any_of(d.enrolments.begin(), d.enrolments.end(), [&](const auto& e) {
          return e.activity_id == id && e.Covers(day);
        });
        if (cell == nullptr && (!enrolled || !s->rules.calendar.RunsOn(date))) continue;
        schema::BookingState state = cell ? cell->state : schema::BookingState::None;
        commands::DayOptions options = commands::OptionsOf(s->rules, enrolled, state, date, now);
        if (options.deadline > now) out.expires = std::min(out.expires, options.deadline);
        body += first ? "{\"child_id\":" : ",{\"child_id\":";
        first = false;
        AppendJsonString(body, children[i].id);
        AppendField(body, "activity_id", id);
        AppendField(body, "activity_name", s->activity.name);
        AppendField(body, "colour", children[i].colour);
        AppendField(body, "state", commands::BookingStateName(state));
        body += options.can_reserve ? ",\"can_reserve\":true" : ",\"can_reserve\":false";
        body += options.can_report_absence ? ",\"can_report_absence\":true"
                                           : ",\"can_report_absence\":false";
        body += options.can_cancel ? ",\"can_cancel\":true" : ",\"can_cancel\":false";
        if (options.deadline != 0) AppendField(body, "until", commands::ParisIso(options.deadline));
        if (cell && !cell->request_id.empty()) AppendField(body, "request_id", cell->request_id);
        if (cell && !cell->reason.empty()) AppendField(body, "reason", cell->reason);
        body += '}';
      }
    }
    body += "]}";
  }
  body += "]}";
  return out;
}

}  // namespace

// A rendered answer: the versions it was rendered at and the log head at which they were last
// found current, so it is reused without reading the view while the log has not moved.
struct PlanningQuery::Rendered {
  std::string body;
  uint64_t family_version = 0;
  uint64_t activities_version = 0;
  Micros rendered_at = 0;  // valid from this instant (a clock set back misses)
  Micros expires = 0;      // to this one (exclusive): a deadline in the answer passes
  std::atomic<uint64_t> checked_head{0};
};

PlanningQuery::PlanningQuery(const Services& services, Authenticator* auth)
    : services_(services), auth_(auth), cache_(std::make_unique<ShardedCache<Rendered>>()) {}

PlanningQuery::~PlanningQuery() = default;

void PlanningQuery::Add(Router& router) {
  router.Add("GET", "/api/v1/families/{family_id}/planning",
             [this](Request& request, Reply reply) { GetPlanning(request, std::move(reply)); });
}

void PlanningQuery::GetPlanning(Request& request, Reply reply) {
  auto allowed = ReadAccess(*auth_, request, *services_.store);
  if (!allowed) return reply(ErrorResponse(allowed.error()));
  std::string family(request.Param("family_id"));
  Micros now = services_.clock->Now();
  auto query = ParsePlanningRequest(request, now);
  if (!query) return reply(ErrorResponse(query.error()));
  const events::ViewReader& rows = *services_.store->View("planning");
  auto answer = [&reply](const Rendered& entry, const char* cache) {
    Response response;
    response.body = entry.body;
    response.headers.emplace_back("Cache-Control", "private, no-cache");
    response.headers.emplace_back("X-Planning-Cache", cache);
    reply(std::move(response));
  };

  // The head first, then the versions: rows read after them are at least as new, so an entry is
  // never marked current for a head beyond what it shows.
  std::string key = query->Key(family);
  uint64_t head = services_.store->HeadPosition();
  std::optional<std::pair<uint64_t, uint64_t>> versions;
  auto read_versions = [&] {
    if (!versions) {
      versions.emplace(PlanningView::Version(rows, family), PlanningView::ActivitiesVersion(rows));
    }
    return *versions;
  };
  if (auto entry = cache_->Find(key); entry && now >= entry->rendered_at && now < entry->expires) {
    if (entry->checked_head.load(std::memory_order_acquire) == head) return answer(*entry, "hit");
    auto [family_version, activities_version] = read_versions();
    if (family_version == entry->family_version &&
        activities_version == entry->activities_version) {
      entry->checked_head.store(head, std::memory_order_release);
      return answer(*entry, "hit");
    }
  }

  auto [family_version, activities_version] = read_versions();
  auto rendered = Render(rows, family, *query, now);
  if (!rendered) return reply(ErrorResponse(rendered.error()));
  auto entry = std::make_shared<Rendered>();
  entry->body = std::move(rendered->body);
  entry->family_version = family_version;
  entry->activities_version = activities_version;
  entry->rendered_at = now;
  entry->expires = rendered->expires;
  entry->checked_head.store(head);
  cache_->Put(key, entry);
  answer(*entry, "miss");
}

}  // namespace portail::server
