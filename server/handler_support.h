// Small pieces every route uses: run a command and answer, time formatting.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "commands/command_bus.h"
#include "server/http_types.h"
#include "server/json.h"

namespace portail::server {

// Submits `command`; answers with `ok(outcome)` once durable, or with the command's error.
void ExecuteAndReply(commands::CommandBus& bus, std::unique_ptr<commands::Command> command,
                     Reply reply, std::function<Response(commands::CommandOutcome&)> ok);

// RFC 3339 UTC text of a microsecond timestamp, e.g. "2026-11-28T23:48:59Z".
std::string IsoTime(int64_t micros);

// An empty 204 answer.
Response NoContent();

}  // namespace portail::server
