#include "sandboxd/service/snapshot_objects.h"

#include "sandboxd/kube/kube_client.h"
#include "sandboxd/model/naming.h"

namespace sandboxd {
namespace {

constexpr const char* kUnavailablePrefix = "snapshots unavailable: ";
constexpr const char* kDefaultClassAnnotation = "snapshot.storage.kubernetes.io/is-default-class";

}  // namespace

nlohmann::json renderVolumeSnapshot(const SnapshotRecord& snapshot, const std::string& pvcName,
                                    const std::string& className) {
  nlohmann::json labelsNode = {{labels::kManagedBy, labels::kManagedByValue},
                               {labels::kSandboxId, snapshot.sandboxId},
                               {labels::kOwner, snapshot.user},
                               {labels::kApp, snapshot.sandbox},
                               {kSnapshotIdLabel, snapshot.id}};
  nlohmann::json metadata = {{"name", snapshot.objectName},
                             {"namespace", snapshot.nameSpace},
                             {"labels", std::move(labelsNode)}};
  if (!snapshot.label.empty()) {
    metadata["annotations"] = {{kSnapshotLabelAnnotation, snapshot.label}};
  }
  nlohmann::json spec = {{"source", {{"persistentVolumeClaimName", pvcName}}}};
  if (!className.empty()) {
    spec["volumeSnapshotClassName"] = className;
  }
  return {{"apiVersion", resources::volumeSnapshots().apiVersion},
          {"kind", resources::volumeSnapshots().kind},
          {"metadata", std::move(metadata)},
          {"spec", std::move(spec)}};
}

ObservedSnapshot observeVolumeSnapshot(const nlohmann::json& object) {
  ObservedSnapshot observed;
  if (!object.is_object() || !object.contains("status") || !object["status"].is_object()) {
    return observed;
  }
  const nlohmann::json& status = object["status"];
  const auto ready = status.find("readyToUse");
  if (ready != status.end() && ready->is_boolean() && ready->get<bool>()) {
    observed.state = SnapshotState::Ready;
    const auto size = status.find("restoreSize");
    if (size != status.end() && size->is_string()) {
      observed.size = size->get<std::string>();
    }
    return observed;
  }
  const auto error = status.find("error");
  if (error != status.end() && error->is_object()) {
    observed.state = SnapshotState::Failed;
    const auto message = error->find("message");
    observed.error = message != error->end() && message->is_string()
                         ? message->get<std::string>()
                         : "the storage reported an error";
  }
  return observed;
}

std::string defaultSnapshotClass(const nlohmann::json& classes) {
  if (!classes.is_object() || !classes.contains("items") || !classes["items"].is_array()) {
    return "";
  }
  for (const auto& item : classes["items"]) {
    const auto meta = item.find("metadata");
    if (meta == item.end() || !meta->is_object()) {
      continue;
    }
    const auto annotations = meta->find("annotations");
    if (annotations == meta->end() || !annotations->is_object()) {
      continue;
    }
    const auto isDefault = annotations->find(kDefaultClassAnnotation);
    if (isDefault != annotations->end() && *isDefault == "true") {
      const auto name = meta->find("name");
      return name != meta->end() && name->is_string() ? name->get<std::string>() : "";
    }
  }
  return "";
}

Status snapshotsUnavailable(const std::string& why) {
  return failedPrecondition(kUnavailablePrefix + why);
}

bool isSnapshotsUnavailable(const Status& status) {
  return status.kind() == ErrorKind::FailedPrecondition &&
         status.message().rfind(kUnavailablePrefix, 0) == 0;
}

Status validateSnapshotLabel(const std::string& label) {
  if (label.size() > 63) {
    return invalidArgument("label: at most 63 characters");
  }
  for (unsigned char c : label) {
    if (c < 0x20 || c > 0x7e) {
      return invalidArgument("label: printable ASCII characters only");
    }
  }
  return Status::ok();
}

}  // namespace sandboxd
