// Deriving a sandbox's phase, reason and message from observed Kubernetes objects.
// Pure functions: no I/O, no clock.
#pragma once

#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "sandboxd/model/sandbox.h"

namespace sandboxd {

using json = nlohmann::json;

// The machine-readable reasons a status may carry.
enum class StatusReason {
  Ready,                  // RUNNING: the pod is Ready
  ScaledToZero,           // STOPPED
  WorkloadNotFound,       // TERMINATED: no StatefulSet/Deployment
  Terminating,            // DELETING: the workload has a deletionTimestamp
  RolloutPending,         // controller has not observed the latest spec yet
  PodNotCreated,          // replicas wanted, no pod yet
  PvcPending,             // the home volume claim is not Bound
  Unschedulable,          // PodScheduled=False reason Unschedulable
  ContainerCreating,      // scheduled, containers starting
  ImagePullBackOff,       // waiting: ImagePullBackOff / ErrImagePull / InvalidImageName
                          // (ERROR, except STARTING for a first ErrImagePull)
  CrashLoopBackOff,       // waiting: CrashLoopBackOff
  ContainerError,         // waiting: CreateContainerConfigError and others; terminated non-zero
  PodNotReady,            // running but the readiness check fails
  PodTerminating,         // scaling down: pod still present
  RollingUpdate,          // UPDATING: a new revision is rolling out
  PodFailed,              // pod phase Failed
  PodNotScheduled,        // PodScheduled not True for another reason (e.g. SchedulingGated,
                          // or no scheduler has looked at the pod yet)
};
// CamelCase, equal to the enumerator's name.
const char* toString(StatusReason reason);

struct ObservedObjects {
  WorkloadKind kind = WorkloadKind::StatefulSet;
  std::optional<json> workload;  // the StatefulSet or Deployment
  std::vector<json> pods;        // the sandbox's pods (0 or 1 normally; more while rolling)
  std::optional<json> pvc;       // vn-homevn-agent-{name}-0 (StatefulSet only)
};

struct DerivedStatus {
  Phase phase = Phase::Terminated;
  StatusReason reason = StatusReason::WorkloadNotFound;
  std::string message;
  int desiredReplicas = 0;
  int readyReplicas = 0;
};

// The rules are listed at the top of src/status/status_derivation.cc.
DerivedStatus deriveStatus(const ObservedObjects& observed);

// Convenience: DerivedStatus → ObservedStatus (with kind and existence).
ObservedStatus toObservedStatus(const DerivedStatus& derived, const ObservedObjects& observed);

}  // namespace sandboxd
