// Home-volume snapshots: a VolumeSnapshot of a sandbox's home PVC, as the registry keeps it.
#pragma once

#include <optional>
#include <string>

#include "sandboxd/common/time_source.h"

namespace sandboxd {

// pending: the VolumeSnapshot exists (or is being made) and is not ready to use yet.
// ready: the storage has the copy (restorable). failed: the storage reported an error, or the
// object vanished before it was ready.
enum class SnapshotState { Pending, Ready, Failed };
const char* toString(SnapshotState state);
std::optional<SnapshotState> snapshotStateFromString(const std::string& s);

struct SnapshotRecord {
  std::string id;          // random, lowercase hex; the API's {id}
  std::string sandbox;     // the sandbox's name when it was taken
  std::string sandboxId;   // the sandbox's stable id (a re-created name has other snapshots)
  std::string user;        // the sandbox's owner
  std::string nameSpace;   // where the VolumeSnapshot lives
  std::string objectName;  // the VolumeSnapshot's name
  std::string label;       // the user's label; empty = none
  SnapshotState state = SnapshotState::Pending;
  std::string size;        // the snapshot's restoreSize (a quantity) once known; empty = unknown
  std::string error;       // for failed
  SystemTime createdAt{};
  std::optional<SystemTime> readyAt;
};

// The VolumeSnapshot's name for snapshot `id` of sandbox `sandbox`: {sandbox}-snap-{id}.
std::string snapshotObjectName(const std::string& sandbox, const std::string& id);

}  // namespace sandboxd
