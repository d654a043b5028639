// Operation records: what was asked of a sandbox, by whom, and how it ended. Written by the
// manager with the intent (before any cluster call), finished by the manager when its own
// cluster call succeeds or by the reconciler when it carries the intent out (or gives up).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sandboxd/common/time_source.h"

namespace sandboxd {

// Snapshot: a home-volume snapshot was asked for (done once its VolumeSnapshot exists; the
// snapshot's own state says when the copy is ready). Not a lifecycle request: it supersedes
// nothing.
// IdleStop and Expire: the reconciler's stop of an idle sandbox and delete (volume kept) of an
// expired one, lifecycle requests like a user's. Resize: a grown home volume (PATCH storage),
// not a lifecycle request.
// Restore: a snapshot put back in place of the home volume (stop, snapshot the volume, replace
// the claim, start again); a lifecycle request (it stops the sandbox). Carried out by the
// snapshot manager's restore steps, never finished by the reconciler.
enum class OperationKind { Create, Stop, Start, UpdateEnv, Delete, Snapshot, IdleStop, Expire,
                           Resize, Restore };
// Whether a request of this kind changes the sandbox's desired lifecycle (create, stop, start,
// delete): a newer one supersedes the pending older ones.
bool isLifecycle(OperationKind kind);
const char* toString(OperationKind kind);
std::optional<OperationKind> operationKindFromString(const std::string& s);

// pending: recorded, not carried out yet. done: the cluster has the change. failed: given up
// (the error says why). superseded: a newer request for the sandbox replaced it first.
enum class OperationState { Pending, Done, Failed, Superseded };
const char* toString(OperationState state);
std::optional<OperationState> operationStateFromString(const std::string& s);

struct OperationRecord {
  int64_t id = 0;  // assigned by the registry, increasing
  std::string sandbox;    // name
  std::string sandboxId;  // the sandbox's stable id (a re-created name has a new history)
  OperationKind kind = OperationKind::Create;
  std::string user;  // who asked
  OperationState state = OperationState::Pending;
  std::string error;  // for failed
  SystemTime requestedAt{};
  std::optional<SystemTime> finishedAt;
  // What the operation needs to be carried out after a crash, as JSON (restore: the snapshots
  // and whether to start again; create: a fork's snapshot); empty for most. Internal: the API
  // does not show it.
  std::string detail;
};

}  // namespace sandboxd
