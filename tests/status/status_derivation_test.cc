// Table tests for status derivation, built from realistic StatefulSet / Deployment / Pod / PVC
// JSON. Each row names the behaviour; builders below produce one object each and rows vary
// them with JSON merge patches.
#include "sandboxd/status/status_derivation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace sandboxd {
namespace {

using ::testing::HasSubstr;

// ---------------------------------------------------------------- builders

// `base` with an RFC 7386 merge patch applied (null deletes a key; arrays are replaced).
json patched(json base, const json& patch) {
  base.merge_patch(patch);
  return base;
}

constexpr const char* kNewRevision = "alice-dev-84b7f6d9c";
constexpr const char* kClaim = "vn-homevn-agent-alice-dev-0";

// A StatefulSet settled at `replicas` with `ready` of them ready.
json statefulSet(int replicas, int ready) {
  json sts = json::parse(R"({
    "apiVersion": "apps/v1", "kind": "StatefulSet",
    "metadata": {"name": "alice-dev", "namespace": "sandboxes", "generation": 3,
                 "uid": "0b9e1c3a-6a0e-4b7e-9d55-2f1c4c0d9a11",
                 "labels": {"app.kubernetes.io/managed-by": "sandboxd",
                            "sandboxd.local/user": "alice"}},
    "spec": {"serviceName": "alice-dev", "podManagementPolicy": "OrderedReady",
             "selector": {"matchLabels": {"sandboxd.local/sandbox": "alice-dev"}},
             "template": {"metadata": {"labels": {"sandboxd.local/sandbox": "alice-dev"}},
                          "spec": {"containers": [{"name": "agent",
                                                   "image": "registry.local/sandbox:1.4"}]}},
             "volumeClaimTemplates": [{"metadata": {"name": "vn-homevn-agent"},
                                       "spec": {"accessModes": ["ReadWriteOnce"],
                                                "resources": {"requests": {"storage": "10Gi"}}}}]},
    "status": {"observedGeneration": 3, "collisionCount": 0,
               "currentRevision": "alice-dev-6d8f7c9b5",
               "updateRevision": "alice-dev-6d8f7c9b5"}
  })");
  sts["spec"]["replicas"] = replicas;
  json& status = sts["status"];
  status["replicas"] = replicas;
  status["currentReplicas"] = replicas;
  status["updatedReplicas"] = replicas;
  if (ready > 0) {  // the controller omits zero counters
    status["readyReplicas"] = ready;
    status["availableReplicas"] = ready;
  }
  return sts;
}

// A legacy Deployment: `replicas` wanted, `current` pods, `updated` on the new template.
json deployment(int replicas, int ready, int current, int updated) {
  json d = json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "bob-legacy", "namespace": "sandboxes", "generation": 7,
                 "annotations": {"deployment.kubernetes.io/revision": "4"}},
    "spec": {"strategy": {"type": "RollingUpdate",
                          "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
             "selector": {"matchLabels": {"sandboxd.local/sandbox": "bob-legacy"}},
             "template": {"metadata": {"labels": {"sandboxd.local/sandbox": "bob-legacy"}},
                          "spec": {"containers": [{"name": "agent",
                                                   "image": "registry.local/sandbox:1.2"}]}}},
    "status": {"observedGeneration": 7}
  })");
  d["spec"]["replicas"] = replicas;
  json& status = d["status"];
  if (current > 0) {
    status["replicas"] = current;
  }
  if (updated > 0) {
    status["updatedReplicas"] = updated;
  }
  if (ready > 0) {
    status["readyReplicas"] = ready;
    status["availableReplicas"] = ready;
  }
  if (current - ready > 0) {
    status["unavailableReplicas"] = current - ready;
  }
  return d;
}

// The StatefulSet's pod, Running and Ready on the fake node.
json readyPod() {
  return json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "alice-dev-0", "namespace": "sandboxes",
                 "creationTimestamp": "2024-05-01T10:00:00Z",
                 "labels": {"sandboxd.local/sandbox": "alice-dev",
                            "controller-revision-hash": "alice-dev-6d8f7c9b5",
                            "statefulset.kubernetes.io/pod-name": "alice-dev-0"},
                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                                      "name": "alice-dev", "controller": true}]},
    "spec": {"nodeName": "kwok-node-0", "restartPolicy": "Always",
             "containers": [{"name": "agent", "image": "registry.local/sandbox:1.4"}],
             "volumes": [{"name": "vn-homevn-agent",
                          "persistentVolumeClaim": {"claimName": "vn-homevn-agent-alice-dev-0"}}]},
    "status": {"phase": "Running", "hostIP": "10.1.0.1", "podIP": "10.244.0.5",
               "conditions": [
                 {"type": "Initialized", "status": "True"},
                 {"type": "Ready", "status": "True"},
                 {"type": "ContainersReady", "status": "True"},
                 {"type": "PodScheduled", "status": "True"}],
               "containerStatuses": [
                 {"name": "agent", "ready": true, "started": true, "restartCount": 0,
                  "image": "registry.local/sandbox:1.4",
                  "state": {"running": {"startedAt": "2024-05-01T10:00:05Z"}}}]}
  })");
}

