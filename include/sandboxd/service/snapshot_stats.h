// Counters of SnapshotManager (SnapshotManager::stats), since start, for /metrics.
#pragma once

#include <cstdint>

namespace sandboxd {

// Who asked for a snapshot: a user's request, or the scheduled snapshots
// (snapshots.intervalHours, service/snapshot_schedule.h).
enum class SnapshotTrigger { User, Schedule };

struct SnapshotStats {
  // Snapshots requested from the cluster (a VolumeSnapshot created), by trigger.
  uint64_t createdByUser = 0;
  uint64_t createdBySchedule = 0;
  uint64_t createdByRestore = 0;  // the copy of the volume a restore replaces (pre-restore)
  // Requests that found the sandbox but made no VolumeSnapshot (no snapshot API or class, no
  // home volume, a purged sandbox, a cluster error), by trigger.
  uint64_t failedByUser = 0;
  uint64_t failedBySchedule = 0;
  // Snapshots deleted (VolumeSnapshot and row), by reason: a user's DELETE, retention
  // (snapshots.keep), a purge with purgeSnapshots=true.
  uint64_t deletedByUser = 0;
  uint64_t deletedByRetention = 0;
  uint64_t deletedByPurge = 0;
  // Restores ended (POST .../restore, restore_steps.h): done, or failed (the sandbox deleted
  // meanwhile, the snapshot gone, the copy of the current volume failed).
  uint64_t restoresDone = 0;
  uint64_t restoresFailed = 0;
};

}  // namespace sandboxd
