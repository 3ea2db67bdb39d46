// The server's views by name.
#include "projections/registry.h"

#include "projections/accounts_view.h"
#include "projections/dossier_view.h"
#include "projections/event_counts.h"
#include "projections/families_view.h"
#include "projections/outbox_view.h"
#include "projections/planning_view.h"
#include "projections/requests_view.h"

namespace portail::projections {

const std::vector<std::string>& ViewNames() {
  static const std::vector<std::string> names = {"event_counts", "accounts", "families", "outbox",
                                                 "dossier",      "planning", "requests"};
  return names;
}

std::unique_ptr<events::Projection> MakeView(std::string_view name) {
  if (name == "event_counts") return std::make_unique<EventCounts>();
  if (name == "accounts") return std::make_unique<AccountsView>();
  if (name == "families") return std::make_unique<FamiliesView>();
  if (name == "outbox") return std::make_unique<OutboxView>();
  if (name == "dossier") return std::make_unique<DossierView>();
  if (name == "planning") return std::make_unique<PlanningView>();
  if (name == "requests") return std::make_unique<RequestsView>();
  return nullptr;
}

std::string ViewNamesText() {
  std::string text;
  for (const auto& name : ViewNames()) text += (text.empty() ? "" : ", ") + name;
  return text;
}

}  // namespace portail::projections