const json kNotReadyConditions = json::parse(R"([
  {"type": "Initialized", "status": "True"},
  {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
   "message": "containers with unready status: [agent]"},
  {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
   "message": "containers with unready status: [agent]"},
  {"type": "PodScheduled", "status": "True"}])");

// Scheduled, with the agent container waiting for `reason`.
json waitingPod(const std::string& reason, const std::string& message = "") {
  json waiting = {{"reason", reason}};
  if (!message.empty()) {
    waiting["message"] = message;
  }
  return patched(readyPod(),
                 {{"status",
                   {{"phase", "Pending"},
                    {"podIP", nullptr},
                    {"conditions", kNotReadyConditions},
                    {"containerStatuses",
                     json::array({{{"name", "agent"},
                                   {"ready", false},
                                   {"started", false},
                                   {"restartCount", 0},
                                   {"image", "registry.local/sandbox:1.4"},
                                   {"state", {{"waiting", waiting}}}}})}}}});
}

// The agent container crashed and is restarting: Running phase, waiting CrashLoopBackOff.
json crashLoopPod() {
  return patched(waitingPod("CrashLoopBackOff",
                            "back-off 40s restarting failed container=agent "
                            "pod=alice-dev-0_sandboxes(0b9e)"),
                 {{"status", {{"phase", "Running"}}}});
}

// The home-init init container waiting for `reason`; the agent waits for PodInitializing.
json initWaitingPod(const std::string& reason, const std::string& message) {
  const json waiting = {{"reason", reason}, {"message", message}};
  return patched(waitingPod("PodInitializing"),
                 {{"status",
                   {{"conditions",
                     json::parse(R"([
                       {"type": "Initialized", "status": "False",
                        "reason": "ContainersNotInitialized",
                        "message": "containers with incomplete status: [home-init]"},
                       {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
                       {"type": "ContainersReady", "status": "False"},
                       {"type": "PodScheduled", "status": "True"}])")},
                    {"initContainerStatuses",
                     json::array({{{"name", "home-init"},
                                   {"ready", false},
                                   {"restartCount", 0},
                                   {"state", {{"waiting", waiting}}}}})}}}});
}

// Not scheduled: no node, PodScheduled=False with `reason` / `message`.
json unscheduledPod(const std::string& reason, const std::string& message) {
  json pod = readyPod();
  pod["spec"].erase("nodeName");
  pod["status"] = {{"phase", "Pending"},
                   {"conditions",
                    json::array({{{"type", "PodScheduled"},
                                  {"status", "False"},
                                  {"reason", reason},
                                  {"message", message}}})}};
  return pod;
}

// Just created: no scheduler has looked at it yet.
json freshPod() {
  json pod = readyPod();
  pod["spec"].erase("nodeName");
  pod["status"] = {{"phase", "Pending"}, {"qosClass", "Burstable"}};
  return pod;
}

json runningNotReadyPod() {
  return patched(readyPod(),
                 {{"status",
                   {{"conditions", kNotReadyConditions},
                    {"containerStatuses",
                     json::array({{{"name", "agent"},
                                   {"ready", false},
                                   {"started", true},
                                   {"restartCount", 0},
                                   {"state",
                                    {{"running", {{"startedAt", "2024-05-01T10:00:05Z"}}}}}}})}}}});
}

json deletingPod(json pod) {
  pod["metadata"]["deletionTimestamp"] = "2024-05-01T11:00:00Z";
  pod["metadata"]["deletionGracePeriodSeconds"] = 30;
  return pod;
}

// A pod of the legacy Deployment, from ReplicaSet `rs`, created at `created`.
json deploymentPod(json pod, const std::string& rs, const std::string& suffix,
                   const std::string& created) {
  pod["metadata"]["name"] = rs + "-" + suffix;
  pod["metadata"]["creationTimestamp"] = created;
  pod["metadata"]["labels"] = {{"sandboxd.local/sandbox", "bob-legacy"},
                               {"pod-template-hash", rs.substr(rs.rfind('-') + 1)}};
  pod["metadata"]["ownerReferences"] =
      json::array({{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", rs},
                    {"controller", true}}});
  pod["spec"].erase("volumes");
  return pod;
}
const std::string kOldRs = "bob-legacy-7c9d8b6f5";
const std::string kNewRs = "bob-legacy-5f4c7d8e9";

json pvc(const std::string& phase, const std::string& storageClass = "standard") {
  json claim = json::parse(R"({
    "apiVersion": "v1", "kind": "PersistentVolumeClaim",
    "metadata": {"name": "vn-homevn-agent-alice-dev-0", "namespace": "sandboxes",
                 "labels": {"sandboxd.local/sandbox": "alice-dev"},
                 "finalizers": ["kubernetes.io/pvc-protection"]},
    "spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem",
             "resources": {"requests": {"storage": "10Gi"}}}
  })");
  if (!storageClass.empty()) {
    claim["spec"]["storageClassName"] = storageClass;
  }
  claim["status"] = {{"phase", phase}};
  if (phase == "Bound") {
    claim["spec"]["volumeName"] = "pv-003";
    claim["status"]["capacity"] = {{"storage", "10Gi"}};
    claim["status"]["accessModes"] = json::array({"ReadWriteOnce"});
  }
  return claim;
}

