// The sandbox domain model: what a user asks for (SandboxSpec), what the registry keeps
// (SandboxRecord), and what the cluster shows (ObservedStatus).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sandboxd/common/time_source.h"

namespace sandboxd {

// One status field, the lifecycle phase the API reports.
enum class Phase : uint8_t {
  Creating,
  Starting,
  Running,
  Stopping,
  Stopped,
  Updating,
  Deleting,
  Terminated,
  Error,
};
const char* toString(Phase phase);
std::optional<Phase> phaseFromString(const std::string& s);

// What the user wants the sandbox to be. The latest desired state wins.
enum class DesiredState : uint8_t { Running, Stopped, Deleted };
const char* toString(DesiredState state);
std::optional<DesiredState> desiredStateFromString(const std::string& s);

// The Kubernetes workload that runs the sandbox. Deployment = legacy, before migration.
enum class WorkloadKind : uint8_t { StatefulSet, Deployment };
const char* toString(WorkloadKind kind);
std::optional<WorkloadKind> workloadKindFromString(const std::string& s);

using EnvMap = std::map<std::string, std::string>;

// Input to rendering and creation: everything needed to build the manifests.
struct SandboxSpec {
  std::string name;       // DNS-1123 label, validated before it gets here
  std::string nameSpace;  // Kubernetes namespace
  std::string user;       // owner, a label-safe user name
  std::string sandboxId;  // stable id (uuid) for ownership labels
  std::string image;      // empty = configured default
  EnvMap env;             // plain values, rendered as env entries
  EnvMap secretEnv;       // values only ever go into the {name}-env Secret
  std::string storage;    // Kubernetes quantity, empty = configured default
  // Ports (names in sandbox.ports) whose Ingress anyone may reach; every other exposed port is
  // owner-only when forward auth is configured. Only ports the operator marks allowPublic.
  std::vector<std::string> publicPorts;
  // The profile (sandbox.profiles) whose settings shape the pod and volume; "" = "default".
  std::string profile;
};

// Changes to a sandbox's environment. Keys in `unset` are removed from both kinds.
struct EnvChange {
  EnvMap set;
  EnvMap setSecret;
  std::vector<std::string> unset;
  bool empty() const { return set.empty() && setSecret.empty() && unset.empty(); }
};

// What the cluster shows, derived by status derivation.
struct ObservedStatus {
  Phase phase = Phase::Terminated;
  std::string reason;   // machine-readable, CamelCase (e.g. ImagePullBackOff)
  std::string message;  // human text
  int desiredReplicas = 0;
  int readyReplicas = 0;
  WorkloadKind workload = WorkloadKind::StatefulSet;
  bool exists = false;  // a workload object exists
};

// A registry row. Every row is held in memory (one allocation each, with its shared_ptr's
// control block: at most 448 bytes, a jemalloc size class, so the fields are ordered to leave
// no padding and the small ones are small; tests/model/sandbox_record_test.cc checks the size).
struct SandboxRecord {
  std::string name;
  std::string user;
  std::string nameSpace;
  std::string sandboxId;
  std::string image;
  EnvMap env;                              // non-secret values
  std::vector<std::string> secretEnvKeys;  // names only; values live in the Secret
  std::string storage;
  std::vector<std::string> publicPorts;    // sorted, unique; see SandboxSpec::publicPorts
  std::string profile = "default";         // see SandboxSpec::profile; kept for re-renders
  std::string reason;
  std::string message;
  SystemTime createdAt{};
  SystemTime updatedAt{};
  // The last lifecycle request or reported activity. The registry only ever raises it: a
  // write with an older value keeps the stored one.
  SystemTime lastActivityAt{};
  // When the reconciler deletes it (volume kept); SystemTime{} (the epoch) = never.
  SystemTime expiresAt{};
  int64_t version = 0;  // bumped on every update, for compare-and-set
  // The sandbox's own idle period in minutes (0 = never); none: its profile's idleStopMinutes.
  std::optional<uint16_t> idleStopMinutes;
  DesiredState desired = DesiredState::Running;
  bool purge = false;  // delete requested with purge
  Phase phase = Phase::Creating;
  WorkloadKind workload = WorkloadKind::StatefulSet;
  bool expires() const { return expiresAt != SystemTime{}; }
};

// What a record renders from: its identity, image, env, storage and public ports; each of its
// secret env names maps to "" (the Secret's values are never read back). The manager, the
// reconciler's repair and migration all render a record through this.
SandboxSpec specFromRecord(const SandboxRecord& record);

// A registry row as the registry holds it: shared, never changed (a write makes a new one), so
// that a list of thousands hands out pointers rather than copies.
using SandboxRecordPtr = std::shared_ptr<const SandboxRecord>;

// Asks for `record`'s memory ahead of its use. A loop over thousands of shared records (each
// allocated on its own, so the hardware cannot guess the next) calls it a few records ahead
// rather than waiting on memory for each.
inline constexpr size_t kPrefetchAhead = 4;  // records ahead
inline void prefetchRecord(const SandboxRecord* record) {
  const char* bytes = reinterpret_cast<const char*>(record);
  for (size_t line = 0; line < sizeof(SandboxRecord); line += 64) {
    __builtin_prefetch(bytes + line);
  }
}

// The identity a request acts as.
struct Caller {
  std::string user;
  bool admin = false;
};

}  // namespace sandboxd
