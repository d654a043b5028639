// The simulated cluster's storage: the snapshot API and a CSI driver that snapshots at once.
// It behaves as the test control plane's storage (tools/k8s/snapshot_driver.py with the
// upstream snapshot-controller) does where sandboxd looks: a VolumeSnapshot of a bound claim
// gets status.readyToUse, boundVolumeSnapshotContentName, restoreSize (the claim's capacity)
// and creationTime; one of a missing claim gets status.error; a claim created through the API
// with a VolumeSnapshot dataSource is Bound once that snapshot is ready, Pending before.
#include "kube/sim/cluster_state.h"

namespace sandboxd {
namespace {

constexpr const char* kSnapshotGroup = "snapshot.storage.k8s.io";

// object[key] when it is an object, else an empty object (never inserts, never throws).
const json& member(const json& object, const char* key) {
  static const json empty = json::object();
  if (!object.is_object()) {
    return empty;
  }
  const auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : empty;
}

std::string text(const json& object, const char* key) {
  if (!object.is_object()) {
    return "";
  }
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

bool isSnapshotKind(const std::string& kind) {
  return kind == "VolumeSnapshot" || kind == "VolumeSnapshotClass" ||
         kind == "VolumeSnapshotContent";
}

}  // namespace

Status MemoryCluster::State::servedKind(const std::string& kind) const {
  if (!snapshotApi && isSnapshotKind(kind)) {
    return kube_sim::apiError(ErrorKind::NotFound,
                              "the server could not find the requested resource");
  }
  return Status::ok();
}

void MemoryCluster::State::installSnapshotClass() {
  json object = {
      {"metadata",
       {{"name", "standard"},
        {"annotations", {{"snapshot.storage.kubernetes.io/is-default-class", "true"}}}}},
      {"driver", "sim.sandboxd.local"},
      {"deletionPolicy", "Delete"}};
  store("volumesnapshotclasses", "",
        newObject(resources::volumeSnapshotClasses(), "", std::move(object)));
}

void MemoryCluster::State::storageCreated(const std::string& plural, const std::string& ns,
                                          const std::string& name) {
  json* object = find(plural, ns, name);
  if (object == nullptr) {
    return;
  }
  const std::string now = formatRfc3339(time->systemTime());
  if (plural == "volumesnapshots") {
    json status = json::object();
    const json& spec = member(*object, "spec");
    const std::string claimName = text(member(spec, "source"), "persistentVolumeClaimName");
    json* claim = find("persistentvolumeclaims", ns, claimName);
    std::string className = text(spec, "volumeSnapshotClassName");
    if (className.empty()) {
      className = "standard";  // the default class
    }
    if (find("volumesnapshotclasses", "", className) == nullptr) {
      status = {{"readyToUse", false},
                {"error", {{"message", "VolumeSnapshotClass \"" + className + "\" not found"},
                           {"time", now}}}};
    } else if (claim == nullptr || text(member(*claim, "status"), "phase") != "Bound") {
      status = {{"readyToUse", false},
                {"error", {{"message", "the claim \"" + claimName + "\" is not bound"},
                           {"time", now}}}};
    } else {
      const std::string content = "snapcontent-" + text(member(*object, "metadata"), "uid");
      json contentObject = {
          {"metadata", {{"name", content}}},
          {"spec",
           {{"driver", "sim.sandboxd.local"},
            {"deletionPolicy", "Delete"},
            {"source", {{"volumeHandle", text(member(*claim, "spec"), "volumeName")}}},
            {"volumeSnapshotRef", {{"name", name}, {"namespace", ns}}}}},
          {"status", {{"readyToUse", true}, {"snapshotHandle", "sim-" + content}}}};
      store("volumesnapshotcontents", "",
            newObject(ResourceType{"/apis/snapshot.storage.k8s.io/v1", "volumesnapshotcontents",
                                   "VolumeSnapshotContent", "snapshot.storage.k8s.io/v1", false},
                      "", std::move(contentObject)));
      status = {{"readyToUse", true},
                {"boundVolumeSnapshotContentName", content},
                {"creationTime", now},
                {"restoreSize", text(member(member(*claim, "status"), "capacity"), "storage")}};
    }
    json next = *object;
    next["status"] = std::move(status);
    store(plural, ns, std::move(next));
    return;
  }
  if (plural == "persistentvolumeclaims" && !(*object).contains("status")) {
    // Created through the API (a StatefulSet's claims are made bound by its controller).
    const json& spec = member(*object, "spec");
    const json& source = member(spec, "dataSource");
    bool ready = true;
    if (text(source, "kind") == "VolumeSnapshot" && text(source, "apiGroup") == kSnapshotGroup) {
      json* snapshot = find("volumesnapshots", ns, text(source, "name"));
      ready = false;
      if (snapshot != nullptr) {
        const json& status = member(*snapshot, "status");
        const auto readyToUse = status.find("readyToUse");
        ready = readyToUse != status.end() && readyToUse->is_boolean() && readyToUse->get<bool>();
      }
    }
    json next = *object;
    if (ready && !pvcPending) {
      const auto modes = spec.find("accessModes");
      next["spec"]["volumeName"] = "pv-" + name;
      next["status"] = {{"phase", "Bound"},
                        {"capacity", member(member(spec, "resources"), "requests")},
                        {"accessModes", modes != spec.end() ? *modes : json::array()}};
    } else {
      next["status"] = {{"phase", "Pending"}};
    }
    store(plural, ns, std::move(next));
  }
}

void MemoryCluster::State::storageDeleted(const std::string& plural, const json& removed) {
  if (plural != "volumesnapshots" || !removed.is_object()) {
    return;
  }
  const std::string content = text(member(removed, "status"), "boundVolumeSnapshotContentName");
  if (!content.empty() && find("volumesnapshotcontents", "", content) != nullptr) {
    erase({"volumesnapshotcontents", "", content});
  }
}

}  // namespace sandboxd