ObservedObjects sts(std::optional<json> workload, std::vector<json> pods = {},
                    std::optional<json> claim = pvc("Bound")) {
  ObservedObjects o;
  o.kind = WorkloadKind::StatefulSet;
  o.workload = std::move(workload);
  o.pods = std::move(pods);
  o.pvc = std::move(claim);
  return o;
}

ObservedObjects deploy(std::optional<json> workload, std::vector<json> pods = {},
                       std::optional<json> claim = std::nullopt) {
  ObservedObjects o;
  o.kind = WorkloadKind::Deployment;
  o.workload = std::move(workload);
  o.pods = std::move(pods);
  o.pvc = std::move(claim);
  return o;
}

// ---------------------------------------------------------------- the table

struct Row {
  std::string name;
  ObservedObjects observed;
  Phase phase;
  StatusReason reason;
  std::string messageHas;  // a substring the message must contain
  int desired;
  int ready;
};

void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

std::vector<Row> rows() {
  const json stsRunning = statefulSet(1, 1);
  const json stsStarting = statefulSet(1, 0);
  const json stsStopped = statefulSet(0, 0);
  const json oldPodA = deploymentPod(readyPod(), kOldRs, "x2k4q", "2024-04-01T09:00:00Z");
  const std::string imageMsg = "Back-off pulling image \"registry.local/sandbox:9.9\"";
  return {
      // --- no workload / deleting
      {"NoStatefulSetIsTerminated", sts(std::nullopt, {}, pvc("Bound")), Phase::Terminated,
       StatusReason::WorkloadNotFound, "no StatefulSet", 0, 0},
      {"NoStatefulSetButPodLeftIsDeleting", sts(std::nullopt, {deletingPod(readyPod())}),
       Phase::Deleting, StatusReason::PodTerminating, "alice-dev-0", 0, 0},
      {"StatefulSetWithDeletionTimestampIsDeleting",
       sts(patched(stsRunning, {{"metadata", {{"deletionTimestamp", "2024-05-01T11:00:00Z"}}}}),
           {readyPod()}),
       Phase::Deleting, StatusReason::Terminating, "being deleted", 1, 1},

      // --- stopped / stopping
      {"ScaledToZeroWithoutPodsIsStopped", sts(stsStopped), Phase::Stopped,
       StatusReason::ScaledToZero, "scaled to zero", 0, 0},
      {"ScaledToZeroWithRunningPodIsStopping",
       sts(patched(stsStopped, {{"status", {{"replicas", 1}, {"readyReplicas", 1}}}}),
           {readyPod()}),
       Phase::Stopping, StatusReason::PodTerminating, "alice-dev-0 is still terminating", 0, 1},
      {"ScaledToZeroWithTerminatingPodIsStopping", sts(stsStopped, {deletingPod(readyPod())}),
       Phase::Stopping, StatusReason::PodTerminating, "terminating", 0, 0},

      // --- controller has not caught up
      {"StaleGenerationWithoutReadyPodIsRolloutPending",
       sts(patched(stsStarting, {{"metadata", {{"generation", 4}}}}), {}), Phase::Starting,
       StatusReason::RolloutPending, "not yet observed generation 4 (observed 3)", 1, 0},
      {"NewStatefulSetWithEmptyStatusIsRolloutPending",
       sts(patched(stsStarting, {{"metadata", {{"generation", 1}}}, {"status", nullptr}}), {},
           std::nullopt),
       Phase::Starting, StatusReason::RolloutPending, "generation 1 (observed 0)", 1, 0},
      {"StaleGenerationWithReadyPodIsUpdating",
       sts(patched(stsRunning, {{"metadata", {{"generation", 4}}}}), {readyPod()}),
       Phase::Updating, StatusReason::RollingUpdate, "generation 4", 1, 1},
      {"StartAfterStopBeforeControllerObservesIsRolloutPending",
       sts(patched(stsStopped, {{"spec", {{"replicas", 1}}}, {"metadata", {{"generation", 4}}}})),
       Phase::Starting, StatusReason::RolloutPending, "generation 4", 1, 0},

      // --- rolling update
      {"NewRevisionWithOldPodStillReadyIsUpdating",
       sts(patched(stsRunning, {{"status", {{"updateRevision", kNewRevision},
                                            {"updatedReplicas", nullptr}}}}),
           {readyPod()}),
       Phase::Updating, StatusReason::RollingUpdate,
       std::string("rolling out revision ") + kNewRevision + " (0 of 1 pods updated)", 1, 1},
      {"RevisionsDifferButAllPodsUpdatedIsRunning",
       sts(patched(stsRunning, {{"status", {{"updateRevision", kNewRevision}}}}), {readyPod()}),
       Phase::Running, StatusReason::Ready, "is ready", 1, 1},
      {"OldPodDeletedDuringUpdateIsPodTerminating",
       sts(patched(stsRunning, {{"status", {{"updateRevision", kNewRevision},
                                            {"updatedReplicas", nullptr}}}}),
           {deletingPod(readyPod())}),
       Phase::Starting, StatusReason::PodTerminating, "a replacement will be created", 1, 0},

      // --- running
      {"ReadyPodIsRunning", sts(stsRunning, {readyPod()}), Phase::Running, StatusReason::Ready,
       "StatefulSet alice-dev is ready (1 of 1 replicas ready)", 1, 1},
      {"ReadyCountersWithoutPodsGivenIsRunning", sts(stsRunning, {}), Phase::Running,
       StatusReason::Ready, "1 of 1", 1, 1},
      {"ReadyPodWinsOverLaggingCounters", sts(stsStarting, {readyPod()}), Phase::Running,
       StatusReason::Ready, "1 of 1", 1, 1},

      // --- not ready: pod-level evidence
      {"NotReadyPodWinsOverReadyCounters", sts(stsRunning, {runningNotReadyPod()}),
       Phase::Starting, StatusReason::PodNotReady,
       "alice-dev-0 is running but not ready: containers with unready status: [agent]", 1, 0},
      {"ReadyPodBeingDeletedIsPodTerminating", sts(stsRunning, {deletingPod(readyPod())}),
       Phase::Starting, StatusReason::PodTerminating, "alice-dev-0 is terminating", 1, 0},
      {"EvictedPodIsPodFailed",
       sts(stsStarting,
           {patched(readyPod(),
                    {{"status",
                      {{"phase", "Failed"},
                       {"reason", "Evicted"},
                       {"message", "The node was low on resource: ephemeral-storage."},
                       {"conditions", kNotReadyConditions}}}})}),
       Phase::Error, StatusReason::PodFailed,
       "alice-dev-0 failed: Evicted: The node was low on resource: ephemeral-storage.", 1, 0},
      {"ImagePullBackOffIsError",
       sts(stsStarting, {waitingPod("ImagePullBackOff", imageMsg)}), Phase::Error,
       StatusReason::ImagePullBackOff,
       "container agent is waiting (ImagePullBackOff): Back-off pulling image "
       "\"registry.local/sandbox:9.9\"",
       1, 0},
      {"InvalidImageNameIsError",
       sts(stsStarting,
           {waitingPod("InvalidImageName",
                       "Failed to apply default image tag \"Registry/Bad::tag\": couldn't parse "
                       "image reference")}),
       Phase::Error, StatusReason::ImagePullBackOff, "couldn't parse image reference", 1, 0},
      {"FirstErrImagePullIsStillStarting",
       sts(stsStarting,
           {waitingPod("ErrImagePull",
                       "rpc error: code = NotFound desc = failed to pull and unpack image")}),
       Phase::Starting, StatusReason::ImagePullBackOff, "failed to pull and unpack image", 1, 0},
      {"InitContainerImagePullBackOffIsError",
       sts(stsStarting,
           {initWaitingPod("ImagePullBackOff", "Back-off pulling image \"busybox:nope\"")}),
       Phase::Error, StatusReason::ImagePullBackOff,
       "init container home-init is waiting (ImagePullBackOff)", 1, 0},
      {"CrashLoopBackOffIsError", sts(stsStarting, {crashLoopPod()}), Phase::Error,
       StatusReason::CrashLoopBackOff, "back-off 40s restarting failed container=agent", 1, 0},
      {"CrashLoopOutranksErrImagePullInAnotherContainer",
       sts(stsStarting,
           {patched(crashLoopPod(),
                    {{"status",
                      {{"containerStatuses",
                        json::array({waitingPod("ErrImagePull")["status"]["containerStatuses"][0],
                                     patched(crashLoopPod()["status"]["containerStatuses"][0],
                                             {{"name", "sidecar"}})})}}}})}),
       Phase::Error, StatusReason::CrashLoopBackOff, "container sidecar", 1, 0},
      {"CreateContainerConfigErrorIsContainerError",
       sts(stsStarting,
           {waitingPod("CreateContainerConfigError", "secret \"alice-dev-env\" not found")}),
       Phase::Error, StatusReason::ContainerError, "secret \"alice-dev-env\" not found", 1, 0},
      {"CreateContainerErrorIsContainerError",
       sts(stsStarting,
           {waitingPod("CreateContainerError",
                       "Error: failed to create containerd container: name already in use")}),
       Phase::Error, StatusReason::ContainerError, "(CreateContainerError)", 1, 0},
      {"RunContainerErrorIsContainerError",
       sts(stsStarting,
           {waitingPod("RunContainerError",
                       "failed to start container: exec: \"/bin/agent\": no such file")}),
       Phase::Error, StatusReason::ContainerError, "no such file", 1, 0},
      {"ContainerExitedNonZeroIsContainerError",
       sts(stsStarting,
           {patched(runningNotReadyPod(),
                    {{"status",
                      {{"containerStatuses",
                        json::array({{{"name", "agent"},
                                      {"ready", false},
                                      {"restartCount", 0},
                                      {"state",
                                       {{"terminated",
                                         {{"exitCode", 137}, {"reason", "OOMKilled"}}}}}}})}}}})}),
       Phase::Error, StatusReason::ContainerError,
       "container agent exited with code 137 (OOMKilled)", 1, 0},

      // --- not ready: scheduling and volume
      {"UnschedulableIsStartingWithSchedulerMessage",
       sts(stsStarting,
           {unscheduledPod("Unschedulable",
                           "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes "
                           "are available: 1 No preemption victims found for incoming pod.")}),
       Phase::Starting, StatusReason::Unschedulable,
       "alice-dev-0 cannot be scheduled: 0/1 nodes are available: 1 Insufficient cpu.", 1, 0},
      {"UnschedulableForCpuWhileClaimWaitsForConsumerIsUnschedulable",
       sts(stsStarting,
           {unscheduledPod("Unschedulable", "0/1 nodes are available: 1 Insufficient memory.")},
           pvc("Pending", "local-wait")),
       Phase::Starting, StatusReason::Unschedulable, "Insufficient memory", 1, 0},
      {"UnboundImmediateClaimIsPvcPending",
       sts(stsStarting,
           {unscheduledPod("Unschedulable",
                           "0/1 nodes are available: pod has unbound immediate "
                           "PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 "
                           "Preemption is not helpful for scheduling.")},
           pvc("Pending")),
       Phase::Starting, StatusReason::PvcPending,
       std::string("volume claim ") + kClaim +
           " is Pending: no volume is bound to it; check that storage class \"standard\" exists "
           "and has a working provisioner or free volumes",
       1, 0},
      {"PendingClaimBeforeSchedulerLooksIsPvcPending",
       sts(stsStarting, {freshPod()}, pvc("Pending")), Phase::Starting, StatusReason::PvcPending,
       kClaim, 1, 0},
      {"PendingClaimWithoutStorageClassSaysSo",
       sts(stsStarting, {freshPod()}, pvc("Pending", "")), Phase::Starting,
       StatusReason::PvcPending, "no storage class is set", 1, 0},
      {"PendingClaimIgnoredOnceThePodIsScheduled",
       sts(stsStarting, {waitingPod("ContainerCreating")}, pvc("Pending")), Phase::Starting,
       StatusReason::ContainerCreating, "container agent is waiting (ContainerCreating)", 1, 0},
      {"SchedulingGatedPodIsPodNotScheduled",
       sts(stsStarting,
           {unscheduledPod("SchedulingGated",
                           "Scheduling is blocked due to non-empty scheduling gates")}),
       Phase::Starting, StatusReason::PodNotScheduled,
       "alice-dev-0 is waiting to be scheduled: SchedulingGated: Scheduling is blocked", 1, 0},
      {"PodNotYetSeenBySchedulerIsPodNotScheduled", sts(stsStarting, {freshPod()}),
       Phase::Starting, StatusReason::PodNotScheduled, "alice-dev-0 is waiting to be scheduled",
       1, 0},

      // --- not ready: creation
      {"NoPodIsPodNotCreated",
       sts(patched(stsStarting,
                   {{"status", {{"replicas", nullptr}, {"currentReplicas", nullptr}}}}),
           {}), Phase::Starting, StatusReason::PodNotCreated,
       "no pod has been created yet (0 of 1 replicas ready)", 1, 0},
      {"NoPodsGivenButCountersShowOneIsPodNotReady",
       sts(patched(stsStarting, {{"status", {{"replicas", 1}}}}), {}), Phase::Starting,
       StatusReason::PodNotReady, "1 pod(s) exist but 0 of 1 replicas ready", 1, 0},
      {"ContainerCreatingIsStarting", sts(stsStarting, {waitingPod("ContainerCreating")}),
       Phase::Starting, StatusReason::ContainerCreating,
       "alice-dev-0 is starting on node kwok-node-0; container agent is waiting "
       "(ContainerCreating)",
       1, 0},
      {"InitContainerRunningIsContainerCreating",
       sts(stsStarting,
           {patched(initWaitingPod("PodInitializing", ""),
                    {{"status",
                      {{"initContainerStatuses",
                        json::array({{{"name", "home-init"},
                                      {"ready", false},
                                      {"state",
                                       {{"running",
                                         {{"startedAt", "2024-05-01T10:00:02Z"}}}}}}})}}}})}),
       Phase::Starting, StatusReason::ContainerCreating, "init container home-init is running", 1,
       0},
      {"ScheduledWithoutContainerStatusesIsContainerCreating",
       sts(stsStarting, {patched(readyPod(), {{"status", {{"phase", "Pending"},
                                                          {"conditions", kNotReadyConditions},
                                                          {"containerStatuses", nullptr}}}})}),
       Phase::Starting, StatusReason::ContainerCreating, "containers are being created", 1, 0},
      {"RunningButReadinessFailingIsPodNotReady", sts(stsStarting, {runningNotReadyPod()}),
       Phase::Starting, StatusReason::PodNotReady, "running but not ready", 1, 0},

      // --- legacy Deployment
      {"DeploymentNotFoundIsTerminated", deploy(std::nullopt), Phase::Terminated,
       StatusReason::WorkloadNotFound, "no Deployment", 0, 0},
      {"DeploymentReadyIsRunning", deploy(deployment(1, 1, 1, 1), {oldPodA}), Phase::Running,
       StatusReason::Ready, "Deployment bob-legacy is ready", 1, 1},
      {"DeploymentCountersReadyIsRunning", deploy(deployment(1, 1, 1, 1)), Phase::Running,
       StatusReason::Ready, "1 of 1", 1, 1},
      {"DeploymentScaledToZeroIsStopped", deploy(deployment(0, 0, 0, 0)), Phase::Stopped,
       StatusReason::ScaledToZero, "Deployment bob-legacy is scaled to zero", 0, 0},
      {"DeploymentScaledToZeroWithPodIsStopping",
       deploy(deployment(0, 0, 0, 0), {deletingPod(oldPodA)}), Phase::Stopping,
       StatusReason::PodTerminating, "bob-legacy-7c9d8b6f5-x2k4q", 0, 0},
      {"DeploymentBeingDeletedIsDeleting",
       deploy(patched(deployment(1, 1, 1, 1),
                      {{"metadata", {{"deletionTimestamp", "2024-05-01T11:00:00Z"}}}})),
       Phase::Deleting, StatusReason::Terminating, "Deployment bob-legacy is being deleted", 1,
       1},
      {"DeploymentSurgePodCreatingIsUpdating",
       deploy(deployment(1, 1, 2, 1),
              {oldPodA, deploymentPod(waitingPod("ContainerCreating"), kNewRs, "9zq8w",
                                      "2024-05-01T10:00:00Z")}),
       Phase::Updating, StatusReason::RollingUpdate,
       "rolling out a new ReplicaSet (1 of 1 pods updated, 1 old pod(s) left)", 1, 1},
      {"DeploymentStuckNewPodSaysWhyWhileUpdating",
       deploy(deployment(1, 1, 2, 1),
              {oldPodA, deploymentPod(waitingPod("ImagePullBackOff", imageMsg), kNewRs, "9zq8w",
                                      "2024-05-01T10:00:00Z")}),
       Phase::Updating, StatusReason::RollingUpdate,
       "Back-off pulling image \"registry.local/sandbox:9.9\"", 1, 1},
      {"DeploymentUpdatedBelowDesiredWhileAvailableIsUpdating",
       deploy(deployment(1, 1, 1, 0)), Phase::Updating, StatusReason::RollingUpdate,
       "0 of 1 pods updated", 1, 1},
      {"DeploymentOldPodTerminatingNewPodReadyIsRunning",
       deploy(deployment(1, 1, 1, 1),
              {deletingPod(oldPodA),
               deploymentPod(readyPod(), kNewRs, "9zq8w", "2024-05-01T10:00:00Z")}),
       Phase::Running, StatusReason::Ready, "1 of 1", 1, 1},
      {"DeploymentEvictedOldPodBesideReadyPodIsRunning",
       deploy(deployment(1, 1, 1, 1),
              {patched(oldPodA, {{"status", {{"phase", "Failed"}, {"reason", "Evicted"},
                                             {"conditions", kNotReadyConditions}}}}),
               deploymentPod(readyPod(), kOldRs, "m3n7p", "2024-05-01T10:00:00Z")}),
       Phase::Running, StatusReason::Ready, "1 of 1", 1, 1},
      {"DeploymentCrashLoopIsError",
       deploy(deployment(1, 0, 1, 1),
              {deploymentPod(crashLoopPod(), kOldRs, "x2k4q", "2024-04-01T09:00:00Z")}),
       Phase::Error, StatusReason::CrashLoopBackOff, "bob-legacy-7c9d8b6f5-x2k4q", 1, 0},
      {"DeploymentPendingClaimIsIgnored",
       deploy(deployment(1, 0, 1, 1),
              {deploymentPod(unscheduledPod("Unschedulable",
                                            "0/1 nodes are available: pod has unbound immediate "
                                            "PersistentVolumeClaims."),
                             kOldRs, "x2k4q", "2024-04-01T09:00:00Z")},
              pvc("Pending")),
       Phase::Starting, StatusReason::Unschedulable, "unbound immediate PersistentVolumeClaims",
       1, 0},
      {"DeploymentWithoutPodIsPodNotCreated", deploy(deployment(1, 0, 0, 0)), Phase::Starting,
       StatusReason::PodNotCreated, "no pod has been created yet", 1, 0},
      {"DeploymentStaleGenerationWhileAvailableIsUpdating",
       deploy(patched(deployment(1, 1, 1, 1), {{"metadata", {{"generation", 8}}}})),
       Phase::Updating, StatusReason::RollingUpdate, "Deployment controller", 1, 1},
  };
}

