// The reconciler's side of idle stop and expiry (SandboxManager::sweepLifetimes): finding the
// sandboxes due and stopping or deleting each, intent and operation record first, as a user's
// request would.
#pragma once

#include "sandboxd/common/time_source.h"
#include "sandboxd/config/config.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/activity_tracker.h"
#include "sandboxd/service/kubernetes_service.h"
#include "sandboxd/service/sandbox_locks.h"
#include "sandboxd/service/sandbox_manager.h"

namespace sandboxd {

// What a sweep works with: the manager's parts.
struct LifetimeParts {
  Registry& registry;
  KubernetesService& kube;
  SandboxLocks& locks;
  TimeSource& time;
  ActivityTracker& activity;
  const SandboxConfig& sandbox;
};

// The user operation records of the sweep's stops and deletes name.
inline constexpr const char* kSweepUser = "sandboxd";

StatusOr<LifetimeSweep> sweepLifetimes(const LifetimeParts& parts);

}  // namespace sandboxd
