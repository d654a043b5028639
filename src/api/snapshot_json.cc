#include "api/snapshot_json.h"

namespace sandboxd::api {

nlohmann::json snapshotToJson(const SnapshotRecord& snapshot) {
  nlohmann::json item = {{"id", snapshot.id},
                         {"sandbox", snapshot.sandbox},
                         {"label", snapshot.label},
                         {"state", toString(snapshot.state)},
                         {"createdAt", formatRfc3339(snapshot.createdAt)}};
  if (!snapshot.size.empty()) {
    item["size"] = snapshot.size;
  }
  if (snapshot.readyAt) {
    item["readyAt"] = formatRfc3339(*snapshot.readyAt);
  }
  if (!snapshot.error.empty()) {
    item["error"] = snapshot.error;
  }
  return item;
}

nlohmann::json snapshotListToJson(const std::vector<SnapshotRecord>& snapshots) {
  nlohmann::json items = nlohmann::json::array();
  for (const SnapshotRecord& snapshot : snapshots) {
    items.push_back(snapshotToJson(snapshot));
  }
  return nlohmann::json{{"items", std::move(items)}};
}

StatusOr<std::string> parseSnapshotRequest(const nlohmann::json& body) {
  if (!body.is_object()) {
    return invalidArgument("the body must be a JSON object");
  }
  std::string label;
  for (const auto& [key, value] : body.items()) {
    if (key != "label") {
      return invalidArgument("unknown field \"" + key + "\" (expected: label)");
    }
    if (!value.is_string()) {
      return invalidArgument("label: must be a string");
    }
    label = value.get<std::string>();
  }
  return label;
}

StatusOr<std::string> parseRestoreRequest(const nlohmann::json& body) {
  if (!body.is_object()) {
    return invalidArgument("the body must be a JSON object");
  }
  std::string id;
  for (const auto& [key, value] : body.items()) {
    if (key != "snapshot") {
      return invalidArgument("unknown field \"" + key + "\" (expected: snapshot)");
    }
    if (!value.is_string() || value.get<std::string>().empty()) {
      return invalidArgument("snapshot: must be a snapshot's id (a string)");
    }
    id = value.get<std::string>();
  }
  if (id.empty()) {
    return invalidArgument("field \"snapshot\" is required: the id of the snapshot to restore");
  }
  return id;
}

nlohmann::json restoreToJson(const RestoreAccepted& accepted) {
  return {{"sandbox", accepted.sandbox},
          {"snapshot", accepted.snapshot},
          {"preRestoreSnapshot", accepted.preRestore},
          {"operation", accepted.operation},
          {"resume", accepted.resume}};
}

}  // namespace sandboxd::api
