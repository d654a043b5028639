// Telling and forgetting the ERROR reasons the reconciler records (StatusReason::
// ReconcileFailed and SecretLost, model/reason.h). Unlike statuses derived from the cluster,
// these stick (reads show them) until the reconciler succeeds or the user asks for something
// new.
#pragma once

#include "sandboxd/model/reason.h"
#include "sandboxd/model/sandbox.h"

namespace sandboxd {

inline bool isReconcileError(const SandboxRecord& record) {
  return record.phase == Phase::Error &&
         (record.reason == toString(StatusReason::ReconcileFailed) ||
          record.reason == toString(StatusReason::SecretLost));
}

// Forgets a reconciler error (the next read records the live status again).
inline void clearReconcileError(SandboxRecord& record) {
  if (isReconcileError(record)) {
    record.phase = Phase::Starting;  // replaced by the live status at the next read
    record.reason.clear();
    record.message.clear();
  }
}

}  // namespace sandboxd
