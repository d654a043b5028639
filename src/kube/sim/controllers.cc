// The simulated cluster's controllers, where users would notice them (see memory_cluster.h): a
// StatefulSet's claims and pod, a Deployment's pod, pods turning Ready after readyDelay (or
// failing as a test asked), workloads' status. They run lazily, only for the workloads a write
// touched or that still wait for their pod.
#include <functional>

#include "kube/sim/cluster_state.h"

namespace sandboxd {

using kube_sim::isWorkload;
using kube_sim::Key;

namespace {

// The status of a scheduled pod whose one container ("sandbox") is in `state`: Running when
// it is ready, else Pending.
json scheduledPodStatus(bool ready, int restartCount, json state) {
  return {{"phase", ready ? "Running" : "Pending"},
          {"conditions", json::array({{{"type", "PodScheduled"}, {"status", "True"}},
                                      {{"type", "Ready"}, {"status", ready ? "True" : "False"}}})},
          {"containerStatuses",
           json::array({{{"name", "sandbox"},
                         {"ready", ready},
                         {"restartCount", restartCount},
                         {"state", std::move(state)}}})}};
}

}  // namespace

std::vector<Key> MemoryCluster::State::podsOf(const std::string& ns, const std::string& name,
                                              const std::string& kind) const {
  std::vector<Key> pods;
  const std::string prefix = name + "-";
  for (auto it = objects.lower_bound({"pods", ns, prefix});
       it != objects.end() && std::get<0>(it->first) == "pods" &&
       std::get<1>(it->first) == ns && std::get<2>(it->first).compare(0, prefix.size(),
                                                                       prefix) == 0;
       ++it) {
    const auto meta = it->second.find("metadata");
    if (meta == it->second.end()) {
      continue;
    }
    for (const auto& owner : meta->value("ownerReferences", json::array())) {
      if (owner.value("name", "") == name && owner.value("kind", "") == kind) {
        pods.push_back(it->first);
        break;
      }
    }
  }
  return pods;
}

void MemoryCluster::State::touched(const std::string& plural, const std::string& ns,
                                   const std::string& name, const json& object) {
  if (isWorkload(plural)) {
    unsettled.insert({plural, ns, name});
    waitUntil.erase({plural, ns, name});
    return;
  }
  if (plural == "pods" && object.contains("metadata")) {
    for (const auto& owner : object["metadata"].value("ownerReferences", json::array())) {
      const std::string kind = owner.value("kind", "");
      if (kind == "StatefulSet" || kind == "Deployment") {
        const Key workload{kind == "StatefulSet" ? "statefulsets" : "deployments", ns,
                           owner.value("name", "")};
        unsettled.insert(workload);
        waitUntil.erase(workload);
      }
    }
    return;
  }
  if (plural == "persistentvolumeclaims") {
    // A claim is "<template>-<statefulset>-<ordinal>": any StatefulSet whose name it holds.
    for (auto it = objects.lower_bound({"statefulsets", ns, ""});
         it != objects.end() && std::get<0>(it->first) == "statefulsets" &&
         std::get<1>(it->first) == ns;
         ++it) {
      if (name.find("-" + std::get<2>(it->first) + "-") != std::string::npos) {
        unsettled.insert(it->first);
        waitUntil.erase(it->first);
      }
    }
  }
}

void MemoryCluster::State::touchAllWorkloads() {
  for (const auto& [key, object] : objects) {
    if (isWorkload(std::get<0>(key))) {
      unsettled.insert(key);
    }
  }
  waitUntil.clear();
}

void MemoryCluster::State::reconcile() {
  if (unsettled.empty()) {
    return;
  }
  MonotonicTime now = time->monotonicTime();
  std::vector<Key> workloads;
  for (const Key& key : unsettled) {
    const auto wait = waitUntil.find(key);
    if (wait == waitUntil.end() || wait->second <= now) {
      workloads.push_back(key);
    }
  }
  for (const auto& key : workloads) {
    waitUntil.erase(key);
    if (objects.count(key) == 0 || reconcileWorkload(key, now)) {
      unsettled.erase(key);
      templateHashes.erase(key);
    }
  }
}

bool MemoryCluster::State::reconcileWorkload(const Key& key, MonotonicTime now) {
  const auto& [plural, ns, name] = key;
  json& workload = objects[key];
  bool sts = plural == "statefulsets";
  int desired = workload["spec"].value("replicas", 1);
  const int64_t generation = workload["metadata"].value("generation", int64_t{1});
  auto& cachedHash = templateHashes[key];
  if (cachedHash.second.empty() || cachedHash.first != generation) {
    cachedHash = {generation, std::to_string(std::hash<std::string>{}(
                                                 workload["spec"]["template"].dump()) %
                                             100000000)};
  }
  const std::string templateHash = cachedHash.second;
  std::string podName = sts ? name + "-0" : name + "-" + templateHash + "-x7k2p";

  // Pods of this workload (by owner).
  const std::vector<Key> pods = podsOf(ns, name, workload.value("kind", ""));
  // Outdated pods (old template) and surplus pods go away.
  for (const auto& k : pods) {
    const json& pod = objects[k];
    std::string hash = pod["metadata"]["labels"].value("controller-revision-hash", "");
    if (desired == 0 || hash != templateHash) {
      podCreated.erase(ns + "/" + std::get<2>(k));
      erase(k);
    }
  }

  bool pvcBound = true;
  if (sts && desired > 0) {
    for (const auto& vct : workload["spec"].value("volumeClaimTemplates", json::array())) {
      std::string pvcName = vct["metadata"].value("name", "") + "-" + name + "-0";
      json* pvc = find("persistentvolumeclaims", ns, pvcName);
      if (pvc == nullptr) {
        json object = {{"metadata",
                        {{"name", pvcName},
                         {"labels", workload["spec"]["selector"].value("matchLabels",
                                                                       json::object())}}},
                       {"spec", vct["spec"]},
                       {"status", {{"phase", pvcPending ? "Pending" : "Bound"}}}};
        if (!pvcPending) {
          object["spec"]["volumeName"] = "pv-" + pvcName;
          object["status"]["capacity"] = vct["spec"]["resources"]["requests"];
          object["status"]["accessModes"] = vct["spec"]["accessModes"];
        }
        store("persistentvolumeclaims", ns,
              newObject(resources::persistentVolumeClaims(), ns, std::move(object)));
        pvc = find("persistentvolumeclaims", ns, pvcName);
      }
      pvcBound = pvcBound && (*pvc)["status"].value("phase", "") == "Bound";
    }
  }

  int ready = 0;
  if (desired > 0) {
    json* pod = find("pods", ns, podName);
    if (pod == nullptr) {
      json labels = workload["spec"]["template"]["metadata"].value("labels", json::object());
      labels["controller-revision-hash"] = templateHash;
      if (sts) {
        labels["statefulset.kubernetes.io/pod-name"] = podName;
      }
      json spec = workload["spec"]["template"]["spec"];
      if (sts) {
        for (const auto& vct : workload["spec"].value("volumeClaimTemplates", json::array())) {
          std::string vname = vct["metadata"].value("name", "");
          spec["volumes"].push_back(
              {{"name", vname},
               {"persistentVolumeClaim", {{"claimName", vname + "-" + name + "-0"}}}});
        }
      }
      json object = {
          {"metadata",
           {{"name", podName},
            {"labels", labels},
            {"ownerReferences",
             json::array({{{"apiVersion", "apps/v1"},
                           {"kind", workload["kind"]},
                           {"name", name},
                           {"uid", workload["metadata"]["uid"]},
                           {"controller", true}}})}}},
          {"spec", spec},
          {"status", {{"phase", "Pending"}}}};
      store("pods", ns, newObject(resources::pods(), ns, std::move(object)));
      podCreated[ns + "/" + podName] = now;
      pod = find("pods", ns, podName);
    }
    ready = updatePodStatus(*pod, ns, name, now, pvcBound) ? 1 : 0;
    const MonotonicTime due = podCreated[ns + "/" + podName] + options.readyDelay;
    if (ready == 0 && pvcBound && podFailures.count(name) == 0 && due > now) {
      waitUntil[key] = due;  // nothing to do for it before then
    }
  }

  json status = {{"observedGeneration", workload["metadata"].value("generation", 1)},
                 {"replicas", desired > 0 ? 1 : 0},
                 {"readyReplicas", ready},
                 {"availableReplicas", ready},
                 {"updatedReplicas", desired > 0 ? 1 : 0}};
  if (sts) {
    status["currentReplicas"] = desired > 0 ? 1 : 0;
    status["currentRevision"] = name + "-" + templateHash;
    status["updateRevision"] = name + "-" + templateHash;
  }
  if (workload["status"] != status) {
    workload["status"] = status;
    bump(workload, plural, ns);
  }
  return desired == 0 || ready == 1;
}

bool MemoryCluster::State::updatePodStatus(json& pod, const std::string& ns,
                                           const std::string& workload, MonotonicTime now,
                                           bool pvcBound) {
  json status;
  auto failure = podFailures.find(workload);
  bool due = now - podCreated[ns + "/" + pod["metadata"]["name"].get<std::string>()] >=
             options.readyDelay;
  if (!pvcBound || (failure != podFailures.end() && failure->second == "Unschedulable")) {
    std::string message = !pvcBound ? "0/1 nodes are available: pod has unbound immediate "
                                      "PersistentVolumeClaims."
                                    : "0/1 nodes are available: 1 Insufficient cpu.";
    status = {{"phase", "Pending"},
              {"conditions",
               json::array({{{"type", "PodScheduled"},
                             {"status", "False"},
                             {"reason", "Unschedulable"},
                             {"message", message}}})}};
  } else if (failure != podFailures.end()) {
    status = scheduledPodStatus(false, failure->second == "CrashLoopBackOff" ? 3 : 0,
                                {{"waiting",
                                  {{"reason", failure->second},
                                   {"message", "simulated " + failure->second}}}});
  } else if (!due) {
    status = scheduledPodStatus(false, 0, {{"waiting", {{"reason", "ContainerCreating"}}}});
  } else {
    status = scheduledPodStatus(true, 0, {{"running", json::object()}});
  }
  if (pod["status"] != status) {
    pod["status"] = status;
    bump(pod, "pods", ns);
  }
  return status.value("phase", "") == "Running";
}

}  // namespace sandboxd
