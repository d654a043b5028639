#include "service/stuck_pod.h"

#include <chrono>
#include <thread>

#include "sandboxd/model/naming.h"

namespace sandboxd {
namespace {

using nlohmann::json;

constexpr int kObservedWaitAttempts = 50;
constexpr std::chrono::milliseconds kObservedWaitStep{100};

bool isReady(const json& pod) {
  const auto status = pod.find("status");
  if (status == pod.end() || !status->contains("conditions")) {
    return false;
  }
  for (const json& c : (*status)["conditions"]) {
    if (c.value("type", "") == "Ready") {
      return c.value("status", "") == "True";
    }
  }
  return false;
}

}  // namespace

bool holdsNotReadyPods(const json& statefulSet) {
  const auto spec = statefulSet.find("spec");
  return spec == statefulSet.end() ||
         spec->value("podManagementPolicy", "OrderedReady") != "Parallel";
}

StatusOr<std::string> notReadyPodUid(KubeClient& client, const std::string& ns,
                                     const std::string& sandbox) {
  const std::string podName = names::pod(sandbox);
  auto pod = client.get(resources::pods(), ns, podName);
  if (!pod.isOk()) {
    return pod.status().kind() == ErrorKind::NotFound
               ? StatusOr<std::string>(std::string())
               : StatusOr<std::string>(pod.status().withContext("reading pod " + podName));
  }
  if (isReady(*pod) || (*pod)["metadata"].contains("deletionTimestamp")) {
    return std::string();
  }
  return (*pod)["metadata"].value("uid", "");
}

StatusOr<bool> rollStuckPod(KubeClient& client, const std::string& ns, const json& statefulSet,
                            const std::string& podUid) {
  if (podUid.empty() || !holdsNotReadyPods(statefulSet)) {
    return false;
  }
  const std::string name = statefulSet["metadata"].value("name", "");
  const std::string podName = names::pod(name);
  // Not before the controller has seen the new template: a pod deleted earlier is re-created
  // from the old one (and stays stuck). A short, bounded wait, on this rare path only.
  const int64_t generation = statefulSet["metadata"].value("generation", int64_t{0});
  for (int attempt = 0;; ++attempt) {
    auto now = client.get(resources::statefulSets(), ns, name);
    if (!now.isOk()) {
      return now.status().withContext("reading StatefulSet " + name);
    }
    const json& status = (*now)["status"];
    if (status.is_object() && status.value("observedGeneration", int64_t{0}) >= generation) {
      break;
    }
    if (attempt >= kObservedWaitAttempts) {
      return false;  // the controller is behind: the pod stays (a stop and start rolls it)
    }
    std::this_thread::sleep_for(kObservedWaitStep);
  }
  DeleteOptions options;
  options.preconditionUid = podUid;
  auto removed = client.remove(resources::pods(), ns, podName, options);
  if (!removed.isOk() && removed.status().kind() != ErrorKind::NotFound &&
      removed.status().kind() != ErrorKind::Aborted) {  // Aborted: replaced meanwhile
    return removed.status().withContext("deleting the not-Ready pod " + podName);
  }
  return removed.isOk();
}

}  // namespace sandboxd
