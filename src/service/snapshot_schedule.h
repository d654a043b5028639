// Scheduled snapshots (snapshots.intervalHours, issue 23): every sandbox whose desired state is
// Running gets a snapshot once its newest snapshot of this incarnation (same sandboxId, any
// label, any state) is intervalHours old. A sandbox with no snapshot is due once it was created
// intervalHours ago (a sandbox just created is not snapshotted at once). The snapshots are
// unlabelled and taken by user "sandboxd" (SnapshotManager::createScheduled), so retention
// (snapshots.keep) prunes them. serve runs a sweep from the reconciler's pass, at most once a
// minute (SnapshotScheduler::maybeSweep).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sandboxd/common/time_source.h"
#include "sandboxd/model/sandbox.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/snapshot_manager.h"

namespace sandboxd {

// The names of the sandboxes due for a scheduled snapshot at `now`, most overdue first (ties
// by name). `newest`: the newest snapshot's creation time per sandboxId
// (Registry::newestSnapshotTimes). An interval of 0 or less: none.
std::vector<std::string> snapshotsDue(const std::vector<SandboxRecordPtr>& records,
                                      const std::map<std::string, SystemTime>& newest,
                                      SystemTime now, std::chrono::hours interval);

// What one sweep did.
struct SnapshotSweep {
  int due = 0;          // sandboxes due (before the per-sweep cap and failure back-off)
  int taken = 0;        // snapshots requested
  int failed = 0;       // snapshots that could not be requested
  int deferred = 0;     // due, left for a later sweep (cap, or back-off after a failure)
  bool unavailable = false;  // the cluster cannot take snapshots: the sweep stopped there
};

struct SnapshotScheduleOptions {
  std::chrono::hours interval{0};           // snapshots.intervalHours; 0: never
  std::chrono::seconds minGap{60};          // between two sweeps (maybeSweep)
  size_t maxPerSweep = 100;                 // snapshots requested by one sweep at most
  std::chrono::seconds retryAfter{600};     // a sandbox whose snapshot failed waits this long
};

class SnapshotScheduler {
 public:
  SnapshotScheduler(RegistryPtr registry, SnapshotManagerPtr snapshots, TimeSourcePtr time,
                    SnapshotScheduleOptions options);

  // A sweep, unless the interval is 0 or the last sweep began less than minGap ago (then
  // nullopt). Never throws; logs what failed.
  std::optional<SnapshotSweep> maybeSweep();
  // A sweep now. Only a registry read failure is an error.
  StatusOr<SnapshotSweep> sweep();

 private:
  RegistryPtr registry_;
  SnapshotManagerPtr snapshots_;
  TimeSourcePtr time_;
  SnapshotScheduleOptions options_;
  std::mutex mu_;  // one sweep at a time
  std::optional<MonotonicTime> lastSweep_;
  std::map<std::string, MonotonicTime> failedAt_;  // sandboxId -> its last failure
  bool warnedUnavailable_ = false;  // warned once; later sweeps log it at debug level
};

}  // namespace sandboxd
