// Pure functions between snapshot records and the cluster's snapshot.storage.k8s.io/v1
// objects: the VolumeSnapshot sandboxd creates for a snapshot, what a VolumeSnapshot's status
// says about it, and whether a cluster can take snapshots at all (its classes).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "sandboxd/common/status.h"
#include "sandboxd/model/snapshot.h"

namespace sandboxd {

// The label carrying a snapshot's id, and the annotation carrying its user label.
inline constexpr const char* kSnapshotIdLabel = "sandboxd.io/snapshot-id";
inline constexpr const char* kSnapshotLabelAnnotation = "sandboxd.io/snapshot-label";
// On a home volume claim a restore made: the restore operation's id (restore_steps.h).
inline constexpr const char* kRestoreOperationAnnotation = "sandboxd.io/restore-operation";
// The label of the snapshot a restore takes of the volume it replaces.
inline constexpr const char* kPreRestoreLabel = "pre-restore";

// The VolumeSnapshot of `snapshot`: of the PVC `pvcName`, in class `className` (empty: the
// cluster's default), with sandboxd's ownership labels. Values go into the tree as data.
nlohmann::json renderVolumeSnapshot(const SnapshotRecord& snapshot, const std::string& pvcName,
                                    const std::string& className);

// What a VolumeSnapshot's status says: ready (readyToUse, with restoreSize as the size),
// failed (status.error while not ready), else pending.
struct ObservedSnapshot {
  SnapshotState state = SnapshotState::Pending;
  std::string size;
  std::string error;
};
ObservedSnapshot observeVolumeSnapshot(const nlohmann::json& object);

// The class snapshots are to use: `className` when set, else the default among `classes` (a
// VolumeSnapshotClassList); "" when there is none (snapshotsUnavailable says why).
std::string defaultSnapshotClass(const nlohmann::json& classes);

// The error a snapshot request gets when the cluster cannot take snapshots: no snapshot API
// (CRDs absent) or no such class. FailedPrecondition (409) with the API code
// snapshots_unavailable (isSnapshotsUnavailable tells it from other conflicts).
Status snapshotsUnavailable(const std::string& why);
bool isSnapshotsUnavailable(const Status& status);

// A user's snapshot label: at most 63 printable ASCII characters (no control characters).
// InvalidArgument naming the rule otherwise.
Status validateSnapshotLabel(const std::string& label);

}  // namespace sandboxd
