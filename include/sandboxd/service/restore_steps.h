// Restoring a snapshot in place of a sandbox's home volume (issue 23), as small pure steps.
//
// A restore is an operation record (kind restore) whose detail names the snapshot to restore,
// the id chosen up front for the snapshot of the volume it replaces ("pre-restore"), and
// whether the sandbox runs again afterwards. It is written in the same transaction as the
// sandbox's stop, so a restart finds it and carries on. Each round, the snapshot manager looks
// at the cluster and the registry (RestoreObservation) and nextRestoreStep says what to do;
// every step is safe to repeat, so a crash between any two is harmless:
//
//   wait until the workload is scaled to 0 and its pod gone
//   snapshot the current volume (the pre-restore snapshot) and wait until it is ready:
//     the volume is never deleted before a copy of it exists
//   delete the claim and wait until it is gone
//   create the claim again, of the same name, its dataSource the chosen snapshot
//     (the StatefulSet re-attaches it by name)
//   finish: start again if it was running; the operation is done
//
// A claim this restore made is the restored one: the restore goes straight to finish. A sandbox deleted meanwhile ends it (failed); so does a
// pre-restore snapshot that failed, before anything was deleted.
#pragma once

#include <optional>
#include <string>

#include "sandboxd/common/status.h"
#include "sandboxd/model/snapshot.h"

namespace sandboxd {

// The restore operation's detail (OperationRecord::detail).
struct RestoreDetail {
  std::string snapshot;    // the snapshot's id
  std::string preRestore;  // the pre-restore snapshot's id
  bool resume = false;     // the sandbox was meant to run: it starts again when done
};
std::string encodeRestoreDetail(const RestoreDetail& detail);
StatusOr<RestoreDetail> decodeRestoreDetail(const std::string& text);

// A fork's create detail: the snapshot its home volume is made from.
struct ForkDetail {
  std::string snapshot;        // id
  std::string volumeSnapshot;  // its VolumeSnapshot's name
};
std::string encodeForkDetail(const ForkDetail& detail);
// nullopt when `text` is not a fork's detail (an ordinary create's is empty).
std::optional<ForkDetail> decodeForkDetail(const std::string& text);

// What one round sees.
struct RestoreObservation {
  bool sandboxLive = false;        // its row is there, same id, not deleted
  bool workloadStopped = false;    // scaled to 0 and no pod left
  bool snapshotKnown = false;      // the snapshot to restore is still in the registry
  enum class Claim { Absent, Present, Deleting } claim = Claim::Absent;
  // The claim is the one this restore made (annotated with its operation's id: a claim an
  // earlier restore of the same snapshot made holds what was written since).
  bool claimRestored = false;
  // The pre-restore snapshot: not taken yet (no row), or its state.
  std::optional<SnapshotState> preRestore;
};

enum class RestoreStep {
  Abandon,            // the sandbox is gone or deleted: the operation fails, nothing else
  Fail,               // cannot go on (the snapshot was deleted, the pre-restore one failed):
                      // the volume is left as it is, the sandbox started again if it ran
  RollBack,           // the snapshot went after the claim was deleted: the claim is made
                      // from the pre-restore snapshot instead, then the restore fails
  WaitStopped,        // ask for the stop again and wait
  TakePreRestore,     // snapshot the current volume
  WaitPreRestore,     // wait for that snapshot to be ready
  DeleteClaim,        // delete the current claim (its copy is ready)
  WaitClaimGone,      // the claim is being deleted
  CreateClaim,        // create the claim from the chosen snapshot
  Finish,             // the claim is the restored one: start again if it ran, done
};
const char* toString(RestoreStep step);

RestoreStep nextRestoreStep(const RestoreObservation& seen);

}  // namespace sandboxd