class DeriveStatusTest : public ::testing::TestWithParam<Row> {};

TEST_P(DeriveStatusTest, DerivesPhaseReasonMessageAndCounts) {
  const Row& row = GetParam();
  const DerivedStatus got = deriveStatus(row.observed);
  RecordProperty("message", got.message);  // visible with --gtest_output=xml
  EXPECT_EQ(toString(got.phase), std::string(toString(row.phase)));
  EXPECT_EQ(toString(got.reason), std::string(toString(row.reason)));
  EXPECT_THAT(got.message, HasSubstr(row.messageHas));
  EXPECT_FALSE(got.message.empty());
  EXPECT_EQ(got.desiredReplicas, row.desired);
  EXPECT_EQ(got.readyReplicas, row.ready);
}

INSTANTIATE_TEST_SUITE_P(Rules, DeriveStatusTest, ::testing::ValuesIn(rows()),
                         [](const ::testing::TestParamInfo<Row>& info) { return info.param.name; });

// ---------------------------------------------------------------- other behaviour

TEST(StatusReasonTest, EveryReasonHasItsOwnEnumeratorName) {
  const std::vector<std::pair<StatusReason, std::string>> all = {
      {StatusReason::Ready, "Ready"},
      {StatusReason::ScaledToZero, "ScaledToZero"},
      {StatusReason::WorkloadNotFound, "WorkloadNotFound"},
      {StatusReason::Terminating, "Terminating"},
      {StatusReason::RolloutPending, "RolloutPending"},
      {StatusReason::PodNotCreated, "PodNotCreated"},
      {StatusReason::PvcPending, "PvcPending"},
      {StatusReason::Unschedulable, "Unschedulable"},
      {StatusReason::ContainerCreating, "ContainerCreating"},
      {StatusReason::ImagePullBackOff, "ImagePullBackOff"},
      {StatusReason::CrashLoopBackOff, "CrashLoopBackOff"},
      {StatusReason::ContainerError, "ContainerError"},
      {StatusReason::PodNotReady, "PodNotReady"},
      {StatusReason::PodTerminating, "PodTerminating"},
      {StatusReason::RollingUpdate, "RollingUpdate"},
      {StatusReason::PodFailed, "PodFailed"},
      {StatusReason::PodNotScheduled, "PodNotScheduled"},
      {StatusReason::PodRefused, "PodRefused"},
  };
  // The list covers the enum: it is dense from Ready to the last enumerator.
  ASSERT_EQ(all.size(), static_cast<size_t>(StatusReason::PodRefused) + 1);
  std::set<std::string> seen;
  for (const auto& [reason, name] : all) {
    EXPECT_EQ(toString(reason), name);
    EXPECT_TRUE(seen.insert(toString(reason)).second) << "duplicate " << name;
  }
}

