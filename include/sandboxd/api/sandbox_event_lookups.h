// The event feed's view of sandboxes (sandboxd/service/sandbox_event_feed.h) as the API shows
// them: the manager's answers (peek: what get answers, without its writes), read as an admin,
// shaped by the same code as GET /api/v1/sandboxes/{name} and its /operations.
#pragma once

#include "sandboxd/service/sandbox_event_feed.h"
#include "sandboxd/service/sandbox_manager.h"

namespace sandboxd {

SandboxEventLookups sandboxEventLookups(SandboxManagerPtr manager);

}  // namespace sandboxd
