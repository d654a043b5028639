// SnapshotManager: home-volume snapshots of sandboxes (issue 23), for the HTTP API and CLI.
// A snapshot is a snapshot.storage.k8s.io/v1 VolumeSnapshot of the sandbox's home PVC
// (names::pvc), in the configured class (snapshots.className; empty: the cluster's default).
// The same authorization as SandboxManager: owner or admin; another user's sandbox or snapshot
// is NotFound. The registry row (and a `snapshot` operation record) is written before the
// VolumeSnapshot is created, so the cluster never holds a snapshot the registry does not know.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sandboxd/common/random_generator.h"
#include "sandboxd/common/status.h"
#include "sandboxd/config/config.h"
#include "sandboxd/kube/kube_client.h"
#include "sandboxd/model/sandbox.h"
#include "sandboxd/model/snapshot.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/kubernetes_service.h"
#include "sandboxd/service/sandbox_locks.h"
#include "sandboxd/service/snapshot_stats.h"

namespace sandboxd {

// A restore accepted (POST .../restore): it goes on in the background (restore_steps.h).
struct RestoreAccepted {
  std::string sandbox;
  std::string snapshot;     // the id restored
  std::string preRestore;   // the id the current volume's snapshot gets (label pre-restore)
  int64_t operation = 0;    // the restore's operation record
  bool resume = false;      // it starts again when done
};

class SnapshotManager {
 public:
  virtual ~SnapshotManager() = default;
  // Takes a snapshot of sandbox `name`'s home volume (pending until the storage has the copy).
  // NotFound: unknown or another user's sandbox. FailedPrecondition: the sandbox was purged or
  // has no home volume, or (isSnapshotsUnavailable) the cluster has no snapshot API or class.
  // InvalidArgument: a bad label. Keeps the newest snapshots.keep unlabelled ones of the
  // sandbox (older unlabelled ones are deleted; labelled ones stay until deleted).
  virtual StatusOr<SnapshotRecord> create(const Caller& caller, const std::string& name,
                                          const std::string& label) = 0;
  // The snapshots of sandbox `name`, newest first, their states brought up to date from the
  // cluster. Those of a purged sandbox stay listed under its name for their owner (and admins).
  virtual StatusOr<std::vector<SnapshotRecord>> list(const Caller& caller,
                                                     const std::string& name) = 0;
  // Deletes snapshot `id` of sandbox `name` (the VolumeSnapshot, then the row); returns it as
  // it was. NotFound for an unknown id, or one of another sandbox or user.
  virtual StatusOr<SnapshotRecord> remove(const Caller& caller, const std::string& name,
                                          const std::string& id) = 0;

  // Restores snapshot `id` of sandbox `name` in place of its home volume: records the intent
  // (the sandbox stopped, reason Restoring, and a restore operation), asks for the stop, and
  // leaves the rest to stepRestores (restore_steps.h). NotFound: unknown sandbox or snapshot
  // (another user's too). FailedPrecondition: deleted, a legacy Deployment, the snapshot not
  // ready, a restore already in progress, or (isSnapshotsUnavailable) no snapshot API.
  virtual StatusOr<RestoreAccepted> restore(const Caller& caller, const std::string& name,
                                            const std::string& id) = 0;
  // One round over every pending restore (a step each); how many are still in progress.
  virtual int stepRestores() = 0;
  // Runs stepRestores on a thread of its own (often while restores are in progress, now and
  // then otherwise: a restart's are found too) until stop().
  virtual void start() = 0;
  virtual void stop() = 0;
  // Deletes every snapshot `list` shows the caller under `name` (each as `remove` does:
  // the VolumeSnapshot, then the row), for DELETE ...?purge=true&purgeSnapshots=true. Returns
  // how many were deleted; NotFound as `list`; after a failed deletion the others are still
  // tried and the first error is returned.
  virtual StatusOr<int> removeAll(const Caller& caller, const std::string& name) {
    return failedPrecondition("this snapshot manager cannot delete all snapshots");
  }
  // A scheduled snapshot (snapshots.intervalHours) of sandbox `name`: as create for an admin
  // whose operation user is "sandboxd", without a label (so snapshots.keep prunes it), counted
  // under trigger "schedule".
  virtual StatusOr<SnapshotRecord> createScheduled(const std::string& name) {
    return failedPrecondition("this snapshot manager takes no scheduled snapshots");
  }
  // Counters since start (/metrics).
  virtual SnapshotStats stats() const { return {}; }
};

using SnapshotManagerPtr = std::shared_ptr<SnapshotManager>;

// `locks` is shared with the sandbox manager (a snapshot and a lifecycle change of one sandbox
// do not interleave).
SnapshotManagerPtr makeSnapshotManager(RegistryPtr registry, KubeClientPtr client,
                                       KubernetesServicePtr kube, const Config& config,
                                       TimeSourcePtr time, RandomGeneratorPtr random,
                                       SandboxLocksPtr locks);

}  // namespace sandboxd