TEST(ToObservedStatusTest, CopiesTheDerivedFieldsAndMarksTheWorkloadAsExisting) {
  const ObservedObjects observed = sts(statefulSet(1, 0), {crashLoopPod()});
  const ObservedStatus got = toObservedStatus(deriveStatus(observed), observed);
  EXPECT_EQ(got.phase, Phase::Error);
  EXPECT_EQ(got.reason, "CrashLoopBackOff");
  EXPECT_THAT(got.message, HasSubstr("back-off 40s"));
  EXPECT_EQ(got.desiredReplicas, 1);
  EXPECT_EQ(got.readyReplicas, 0);
  EXPECT_EQ(got.workload, WorkloadKind::StatefulSet);
  EXPECT_TRUE(got.exists);
}

TEST(ToObservedStatusTest, ReportsTheLegacyKind) {
  const ObservedObjects observed = deploy(deployment(1, 1, 1, 1));
  const ObservedStatus got = toObservedStatus(deriveStatus(observed), observed);
  EXPECT_EQ(got.workload, WorkloadKind::Deployment);
  EXPECT_EQ(got.phase, Phase::Running);
  EXPECT_EQ(got.reason, "Ready");
  EXPECT_TRUE(got.exists);
}

TEST(ToObservedStatusTest, MissingWorkloadDoesNotExist) {
  const ObservedObjects observed = deploy(std::nullopt);
  const ObservedStatus got = toObservedStatus(deriveStatus(observed), observed);
  EXPECT_EQ(got.phase, Phase::Terminated);
  EXPECT_EQ(got.reason, "WorkloadNotFound");
  EXPECT_EQ(got.workload, WorkloadKind::Deployment);
  EXPECT_FALSE(got.exists);
}

