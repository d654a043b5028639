// PATCH /api/v1/sandboxes/{name} (SandboxManager::update), checked before anything changes.
#pragma once

#include "sandboxd/common/status.h"
#include "sandboxd/config/config.h"
#include "sandboxd/model/sandbox.h"
#include "sandboxd/service/sandbox_manager.h"

namespace sandboxd {

struct CheckedUpdate {
  SandboxRecord record;  // the row with the change applied
  bool grow = false;     // its home volume must grow to record.storage first
};

// `change` applied to `record` (of profile `settings`) at `now`, or InvalidArgument (422)
// naming the field: a storage that is not a Mi/Gi/Ti quantity, outside the profile's bounds or
// smaller than the volume is now; an idle period or expiry the rules refuse
// (service/lifetimes.h). The same size in other units is no change.
StatusOr<CheckedUpdate> checkSandboxUpdate(const SandboxRecord& record,
                                           const SandboxUpdate& change,
                                           const SandboxConfig& settings, SystemTime now);

}  // namespace sandboxd
