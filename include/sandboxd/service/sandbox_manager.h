// SandboxManager: the application layer the HTTP API and CLI use. It checks who may do what,
// validates input, keeps the registry and the cluster in step, and serializes operations on
// one sandbox. Authorization rule: a user sees only their own sandboxes (others' are NotFound,
// so names don't leak); admins see all.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sandboxd/common/status.h"
#include "sandboxd/common/time_source.h"
#include "sandboxd/config/config.h"
#include "sandboxd/model/sandbox.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/kubernetes_service.h"
#include "sandboxd/service/sandbox_locks.h"

namespace sandboxd {

struct CreateRequest {
  std::string name;
  std::string image;     // empty = default
  EnvMap env;
  EnvMap secretEnv;
  std::string storage;   // empty = default
  std::string user;      // admin only: create on behalf of this user; empty = caller
};

// A sandbox as the API shows it: the registry record merged with the observed status.
struct SandboxView {
  SandboxRecordPtr record;  // never null
  ObservedStatus observed;
  std::map<std::string, std::string> urls;  // port name → URL
};

class SandboxManager {
 public:
  virtual ~SandboxManager() = default;
  // AlreadyExists if the name is held by anyone (message never says whose).
  virtual StatusOr<SandboxView> create(const Caller& caller, const CreateRequest& request) = 0;
  // `user` filter only for admins (PermissionDenied otherwise when it names someone else).
  virtual StatusOr<std::vector<SandboxView>> list(const Caller& caller,
                                                  const std::optional<std::string>& user) = 0;
  virtual StatusOr<SandboxView> get(const Caller& caller, const std::string& name) = 0;
  // What get answers, without writing anything: the observed status is not recorded in the
  // registry and a deleted sandbox's row is left to the reconciler. For observers that read
  // on every change (the live event feed), which must not race requests' writes.
  virtual StatusOr<SandboxView> peek(const Caller& caller, const std::string& name) {
    return get(caller, name);
  }
  // Idempotent. FailedPrecondition while the sandbox is being deleted.
  virtual StatusOr<SandboxView> stop(const Caller& caller, const std::string& name) = 0;
  virtual StatusOr<SandboxView> start(const Caller& caller, const std::string& name) = 0;
  virtual StatusOr<SandboxView> updateEnv(const Caller& caller, const std::string& name,
                                          const EnvChange& change) = 0;
  // Accepted at any time; repeating it answers the same (DELETING/TERMINATED) view.
  virtual StatusOr<SandboxView> remove(const Caller& caller, const std::string& name,
                                       bool purge) = 0;
  // The sandbox's operation record, newest first (the last Registry::kOperationHistory).
  virtual StatusOr<std::vector<OperationRecord>> operations(const Caller& caller,
                                                            const std::string& name) = 0;
  // Readiness of the dependencies: the registry and the cluster connection.
  virtual Status ready() = 0;
};

using SandboxManagerPtr = std::shared_ptr<SandboxManager>;

// `locks` is shared with the reconciler (null: the manager's own).
SandboxManagerPtr makeSandboxManager(RegistryPtr registry, KubernetesServicePtr kube,
                                     KubeClientPtr client, const Config& config,
                                     TimeSourcePtr time, SandboxLocksPtr locks = nullptr);

}  // namespace sandboxd
