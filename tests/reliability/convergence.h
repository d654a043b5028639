// "Registry == cluster" for the reliability tier: every sandbox shows the state its registry
// entry asks for (a purged one: nothing left, volume included), and the drift report is clean
// (no orphan, nothing missing, nothing left of deleted sandboxes).
#pragma once

#include <string>

#include "integration/cluster_env.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/drift.h"

namespace sandboxd::integration {

// One look; on a difference, `why` says what.
inline bool converged(KubernetesService& service, KubeClient& client, Registry& registry,
                      const SandboxConfig& config, std::string& why) {
  auto records = registry.listSandboxes();
  if (!records.isOk()) {
    why = records.status().toString();
    return false;
  }
  for (const auto& row : *records) {
    const SandboxRecord& r = *row;
    auto observed = service.status({r.nameSpace, r.name});
    if (!observed.isOk()) {
      why = r.name + ": " + observed.status().toString();
      return false;
    }
    const Phase want = r.desired == DesiredState::Running   ? Phase::Running
                       : r.desired == DesiredState::Stopped ? Phase::Stopped
                                                            : Phase::Terminated;
    if (observed->phase != want) {
      why = r.name + " wants " + toString(want) + ", is " + toString(observed->phase) + " (" +
            observed->reason + ")";
      return false;
    }
    if (r.desired == DesiredState::Deleted && r.purge) {
      auto gone = service.isGone({r.nameSpace, r.name}, true);
      if (!gone.isOk() || !*gone) {
        why = r.name + ": purged, but its pods or home volume are still there";
        return false;
      }
    }
  }
  auto drift = inspectDrift(client, registry, config);
  if (!drift.isOk() || !drift->clean()) {
    why = drift.isOk() ? drift->format() : drift.status().toString();
    return false;
  }
  return true;
}

}  // namespace sandboxd::integration
