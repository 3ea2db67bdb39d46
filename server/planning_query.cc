// The planning query (placeholder, being written).
#include "server/planning_query.h"

namespace portail::server {

void PlanningQuery::Add(Router&) {}

}  // namespace portail::server
