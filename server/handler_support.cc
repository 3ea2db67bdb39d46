// Shared route helpers.
#include "server/handler_support.h"

#include <ctime>

#include "events/log.h"

namespace portail::server {

void ExecuteAndReply(commands::CommandBus& bus, std::unique_ptr<commands::Command> command,
                     Reply reply, std::function<Response(commands::CommandOutcome&)> ok) {
  bus.Submit(std::move(command), [reply = std::move(reply), ok = std::move(ok)](
                                     Result<commands::CommandOutcome> outcome) mutable {
    if (!outcome) {
      reply(ErrorResponse(outcome.error()));
      return;
    }
    // This runs on the bus's completion thread: nothing may escape it.
    try {
      reply(ok(*outcome));
    } catch (const std::exception& e) {
      log::error("building a response failed: {}", e.what());
      reply(ErrorResponse(ErrorCode::kInternal, "an internal error occurred"));
    }
  });
}

Response NoContent() {
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

}  // namespace portail::server
