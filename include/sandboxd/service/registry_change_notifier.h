// A Registry decorator that tells SandboxChanges of every write that changes what the API
// shows of a sandbox (its row) or its operation record, after the write succeeded. The live
// event streams learn of intents, creations, deletions and operation state changes this way,
// whichever part of sandboxd (request, reconciler) made them.
#pragma once

#include <memory>

#include "sandboxd/registry/registry.h"
#include "sandboxd/service/sandbox_changes.h"

namespace sandboxd {

RegistryPtr withChangeNotifications(RegistryPtr inner, std::shared_ptr<SandboxChanges> changes);

}  // namespace sandboxd
