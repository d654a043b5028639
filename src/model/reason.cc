#include "sandboxd/model/reason.h"

namespace sandboxd {

const char* toString(StatusReason reason) {
  switch (reason) {
    case StatusReason::Ready: return "Ready";
    case StatusReason::ScaledToZero: return "ScaledToZero";
    case StatusReason::WorkloadNotFound: return "WorkloadNotFound";
    case StatusReason::Terminating: return "Terminating";
    case StatusReason::RolloutPending: return "RolloutPending";
    case StatusReason::PodNotCreated: return "PodNotCreated";
    case StatusReason::PvcPending: return "PvcPending";
    case StatusReason::Unschedulable: return "Unschedulable";
    case StatusReason::ContainerCreating: return "ContainerCreating";
    case StatusReason::ImagePullBackOff: return "ImagePullBackOff";
    case StatusReason::CrashLoopBackOff: return "CrashLoopBackOff";
    case StatusReason::ContainerError: return "ContainerError";
    case StatusReason::PodNotReady: return "PodNotReady";
    case StatusReason::PodTerminating: return "PodTerminating";
    case StatusReason::RollingUpdate: return "RollingUpdate";
    case StatusReason::PodFailed: return "PodFailed";
    case StatusReason::PodNotScheduled: return "PodNotScheduled";
    case StatusReason::PodRefused: return "PodRefused";
    case StatusReason::Accepted: return "Accepted";
    case StatusReason::Created: return "Created";
    case StatusReason::CreateFailed: return "CreateFailed";
    case StatusReason::DeleteRequested: return "DeleteRequested";
    case StatusReason::Deleted: return "Deleted";
    case StatusReason::StatusUnknown: return "StatusUnknown";
    case StatusReason::IdleStopped: return "IdleStopped";
    case StatusReason::Expired: return "Expired";
    case StatusReason::Restoring: return "Restoring";
    case StatusReason::Restored: return "Restored";
    case StatusReason::ReconcileFailed: return "ReconcileFailed";
    case StatusReason::SecretLost: return "SecretLost";
  }
  return "Unknown";
}

}  // namespace sandboxd
