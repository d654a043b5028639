// Deriving a sandbox's phase, reason and message from observed Kubernetes objects.
// Pure functions: no I/O, no clock.
#pragma once

#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "sandboxd/model/reason.h"
#include "sandboxd/model/sandbox.h"

namespace sandboxd {

using json = nlohmann::json;

struct ObservedObjects {
  WorkloadKind kind = WorkloadKind::StatefulSet;
  std::optional<json> workload;  // the StatefulSet or Deployment
  std::vector<json> pods;        // the sandbox's pods (0 or 1 normally; more while rolling)
  std::optional<json> pvc;       // vn-homevn-agent-{name}-0 (StatefulSet only)
};

struct DerivedStatus {
  Phase phase = Phase::Terminated;
  StatusReason reason = StatusReason::WorkloadNotFound;  // one of Ready .. PodNotScheduled
  std::string message;
  int desiredReplicas = 0;
  int readyReplicas = 0;
};

// The rules are listed at the top of src/status/status_derivation.cc.
DerivedStatus deriveStatus(const ObservedObjects& observed);

// Convenience: DerivedStatus → ObservedStatus (with kind and existence).
ObservedStatus toObservedStatus(const DerivedStatus& derived, const ObservedObjects& observed);

}  // namespace sandboxd
