// The server's views by name, for tools that build them apart from the server (replay, benches).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "events/projection.h"

namespace portail::projections {

// The names of the server's views (server/app.cc builds them from this list), in order:
// event_counts, accounts, families, outbox.
const std::vector<std::string>& ViewNames();

// A new projection of the view `name`, owned by the caller; nullptr for an unknown name.
std::unique_ptr<events::Projection> MakeView(std::string_view name);

// ViewNames() joined with ", ", for messages.
std::string ViewNamesText();

}  // namespace portail::projections
