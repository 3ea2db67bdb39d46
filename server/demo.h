// The demo town: an agent, two families and a parent, so a fresh server can be tried at once.
#pragma once

#include <string>

#include "server/app.h"

namespace portail::server {

// Seeds the demo town when the log is empty and writes the logins and subscriber codes to
// DATA/DEMO.txt; returns that file's text (also when it was seeded by an earlier run), or an
// error when a command fails.
Result<std::string> SeedDemoTown(App& app, const std::string& data_dir);

}  // namespace portail::server