TEST(DeriveStatusEdgeTest, MissingReplicasMeansOne) {
  json workload = statefulSet(1, 1);
  workload["spec"].erase("replicas");
  const DerivedStatus got = deriveStatus(sts(workload, {readyPod()}));
  EXPECT_EQ(got.desiredReplicas, 1);
  EXPECT_EQ(got.phase, Phase::Running);
}

TEST(DeriveStatusEdgeTest, MalformedFieldsFallBackToDefaultsInsteadOfThrowing) {
  const json workload = json::parse(R"({
    "metadata": {"name": "x", "generation": "3"},
    "spec": {"replicas": "one"},
    "status": ["not", "an", "object"]})");
  const json pod = json::parse(R"({"metadata": "oops", "status": {"conditions": 5}})");
  DerivedStatus got;
  ASSERT_NO_THROW(got = deriveStatus(sts(workload, {pod}, json("garbage"))));
  EXPECT_EQ(got.desiredReplicas, 1);
  EXPECT_FALSE(got.message.empty());
}

TEST(DeriveStatusEdgeTest, SameInputGivesSameOutput) {
  const ObservedObjects observed = sts(statefulSet(1, 0), {freshPod()}, pvc("Pending"));
  const DerivedStatus a = deriveStatus(observed);
  const DerivedStatus b = deriveStatus(observed);
  EXPECT_EQ(a.phase, b.phase);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.message, b.message);
}

}  // namespace
}  // namespace sandboxd
