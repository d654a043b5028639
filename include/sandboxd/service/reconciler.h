// The reconciler drives the cluster to the desired state recorded in the registry. The manager
// records intent first and then tries the cluster call itself; whatever did not happen (the
// call failed, the process died, someone deleted an object) is done here: at start-up, on a
// period, and soon after the watch cache reports a workload that no longer matches its
// sandbox's desired state (deleted, or scaled behind sandboxd's back).
//
// One pass lists the registry and the sandbox objects (a constant number of list calls per
// namespace), computes what differs (sandbox by sandbox, pure), and acts only where something
// does, under the same per-sandbox lock as the manager and on the record as it is then (so a
// late pass never undoes a newer request):
//   desired running/stopped  re-create a missing workload, Service or Ingress (never the Secret:
//                            its values live only there; a lost Secret is an ERROR with reason
//                            SecretLost); scale to the desired replicas
//   desired deleted          delete what is left (the home volume too when purged); a purged
//                            sandbox's row is removed once nothing is left
// Objects no registry entry accounts for are counted, never deleted. A sandbox whose repair
// keeps failing is retried with exponential backoff and, after `maxAttempts`, marked ERROR
// with reason ReconcileFailed and the last error; it can still be stopped, started, deleted.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "sandboxd/common/status.h"
#include "sandboxd/common/time_source.h"
#include "sandboxd/config/config.h"
#include "sandboxd/kube/kube_client.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/kubernetes_service.h"
#include "sandboxd/service/sandbox_locks.h"
#include "sandboxd/service/sandbox_manager.h"

namespace sandboxd {

struct ReconcilerOptions {
  std::chrono::milliseconds interval{10000};  // between passes (at least; see maxPassShare)
  // The most of the time periodic passes may take: after a pass that took D, the next
  // periodic one waits max(interval, D * (1 - share) / share). A pass lists every object of
  // every sandbox from the API server (consistent reads, from etcd): at 10,000 sandboxes,
  // every 10 s, that was a third of a core of the API server's CPU and a sixth of sandboxd's
  // while nothing happened. Changes reported by the watch cache still wake a pass at once.
  double maxPassShare = 0.1;
  int maxAttempts = 5;                          // consecutive failures before ERROR
  std::chrono::milliseconds firstBackoff{1000};  // doubled per failure, at most 16x
  // After a reported change, the pass waits this long (gathering further changes and letting
  // a request that is carrying out the same change finish); also the least time between two
  // passes that changes triggered.
  std::chrono::milliseconds eventDelay{1000};
  // Run first in every pass: serve's is the manager's idle stop and expiry
  // (SandboxManager::sweepLifetimes), whose stops and deletes the same pass then carries out
  // should their own cluster calls have failed. Unset: none.
  std::function<StatusOr<LifetimeSweep>()> sweepLifetimes;
};

// How long the periodic loop waits after a pass that took `lastPass` (see maxPassShare).
std::chrono::milliseconds delayAfterPass(const ReconcilerOptions& options,
                                         std::chrono::milliseconds lastPass);

// What one pass did.
struct ReconcilePass {
  int sandboxes = 0;  // registry entries looked at
  int repaired = 0;   // sandboxes with objects re-created
  int scaled = 0;     // sandboxes scaled to their desired replicas
  int deleted = 0;    // deleted sandboxes whose leftovers were removed
  int failed = 0;     // sandboxes whose action failed this pass
  int deferred = 0;   // sandboxes skipped while backing off
  int orphans = 0;    // objects no registry entry accounts for (reported, untouched)
  int missing = 0;    // objects of live sandboxes found missing (before the pass acted)
  int lingering = 0;  // objects of deleted sandboxes still there (before the pass acted)
  int idleStopped = 0;  // running sandboxes stopped for being idle (sweepLifetimes)
  int expired = 0;      // sandboxes deleted at their expiresAt, volume kept (sweepLifetimes)
};

// Counters since start, and the last pass (for /metrics).
struct ReconcilerStats {
  uint64_t passes = 0;          // passes that completed
  uint64_t failedPasses = 0;    // passes that could not list the registry or the cluster
  uint64_t triggeredPasses = 0;  // passes started early by a reported change
  uint64_t repaired = 0, scaled = 0, deleted = 0, failed = 0;  // summed over passes
  uint64_t idleStopped = 0, expired = 0;                        // summed over passes
  std::optional<ReconcilePass> last;
  std::optional<MonotonicTime> lastPassAt;  // when the last completed pass ended
};

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  // One pass; an error means the registry or the cluster could not be listed.
  virtual StatusOr<ReconcilePass> reconcileOnce() = 0;
  // Runs a pass now and then every interval on a thread of its own, until stop().
  virtual void start() = 0;
  virtual void stop() = 0;
  // Told of a change to a cluster object (by the watch cache). Cheap: for a StatefulSet or
  // Deployment of a known sandbox that is gone or whose replicas differ from the desired
  // state, it asks the running loop for an early pass; everything else is ignored.
  virtual void objectChanged(const ResourceType& type, const json& object, bool deleted) = 0;
  virtual ReconcilerStats stats() const = 0;
};

using ReconcilerPtr = std::unique_ptr<Reconciler>;

ReconcilerPtr makeReconciler(RegistryPtr registry, KubernetesServicePtr kube,
                             KubeClientPtr client, const Config& config, TimeSourcePtr time,
                             SandboxLocksPtr locks, ReconcilerOptions options = {});

}  // namespace sandboxd
