// SnapshotRecord → the API's Snapshot JSON, and the create request's body.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sandboxd/common/status.h"
#include "sandboxd/model/snapshot.h"
#include "sandboxd/service/snapshot_manager.h"

namespace sandboxd::api {

// {"id", "sandbox", "label", "state", "size"?, "createdAt", "readyAt"?, "error"?}
nlohmann::json snapshotToJson(const SnapshotRecord& snapshot);

// {"items": [Snapshot...]}
nlohmann::json snapshotListToJson(const std::vector<SnapshotRecord>& snapshots);

// The label of POST .../snapshots: {"label"?: string} ("" without). InvalidArgument (422) for
// anything else: not an object, an unknown field, a label that is not a string.
StatusOr<std::string> parseSnapshotRequest(const nlohmann::json& body);

// The body of POST .../restore: {"snapshot": id}; the id. InvalidArgument (422) otherwise.
StatusOr<std::string> parseRestoreRequest(const nlohmann::json& body);

// {"sandbox", "snapshot", "preRestoreSnapshot", "operation", "resume"}
nlohmann::json restoreToJson(const RestoreAccepted& accepted);

}  // namespace sandboxd::api
