// The reasons a sandbox's status may carry (the API's machine-readable `reason` beside its
// phase and message), in one vocabulary: those derived from the cluster's objects, those the
// manager records when it takes a request, and the reconciler's sticky errors.
#pragma once

namespace sandboxd {

enum class StatusReason {
  // Derived from the cluster's objects (status/status_derivation.h). They come first, from
  // Ready to PodRefused, in this order.
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
  PodRefused,             // ERROR: the API server or an admission policy refused the
                          // StatefulSet's pod (its FailedCreate event; status/pod_refusal.h)

  // Recorded by the manager when it takes a request, until a read shows the live status.
  Accepted,               // CREATING: the create is recorded, its objects not made yet
  Created,                // CREATING: the create's answer, its objects just made
  CreateFailed,           // DELETING: the create failed and what it made is being undone
  DeleteRequested,        // DELETING: the delete is accepted, objects are still there
  Deleted,                // TERMINATED: the delete's answer when nothing is left
  StatusUnknown,          // the cluster could not be read; the last known phase is shown
  IdleStopped,            // STOPPED: the reconciler stopped it after its idle period; shown
                          // while it stays stopped (service/lifetimes.h)
  Expired,                // DELETING: the reconciler deletes it at its expiresAt (volume kept)
  Restoring,              // STOPPED: a snapshot is being restored in place of its home volume;
                          // shown until the restore ends (it starts again if it was running)
  Restored,               // the restore ended (what is recorded; reads show the cluster's)

  // ERROR reasons the reconciler records (service/reconcile_errors.h). Unlike the others
  // they stick (reads show them) until the reconciler succeeds or the user asks for
  // something new.
  ReconcileFailed,        // the sandbox kept failing to converge; the message has the error
  SecretLost,             // the {name}-env Secret is gone; sandboxd never writes it back
};

// CamelCase, equal to the enumerator's name.
const char* toString(StatusReason reason);

}  // namespace sandboxd
