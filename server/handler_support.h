// Small pieces every route uses: run a command and answer, time formatting.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "commands/command_bus.h"
#include "events/time_text.h"
#include "server/http_types.h"
#include "server/json.h"

namespace portail::server {

// Submits `command`; answers with `ok(outcome)` once durable, or with the command's error.
void ExecuteAndReply(commands::CommandBus& bus, std::unique_ptr<commands::Command> command,
                     Reply reply, std::function<Response(commands::CommandOutcome&)> ok);

using events::IsoTime;

// An empty 204 answer.
Response NoContent();

}  // namespace portail::server
