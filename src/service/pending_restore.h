// Whether a restore holds a sandbox (restore_steps.h): its pending restore operation, if any.
// The snapshot manager refuses a second restore or a snapshot meanwhile, the sandbox manager a
// start (the StatefulSet would make an empty claim where the restored one is to go).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sandboxd/registry/registry.h"

namespace sandboxd {

inline StatusOr<std::optional<OperationRecord>> pendingRestore(Registry& registry,
                                                               const std::string& sandboxId) {
  ASSIGN_OR_RETURN(std::vector<OperationRecord> pending,
                   registry.listOperations(sandboxId, Registry::kOperationHistory,
                                           /*pendingOnly=*/true));
  for (OperationRecord& op : pending) {
    if (op.kind == OperationKind::Restore) {
      return std::optional<OperationRecord>(std::move(op));
    }
  }
  return std::optional<OperationRecord>();
}

}  // namespace sandboxd
