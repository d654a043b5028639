// Status derivation: a sandbox's phase, reason and message from its workload (StatefulSet, or
// a legacy Deployment), its pods and its home volume claim. Pure: no I/O, no clock.
//
// Terms
//   desired  = workload spec.replicas (missing = 1).
//   ready    = with pods given: the number of pods whose condition Ready is True and that have
//              no deletionTimestamp; with no pods given: status.readyReplicas (missing = 0).
//              This is the readyReplicas of the result.
//   serving  = ready > 0, except a Deployment with no pods given uses status.availableReplicas.
//   live pod = a pod without metadata.deletionTimestamp.
//
// Rules, first match wins:
//   1. no workload:        pods left -> DELETING/PodTerminating; else TERMINATED/WorkloadNotFound
//   2. workload has a deletionTimestamp  -> DELETING/Terminating
//   3. desired == 0:       any pod (terminating or not) -> STOPPING/PodTerminating;
//                          else STOPPED/ScaledToZero
//   4. metadata.generation set and status.observedGeneration (missing = 0) below it:
//                          serving -> UPDATING/RollingUpdate; else STARTING/RolloutPending
//   5. rolling update while an old pod serves -> UPDATING/RollingUpdate
//        StatefulSet: updateRevision and currentRevision both set and different,
//                     updatedReplicas (missing 0) < desired
//        Deployment:  updatedReplicas < desired, or status.replicas > updatedReplicas
//                     (old pods not yet gone)
//      The message also explains the newest not-ready live pod, if any (a stuck new revision).
//   6. ready >= desired    -> RUNNING/Ready
//   7. not ready: explain from the most specific evidence.
//      No pods given: status.replicas > 0 -> STARTING/PodNotReady; else STARTING/PodNotCreated.
//      Only terminating pods  -> STARTING/PodTerminating (the pod is being replaced).
//      Every live pod ready (fewer than desired) -> STARTING/PodNotCreated.
//      Otherwise the newest live not-ready pod (creationTimestamp, then list order) decides:
//        a. status.phase Failed -> ERROR/PodFailed
//        b. the worst container state, init containers before containers:
//             waiting ImagePullBackOff / InvalidImageName / ErrImageNeverPull
//                                                          -> ERROR/ImagePullBackOff
//             waiting CrashLoopBackOff                     -> ERROR/CrashLoopBackOff
//             waiting CreateContainerConfigError / CreateContainerError / RunContainerError /
//                     PreStartHookError / PostStartHookError, or terminated with a non-zero
//                     exit code                            -> ERROR/ContainerError
//             waiting ErrImagePull / RegistryUnavailable (first failure, retried)
//                                                          -> STARTING/ImagePullBackOff
//           (any ERROR state beats STARTING/ImagePullBackOff)
//        c. StatefulSet, the claim is given with status.phase != Bound, the pod is not
//           scheduled (PodScheduled not True), and the pod is not Unschedulable for a reason
//           that has nothing to do with volumes -> STARTING/PvcPending
//        d. PodScheduled False, reason Unschedulable -> STARTING/Unschedulable
//        e. not scheduled otherwise (PodScheduled False with another reason, e.g.
//           SchedulingGated; or missing and no spec.nodeName) -> STARTING/PodNotScheduled
//        f. phase Pending, no container statuses, or a container waiting (ContainerCreating,
//           PodInitializing, any other reason) -> STARTING/ContainerCreating
//        g. otherwise (containers running, readiness failing) -> STARTING/PodNotReady
//   Messages are sentences naming the object and quoting the Kubernetes message when there is
//   one; they are never empty.
#include "sandboxd/status/status_derivation.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace sandboxd {

