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
#include "sandboxd/service/activity_tracker.h"
#include "sandboxd/service/kubernetes_service.h"
#include "sandboxd/service/sandbox_locks.h"
#include "sandboxd/service/status_recorder.h"

namespace sandboxd {

struct CreateRequest {
  std::string name;
  std::string image;     // empty = default
  EnvMap env;
  EnvMap secretEnv;
  std::string storage;   // empty = default
  std::vector<std::string> publicPorts;  // port names whose Ingress is public (allowPublic only)
  std::string user;      // admin only: create on behalf of this user; empty = caller
  std::string profile;   // a name in sandbox.profiles; empty = sandbox.defaultProfile
  std::optional<int> idleStopMinutes;   // none: the profile's (service/lifetimes.h)
  std::optional<SystemTime> expiresAt;  // none: never
  // A fork: the home volume is made from this snapshot (of sandbox `fromSandbox`, which the
  // caller owns, or any for an admin) before the StatefulSet. Empty: a new, empty volume.
  std::string fromSandbox;
  std::string fromSnapshot;
};

// PATCH /api/v1/sandboxes/{name}: each field set is changed, the rest kept. An inner nullopt
// clears the setting (idleStopMinutes back to the profile's; expiresAt to never).
struct SandboxUpdate {
  std::optional<std::string> storage;  // grows the home volume; never shrinks it
  std::optional<std::optional<int>> idleStopMinutes;
  std::optional<std::optional<SystemTime>> expiresAt;
  bool empty() const { return !storage && !idleStopMinutes && !expiresAt; }
};

// What one sweep of idle stop and expiry did (SandboxManager::sweepLifetimes).
struct LifetimeSweep {
  int idleStopped = 0;
  int expired = 0;
  int failed = 0;  // logged; the next sweep tries again
};

// A user's quota as it applies (config `quotas` with the admin's override over it) and what
// the user's sandboxes use of it (GET /api/v1/admin/quotas/{user}).
struct QuotaView {
  std::string user;
  QuotaConfig limits;                  // 0 / "" = unlimited
  std::optional<UserQuota> adminOverride;  // the admin's, when set
  int64_t sandboxes = 0;
  int64_t running = 0;
  int64_t storageBytes = 0;
};

// A sandbox as the API shows it: the registry record merged with the observed status.
struct SandboxView {
  SandboxRecordPtr record;  // never null
  ObservedStatus observed;
  std::map<std::string, std::string> urls;  // port name → URL
  int idleStopMinutes = 0;  // as it applies: the sandbox's own or its profile's (0 = never)
};

// One page of a sandbox list (GET /api/v1/sandboxes): in name order, the sandboxes after
// `after` that pass every filter set.
struct ListQuery {
  static constexpr size_t kDefaultLimit = 500;
  static constexpr size_t kMaxLimit = 5000;
  std::optional<std::string> user;  // admins: any user's; others: their own only
  std::optional<Phase> status;      // the status shown (SandboxView's observed phase)
  std::string namePrefix;           // empty = any name
  std::string after;                // empty = from the first name
  size_t limit = kDefaultLimit;     // 1 … kMaxLimit
};

struct SandboxPage {
  std::vector<SandboxView> items;
  // Set when more may remain: the next page is the same query with `after` = this. A page may
  // stop short of its limit (a filter that passes few sandboxes stops after a bounded scan).
  std::optional<std::string> next;
};

class SandboxManager {
 public:
  virtual ~SandboxManager() = default;
  // AlreadyExists if the name is held by anyone (message never says whose).
  virtual StatusOr<SandboxView> create(const Caller& caller, const CreateRequest& request) = 0;
  // `user` filter only for admins (PermissionDenied otherwise when it names someone else).
  virtual StatusOr<std::vector<SandboxView>> list(const Caller& caller,
                                                  const std::optional<std::string>& user) = 0;
  // A page of list's answer: a sandbox that exists throughout a walk (each page's `after` the
  // previous page's `next`) is in exactly one of its pages. PermissionDenied as list.
  virtual StatusOr<SandboxPage> listPage(const Caller& caller, const ListQuery& query) = 0;
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
  // Changes a sandbox's settings (SandboxUpdate): its idle period and expiry, and grows its
  // home volume within the profile's maxStorage and the owner's quota. Everything is checked
  // before anything changes: a shrink or a bad value is InvalidArgument (422), a volume that
  // cannot grow FailedPrecondition (409), and nothing is changed then.
  virtual StatusOr<SandboxView> update(const Caller& caller, const std::string& name,
                                       const SandboxUpdate& change) {
    return unavailable("sandbox settings cannot be changed here");
  }
  // Notes that the sandbox's user is working in it (idle auto-stop counts from the latest):
  // no cluster call and no commit of its own (ActivityTracker). FailedPrecondition while it
  // is being deleted.
  virtual Status touch(const Caller& caller, const std::string& name) {
    return unavailable("activity is not kept here");
  }
  // Stops every sandbox idle for its idle period and deletes (volume kept) every one past its
  // expiresAt, each with an operation record (idle_stop, expire) by user "sandboxd". The
  // reconciler runs it before each pass.
  virtual StatusOr<LifetimeSweep> sweepLifetimes() { return LifetimeSweep{}; }
  // The sandbox's operation record, newest first (the last Registry::kOperationHistory).
  virtual StatusOr<std::vector<OperationRecord>> operations(const Caller& caller,
                                                            const std::string& name) = 0;
  // Readiness of the dependencies: the registry and the cluster connection.
  virtual Status ready() = 0;

  // Per-user quotas (admins only; PermissionDenied otherwise): a user's quota as it applies
  // and what their sandboxes use of it; an admin's override set (replacing any) or cleared
  // (NotFound when there was none). Managers without quotas answer Unavailable.
  virtual StatusOr<QuotaView> quota(const Caller& caller, const std::string& user) {
    return unavailable("quotas are not kept here");
  }
  virtual StatusOr<QuotaView> setQuota(const Caller& caller, const UserQuota& quota) {
    return unavailable("quotas are not kept here");
  }
  virtual Status clearQuota(const Caller& caller, const std::string& user) {
    return unavailable("quotas are not kept here");
  }
};

using SandboxManagerPtr = std::shared_ptr<SandboxManager>;

// `locks` is shared with the reconciler (null: the manager's own). `recorder` stores the
// statuses reads observe (null: the manager's own, with its default interval; serve passes its
// own to stop it, storing what is queued, at shutdown).
// `activity` notes POST .../activity reports (null: the manager's own).
SandboxManagerPtr makeSandboxManager(RegistryPtr registry, KubernetesServicePtr kube,
                                     KubeClientPtr client, const Config& config,
                                     TimeSourcePtr time, SandboxLocksPtr locks = nullptr,
                                     StatusRecorderPtr recorder = nullptr,
                                     ActivityTrackerPtr activity = nullptr);

}  // namespace sandboxd
