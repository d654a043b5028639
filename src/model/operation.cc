#include "sandboxd/model/operation.h"

namespace sandboxd {

const char* toString(OperationKind kind) {
  switch (kind) {
    case OperationKind::Create: return "create";
    case OperationKind::Stop: return "stop";
    case OperationKind::Start: return "start";
    case OperationKind::UpdateEnv: return "update_env";
    case OperationKind::Delete: return "delete";
    case OperationKind::Snapshot: return "snapshot";
    case OperationKind::IdleStop: return "idle_stop";
    case OperationKind::Expire: return "expire";
    case OperationKind::Resize: return "resize";
    case OperationKind::Restore: return "restore";
  }
  return "create";
}

bool isLifecycle(OperationKind kind) {
  return kind != OperationKind::UpdateEnv && kind != OperationKind::Snapshot &&
         kind != OperationKind::Resize;
}

std::optional<OperationKind> operationKindFromString(const std::string& s) {
  for (OperationKind k : {OperationKind::Create, OperationKind::Stop, OperationKind::Start,
                          OperationKind::UpdateEnv, OperationKind::Delete,
                          OperationKind::Snapshot, OperationKind::IdleStop,
                          OperationKind::Expire, OperationKind::Resize,
                          OperationKind::Restore}) {
    if (s == toString(k)) {
      return k;
    }
  }
  return std::nullopt;
}

const char* toString(OperationState state) {
  switch (state) {
    case OperationState::Pending: return "pending";
    case OperationState::Done: return "done";
    case OperationState::Failed: return "failed";
    case OperationState::Superseded: return "superseded";
  }
  return "pending";
}

std::optional<OperationState> operationStateFromString(const std::string& s) {
  for (OperationState st : {OperationState::Pending, OperationState::Done,
                            OperationState::Failed, OperationState::Superseded}) {
    if (s == toString(st)) {
      return st;
    }
  }
  return std::nullopt;
}

}  // namespace sandboxd