namespace {

// ---------------------------------------------------------------- JSON access, never throws

const json* find(const json& obj, std::initializer_list<const char*> path) {
  const json* cur = &obj;
  for (const char* key : path) {
    if (!cur->is_object()) {
      return nullptr;
    }
    auto it = cur->find(key);
    if (it == cur->end()) {
      return nullptr;
    }
    cur = &*it;
  }
  return cur;
}

std::optional<int64_t> getInt(const json& obj, std::initializer_list<const char*> path) {
  const json* v = find(obj, path);
  if (v == nullptr || !v->is_number_integer()) {
    return std::nullopt;
  }
  return v->get<int64_t>();
}

int intOr(const json& obj, std::initializer_list<const char*> path, int fallback) {
  return static_cast<int>(getInt(obj, path).value_or(fallback));
}

std::string str(const json& obj, std::initializer_list<const char*> path) {
  const json* v = find(obj, path);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

bool has(const json& obj, std::initializer_list<const char*> path) {
  const json* v = find(obj, path);
  return v != nullptr && !v->is_null();
}

const json* condition(const json& pod, const std::string& type) {
  const json* conds = find(pod, {"status", "conditions"});
  if (conds == nullptr || !conds->is_array()) {
    return nullptr;
  }
  for (const json& c : *conds) {
    if (str(c, {"type"}) == type) {
      return &c;
    }
  }
  return nullptr;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

// "text" or "text: detail" when there is a detail.
std::string withDetail(const std::string& text, const std::string& detail) {
  return detail.empty() ? text : text + ": " + detail;
}

bool containsNoCase(const std::string& haystack, const std::string& needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) {
                          return std::tolower(static_cast<unsigned char>(a)) ==
                                 std::tolower(static_cast<unsigned char>(b));
                        });
  return it != haystack.end();
}

// ---------------------------------------------------------------- pod facts

bool isDeleting(const json& obj) { return has(obj, {"metadata", "deletionTimestamp"}); }

bool isPodReady(const json& pod) {
  const json* c = condition(pod, "Ready");
  return c != nullptr && str(*c, {"status"}) == "True";
}

std::string podName(const json& pod) {
  std::string name = str(pod, {"metadata", "name"});
  return name.empty() ? "the pod" : "pod " + name;
}

int countReadyLivePods(const std::vector<json>& pods) {
  return static_cast<int>(std::count_if(pods.begin(), pods.end(), [](const json& p) {
    return !isDeleting(p) && isPodReady(p);
  }));
}

// The newest live pod that is not ready; nullptr if there is none.
const json* newestLiveNotReadyPod(const std::vector<json>& pods) {
  const json* best = nullptr;
  for (const json& p : pods) {
    if (isDeleting(p) || isPodReady(p)) {
      continue;
    }
    if (best == nullptr || str(p, {"metadata", "creationTimestamp"}) >=
                               str(*best, {"metadata", "creationTimestamp"})) {
      best = &p;
    }
  }
  return best;
}

struct Explanation {
  Phase phase;
  StatusReason reason;
  std::string message;
};

// ---------------------------------------------------------------- container states

// How bad a container state is; a higher rank wins.
enum class Severity { None, Starting, Error };

struct ContainerVerdict {
  Severity severity = Severity::None;
  StatusReason reason = StatusReason::ContainerCreating;
  std::string message;
};

bool oneOf(const std::string& s, std::initializer_list<const char*> values) {
  return std::any_of(values.begin(), values.end(), [&](const char* v) { return s == v; });
}

// The verdict on one container status entry (`init` for init containers).
ContainerVerdict judgeContainer(const json& cs, bool init) {
  const std::string who = std::string(init ? "init container " : "container ") +
                          str(cs, {"name"});
  if (const json* waiting = find(cs, {"state", "waiting"})) {
    const std::string why = str(*waiting, {"reason"});
    const std::string detail = str(*waiting, {"message"});
    const std::string text = withDetail(who + " is waiting (" + why + ")", detail);
    if (oneOf(why, {"ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"})) {
      return {Severity::Error, StatusReason::ImagePullBackOff, text};
    }
    if (why == "CrashLoopBackOff") {
      return {Severity::Error, StatusReason::CrashLoopBackOff, text};
    }
    if (oneOf(why, {"CreateContainerConfigError", "CreateContainerError", "RunContainerError",
                    "PreStartHookError", "PostStartHookError"})) {
      return {Severity::Error, StatusReason::ContainerError, text};
    }
    if (oneOf(why, {"ErrImagePull", "RegistryUnavailable"})) {
      return {Severity::Starting, StatusReason::ImagePullBackOff, text + "; retrying"};
    }
    return {};
  }
  if (const json* term = find(cs, {"state", "terminated"})) {
    const int64_t code = getInt(*term, {"exitCode"}).value_or(0);
    if (code != 0) {
      std::string text = who + " exited with code " + std::to_string(code);
      const std::string why = str(*term, {"reason"});
      if (!why.empty()) {
        text += " (" + why + ")";
      }
      return {Severity::Error, StatusReason::ContainerError,
              withDetail(text, str(*term, {"message"}))};
    }
  }
  return {};
}

// The worst container state of a pod; init containers first, so on a tie they win.
ContainerVerdict worstContainer(const json& pod) {
  ContainerVerdict worst;
  for (const auto& [field, init] : {std::pair<const char*, bool>{"initContainerStatuses", true},
                                    std::pair<const char*, bool>{"containerStatuses", false}}) {
    const json* list = find(pod, {"status", field});
    if (list == nullptr || !list->is_array()) {
      continue;
    }
    for (const json& cs : *list) {
      ContainerVerdict v = judgeContainer(cs, init);
      if (v.severity > worst.severity) {
        worst = v;
      }
    }
  }
  return worst;
}

// Why containers are not up yet, for ContainerCreating: the first waiting container, or the
// running init container.
std::string describeCreating(const json& pod) {
  const std::string node = str(pod, {"spec", "nodeName"});
  std::string text = podName(pod) + " is starting";
  if (!node.empty()) {
    text += " on node " + node;
  }
  for (const auto& [field, init] : {std::pair<const char*, bool>{"initContainerStatuses", true},
                                    std::pair<const char*, bool>{"containerStatuses", false}}) {
    const json* list = find(pod, {"status", field});
    if (list == nullptr || !list->is_array()) {
      continue;
    }
    for (const json& cs : *list) {
      const std::string who = std::string(init ? "init container " : "container ") +
                              str(cs, {"name"});
      if (const json* waiting = find(cs, {"state", "waiting"})) {
        return text + "; " +
               withDetail(who + " is waiting (" + str(*waiting, {"reason"}) + ")",
                          str(*waiting, {"message"}));
      }
      if (init && has(cs, {"state", "running"})) {
        return text + "; " + who + " is running";
      }
    }
  }
  return text + "; containers are being created";
}

// ---------------------------------------------------------------- scheduling and volume

bool isScheduled(const json& pod) {
  const json* c = condition(pod, "PodScheduled");
  if (c != nullptr) {
    return str(*c, {"status"}) == "True";
  }
  return !str(pod, {"spec", "nodeName"}).empty();
}

bool isPvcBound(const json& pvc) { return str(pvc, {"status", "phase"}) == "Bound"; }

std::string describePvcPending(const json& pvc) {
  const std::string name = str(pvc, {"metadata", "name"});
  std::string phase = str(pvc, {"status", "phase"});
  if (phase.empty()) {
    phase = "Pending";
  }
  const std::string cls = str(pvc, {"spec", "storageClassName"});
  std::string text = "volume claim " + (name.empty() ? std::string("(unnamed)") : name) +
                     " is " + phase + ": no volume is bound to it; ";
  if (cls.empty()) {
    text += "no storage class is set and there may be no default storage class";
  } else {
    text += "check that storage class " + quoted(cls) +
            " exists and has a working provisioner or free volumes";
  }
  return text;
}

// ---------------------------------------------------------------- explanations

// Why the given live, not-ready pod is not ready (rule 7 a-g).
Explanation explainPod(const json& pod, WorkloadKind kind, const std::optional<json>& pvc) {
  const std::string who = podName(pod);
  if (str(pod, {"status", "phase"}) == "Failed") {
    std::string detail = str(pod, {"status", "reason"});
    const std::string msg = str(pod, {"status", "message"});
    if (!msg.empty()) {
      detail = detail.empty() ? msg : detail + ": " + msg;
    }
    return {Phase::Error, StatusReason::PodFailed, withDetail(who + " failed", detail)};
  }
  const ContainerVerdict container = worstContainer(pod);
  if (container.severity != Severity::None) {
    return {container.severity == Severity::Error ? Phase::Error : Phase::Starting,
            container.reason, who + ": " + container.message};
  }
  const json* scheduled = condition(pod, "PodScheduled");
  const bool unschedulable = scheduled != nullptr && str(*scheduled, {"status"}) == "False" &&
                             str(*scheduled, {"reason"}) == "Unschedulable";
  const std::string schedMsg = scheduled != nullptr ? str(*scheduled, {"message"}) : "";
  if (kind == WorkloadKind::StatefulSet && pvc.has_value() && !isPvcBound(*pvc) &&
      !isScheduled(pod) && (!unschedulable || containsNoCase(schedMsg, "volume"))) {
    return {Phase::Starting, StatusReason::PvcPending, describePvcPending(*pvc)};
  }
  if (unschedulable) {
    return {Phase::Starting, StatusReason::Unschedulable,
            withDetail(who + " cannot be scheduled", schedMsg)};
  }
  if (!isScheduled(pod)) {
    std::string detail;
    if (scheduled != nullptr) {
      detail = withDetail(str(*scheduled, {"reason"}), schedMsg);
    }
    return {Phase::Starting, StatusReason::PodNotScheduled,
            withDetail(who + " is waiting to be scheduled", detail)};
  }
  const json* statuses = find(pod, {"status", "containerStatuses"});
  const bool noStatuses = statuses == nullptr || !statuses->is_array() || statuses->empty();
  const bool anyWaiting =
      !noStatuses && std::any_of(statuses->begin(), statuses->end(),
                                 [](const json& cs) { return has(cs, {"state", "waiting"}); });
  if (str(pod, {"status", "phase"}) == "Pending" || noStatuses || anyWaiting) {
    return {Phase::Starting, StatusReason::ContainerCreating, describeCreating(pod)};
  }
  std::string detail;
  if (const json* ready = condition(pod, "Ready")) {
    detail = str(*ready, {"message"});
  }
  return {Phase::Starting, StatusReason::PodNotReady,
          withDetail(who + " is running but not ready", detail)};
}

std::string countText(int ready, int desired) {
  return std::to_string(ready) + " of " + std::to_string(desired) + " replicas ready";
}

// Rule 7: why a workload that wants replicas has fewer ready than desired.
Explanation explainNotReady(const ObservedObjects& observed, const json& workload, int desired,
                            int ready) {
  const std::vector<json>& pods = observed.pods;
  if (pods.empty()) {
    const int current = intOr(workload, {"status", "replicas"}, 0);
    if (current > 0) {
      return {Phase::Starting, StatusReason::PodNotReady,
              std::to_string(current) + " pod(s) exist but " + countText(ready, desired)};
    }
    return {Phase::Starting, StatusReason::PodNotCreated,
            "no pod has been created yet (" + countText(ready, desired) + ")"};
  }
  if (const json* pod = newestLiveNotReadyPod(pods)) {
    return explainPod(*pod, observed.kind, observed.pvc);
  }
  const bool anyLive = std::any_of(pods.begin(), pods.end(),
                                   [](const json& p) { return !isDeleting(p); });
  if (!anyLive) {
    return {Phase::Starting, StatusReason::PodTerminating,
            podName(pods.front()) + " is terminating; a replacement will be created"};
  }
  return {Phase::Starting, StatusReason::PodNotCreated,
          countText(ready, desired) + "; waiting for more pods to be created"};
}

std::string kindName(const ObservedObjects& observed, const json& workload) {
  std::string name = str(workload, {"metadata", "name"});
  std::string text = toString(observed.kind);
  return name.empty() ? text : text + " " + name;
}

// Rule 5: a new revision is rolling out.
std::optional<std::string> rollingUpdate(const ObservedObjects& observed, const json& workload,
                                         int desired) {
  const int updated = intOr(workload, {"status", "updatedReplicas"}, 0);
  if (observed.kind == WorkloadKind::StatefulSet) {
    const std::string current = str(workload, {"status", "currentRevision"});
    const std::string update = str(workload, {"status", "updateRevision"});
    if (current.empty() || update.empty() || current == update || updated >= desired) {
      return std::nullopt;
    }
    return "rolling out revision " + update + " (" + std::to_string(updated) + " of " +
           std::to_string(desired) + " pods updated)";
  }
  const int current = intOr(workload, {"status", "replicas"}, 0);
  if (updated >= desired && current <= updated) {
    return std::nullopt;
  }
  return "rolling out a new ReplicaSet (" + std::to_string(updated) + " of " +
         std::to_string(desired) + " pods updated, " + std::to_string(current - updated) +
         " old pod(s) left)";
}

DerivedStatus make(Phase phase, StatusReason reason, std::string message, int desired,
                   int ready) {
  DerivedStatus d;
  d.phase = phase;
  d.reason = reason;
  d.message = std::move(message);
  d.desiredReplicas = desired;
  d.readyReplicas = ready;
  return d;
}

}  // namespace

DerivedStatus deriveStatus(const ObservedObjects& observed) {
  const std::vector<json>& pods = observed.pods;
  // 1. no workload
  if (!observed.workload.has_value() || observed.workload->is_null()) {
    if (!pods.empty()) {
      return make(Phase::Deleting, StatusReason::PodTerminating,
                  std::string(toString(observed.kind)) + " is gone; " + podName(pods.front()) +
                      " is still terminating",
                  0, 0);
    }
    return make(Phase::Terminated, StatusReason::WorkloadNotFound,
                std::string("no ") + toString(observed.kind) + " exists for this sandbox", 0, 0);
  }
  const json& workload = *observed.workload;
  const std::string what = kindName(observed, workload);
  const int desired = std::max(0, intOr(workload, {"spec", "replicas"}, 1));
  const int ready = pods.empty() ? intOr(workload, {"status", "readyReplicas"}, 0)
                                 : countReadyLivePods(pods);
  const bool serving =
      pods.empty() && observed.kind == WorkloadKind::Deployment
          ? intOr(workload, {"status", "availableReplicas"}, 0) > 0
          : ready > 0;

  // 2. workload being deleted
  if (isDeleting(workload)) {
    return make(Phase::Deleting, StatusReason::Terminating, what + " is being deleted", desired,
                ready);
  }
  // 3. scaled to zero
  if (desired == 0) {
    if (!pods.empty()) {
      return make(Phase::Stopping, StatusReason::PodTerminating,
                  "scaled to zero; " + podName(pods.front()) + " is still terminating", desired,
                  ready);
    }
    return make(Phase::Stopped, StatusReason::ScaledToZero, what + " is scaled to zero",
                desired, ready);
  }
  // 4. the controller has not observed the latest spec
  const std::optional<int64_t> generation = getInt(workload, {"metadata", "generation"});
  const int64_t observedGen = getInt(workload, {"status", "observedGeneration"}).value_or(0);
  if (generation.has_value() && observedGen < *generation) {
    const std::string text = "the " + std::string(toString(observed.kind)) +
                             " controller has not yet observed generation " +
                             std::to_string(*generation) + " (observed " +
                             std::to_string(observedGen) + ")";
    if (serving) {
      return make(Phase::Updating, StatusReason::RollingUpdate, text, desired, ready);
    }
    return make(Phase::Starting, StatusReason::RolloutPending, text, desired, ready);
  }
  // 5. rolling update while an old pod still serves
  if (serving) {
    if (std::optional<std::string> rolling = rollingUpdate(observed, workload, desired)) {
      std::string text = *rolling;
      if (const json* pod = newestLiveNotReadyPod(pods)) {
        text += "; " + explainPod(*pod, observed.kind, observed.pvc).message;
      }
      return make(Phase::Updating, StatusReason::RollingUpdate, text, desired, ready);
    }
  }
  // 6. ready
  if (ready >= desired) {
    return make(Phase::Running, StatusReason::Ready, what + " is ready (" +
                countText(ready, desired) + ")", desired, ready);
  }
  // 7. why not ready
  Explanation why = explainNotReady(observed, workload, desired, ready);
  return make(why.phase, why.reason, std::move(why.message), desired, ready);
}

ObservedStatus toObservedStatus(const DerivedStatus& derived, const ObservedObjects& observed) {
  ObservedStatus s;
  s.phase = derived.phase;
  s.reason = toString(derived.reason);
  s.message = derived.message;
  s.desiredReplicas = derived.desiredReplicas;
  s.readyReplicas = derived.readyReplicas;
  s.workload = observed.kind;
  s.exists = observed.workload.has_value() && !observed.workload->is_null();
  return s;
}

}  // namespace sandboxd
