// SandboxManager: registry + cluster, with ownership checks and per-sandbox serialization.
//
// Deletion keeps a tombstone row (desired = deleted) while the cluster objects go away. A
// sandbox deleted without purge keeps its home volume, so its name stays reserved for its
// owner: re-creating it re-attaches the volume, and nobody else can take the name (and with
// it the data). A purged sandbox's row is removed once nothing is left, freeing the name.
#include <algorithm>
#include <spdlog/spdlog.h>

#include <set>

#include "sandboxd/common/random_generator.h"
#include "sandboxd/config/quantity.h"
#include "sandboxd/service/restore_steps.h"
#include "sandboxd/service/snapshot_objects.h"
#include "sandboxd/model/naming.h"
#include "sandboxd/model/reason.h"
#include "sandboxd/service/deletion_rules.h"
#include "sandboxd/service/quotas.h"
#include "sandboxd/service/reconcile_errors.h"
#include "sandboxd/service/sandbox_manager.h"
#include "service/quota_admin.h"
#include "service/pending_restore.h"
#include "service/visible_record.h"
#include "service/sandbox_listing.h"
#include "sandboxd/validation/validation.h"
#include "service/home_volume.h"
#include "service/sandbox_lifetimes.h"
#include "service/sandbox_update.h"
#include "sandboxd/service/lifetimes.h"

namespace sandboxd {
namespace {

class SandboxManagerImpl : public SandboxManager {
 public:
  SandboxManagerImpl(RegistryPtr registry, KubernetesServicePtr kube, KubeClientPtr client,
                     const Config& config, TimeSourcePtr time, SandboxLocksPtr locks,
                     StatusRecorderPtr recorder, ActivityTrackerPtr activity)
      : registry_(std::move(registry)),
        kube_(std::move(kube)),
        client_(std::move(client)),
        config_(config),
        time_(std::move(time)),
        locks_(locks ? std::move(locks) : std::make_shared<SandboxLocks>()),
        recorder_(recorder ? std::move(recorder)
                           : std::make_shared<StatusRecorder>(registry_, locks_)),
        activity_(activity ? std::move(activity) : std::make_shared<ActivityTracker>(registry_)) {}

  // SandboxManager
  StatusOr<SandboxView> create(const Caller& caller, const CreateRequest& request) override {
    std::string user = caller.user;
    if (!request.user.empty() && request.user != caller.user) {
      if (!caller.admin) {
        return permissionDenied("only admins may create sandboxes for other users");
      }
      user = request.user;
    }
    RETURN_IF_ERROR(validateUserName(user));
    SandboxSpec spec;
    spec.name = request.name;
    spec.profile = request.profile.empty() ? config_.sandbox.defaultProfile : request.profile;
    ASSIGN_OR_RETURN(const SandboxConfig* settings, profileSettings(spec.profile));
    spec.nameSpace = config_.sandbox.nameSpace;
    spec.user = user;
    spec.image = request.image.empty() ? settings->image : request.image;
    spec.env = request.env;
    spec.secretEnv = request.secretEnv;
    spec.storage = request.storage.empty() ? settings->storage : request.storage;
    spec.publicPorts = request.publicPorts;
    std::sort(spec.publicPorts.begin(), spec.publicPorts.end());
    spec.publicPorts.erase(std::unique(spec.publicPorts.begin(), spec.publicPorts.end()),
                           spec.publicPorts.end());
    RETURN_IF_ERROR(validateSpec(spec, *settings));
    if (request.idleStopMinutes) {
      RETURN_IF_ERROR(validateIdleStopMinutes(*request.idleStopMinutes, *settings));
    }
    if (request.expiresAt) {
      RETURN_IF_ERROR(validateExpiresAt(*request.expiresAt, time_->systemTime()));
    }

    // The user's quota is checked and the row written under the user's lock (taken before the
    // sandbox's), so that concurrent creates of one user cannot pass a limit together.
    std::unique_lock<std::mutex> userLock(userLocks_.forName(user));
    std::lock_guard<std::mutex> lock(lockFor(spec.name));
    SystemTime now = time_->systemTime();
    SandboxRecord record;
    record.name = spec.name;
    record.user = user;
    record.nameSpace = spec.nameSpace;
    record.image = spec.image;
    record.env = spec.env;
    for (const auto& [key, value] : spec.secretEnv) {
      record.secretEnvKeys.push_back(key);
    }
    record.storage = spec.storage;
    record.publicPorts = spec.publicPorts;
    record.profile = spec.profile;
    if (request.idleStopMinutes) {
      record.idleStopMinutes = static_cast<uint16_t>(*request.idleStopMinutes);  // validated
    }
    record.expiresAt = request.expiresAt.value_or(SystemTime{});
    record.lastActivityAt = now;
    record.desired = DesiredState::Running;
    record.phase = Phase::Creating;
    record.reason = toString(StatusReason::Accepted);
    record.message = "creating the sandbox's Kubernetes objects";
    record.createdAt = now;
    record.updatedAt = now;

    auto existing = registry_->getSandbox(spec.name);
    if (existing.isOk()) {
      ASSIGN_OR_RETURN(bool reusable, reusableTombstone(*existing, user));
      if (!reusable) {
        return alreadyExists("sandbox name \"" + spec.name + "\" is already taken");
      }
    } else if (existing.status().kind() != ErrorKind::NotFound) {
      return existing.status();
    }
    if (existing.isOk()) {
      // A re-create over the caller's tombstone re-attaches the kept home volume, which
      // decides the size; another size asked is a 409 that changes nothing. (A new name has
      // no volume to read: a create stays free of reads.)
      ASSIGN_OR_RETURN(spec.storage,
                       fitKeptHomeVolume(*client_, spec.nameSpace, spec.name, request.storage,
                                         settings->storage));
      record.storage = spec.storage;
    }
    std::optional<ForkDetail> fork;
    int64_t forkOperation = 0;
    if (!request.fromSnapshot.empty()) {
      if (existing.isOk()) {
        return failedPrecondition("sandbox \"" + spec.name +
                                  "\" was deleted with its home volume kept; a fork needs a new "
                                  "volume: purge it first or choose another name");
      }
      ASSIGN_OR_RETURN(fork, forkSource(caller, request, spec));
      record.storage = spec.storage;
    }
    RETURN_IF_ERROR(withinQuota(user, spec.name, &spec.storage));
    std::optional<SandboxRecord> tombstone;
    if (existing.isOk()) {
      // Re-create over the owner's tombstone: the home volume is re-attached.
      tombstone = *existing;
      record.sandboxId = existing->sandboxId;
      record.createdAt = existing->createdAt;
      record.version = existing->version;
      ASSIGN_OR_RETURN(record.version, registry_->updateSandbox(record));
    } else if (existing.status().kind() == ErrorKind::NotFound) {
      record.sandboxId = random_.uuid();
      if (fork) {
        // The row and the operation saying what the volume is made from, in one commit: a
        // restart's repair makes the volume from the snapshot too (reconciler).
        OperationRecord op = operationOf(record, OperationKind::Create, caller);
        op.detail = encodeForkDetail(*fork);
        ASSIGN_OR_RETURN(forkOperation, registry_->insertSandboxWithOperation(record, op));
      } else {
        RETURN_IF_ERROR(registry_->insertSandbox(record));
      }
      record.version = 1;
    } else {
      return existing.status();
    }
    userLock.unlock();  // the row counts from now on
    spec.sandboxId = record.sandboxId;
    const int64_t operation =
        fork ? forkOperation : recordOperation(record, OperationKind::Create, caller);

    Status created = Status::ok();
    if (fork) {
      // The home volume from the snapshot first: the StatefulSet then adopts it by name.
      created = kube_->createHomeVolume(spec, fork->volumeSnapshot, {});
      if (created.kind() == ErrorKind::AlreadyExists) {
        created = failedPrecondition("a home volume claim " + names::pvc(spec.name) +
                                     " exists already; a fork needs a new one");
      }
      if (created.isOk()) {
        spdlog::info("sandbox {}: home volume made from snapshot {} of {}", spec.name,
                     fork->snapshot, request.fromSandbox);
      }
    }
    if (created.isOk()) {
      created = kube_->create(spec);
    }
    if (!created.isOk()) {
      finishOperation(operation, OperationState::Failed, created.message());
      return failCreate(std::move(record), tombstone, created);
    }
    finishOperation(operation, OperationState::Done);
    spdlog::info("sandbox {} created for user {}", spec.name, user);
    // Just made: the answer says so without reading the objects back (the watch cache has not
    // seen them yet, so a read would cost two API calls per create). The next read is live.
    SandboxView view;
    view.observed.exists = true;
    view.observed.phase = Phase::Creating;
    view.observed.reason = toString(StatusReason::Created);
    view.observed.message = "the sandbox's objects are created; waiting for its pod";
    view.observed.workload = WorkloadKind::StatefulSet;
    view.record = std::make_shared<const SandboxRecord>(std::move(record));
    finishView(view);
    return view;
  }

  StatusOr<std::vector<SandboxView>> list(const Caller& caller,
                                          const std::optional<std::string>& user) override {
    ASSIGN_OR_RETURN(std::optional<std::string> filter, listedUser(caller, user));
    ASSIGN_OR_RETURN(std::vector<SandboxRecordPtr> records, registry_->listSandboxes(filter));
    std::vector<SandboxView> out;
    const size_t all = records.size();
    out.reserve(all);
    appendViews(*kube_, config_.sandbox, std::move(records), std::nullopt, all, out);
    return out;
  }

  StatusOr<SandboxPage> listPage(const Caller& caller, const ListQuery& query) override {
    return listSandboxPage(*registry_, *kube_, config_.sandbox, caller, query);
  }

  StatusOr<SandboxView> get(const Caller& caller, const std::string& name) override {
    ASSIGN_OR_RETURN(SandboxRecord record, visibleRecord(caller, name));
    if (record.desired == DesiredState::Deleted) {
      std::lock_guard<std::mutex> lock(lockFor(name));
      ASSIGN_OR_RETURN(record, visibleRecord(caller, name));
      ASSIGN_OR_RETURN(bool gone, settleDeletion(record));
      if (gone) {
        return notFound("sandbox \"" + name + "\" not found");
      }
    }
    return viewWithLiveStatus(std::move(record));
  }

  StatusOr<SandboxView> peek(const Caller& caller, const std::string& name) override {
    ASSIGN_OR_RETURN(SandboxRecord record, visibleRecord(caller, name));
    if (record.desired == DesiredState::Deleted) {
      ASSIGN_OR_RETURN(bool gone, kube_->isGone(keyOf(record), record.purge));
      if (gone) {
        return notFound("sandbox \"" + name + "\" not found");
      }
    }
    return viewWithLiveStatus(std::move(record), Observed::Unrecorded);
  }

  StatusOr<SandboxView> stop(const Caller& caller, const std::string& name) override {
    return scale(caller, name, DesiredState::Stopped);
  }

  StatusOr<SandboxView> start(const Caller& caller, const std::string& name) override {
    return scale(caller, name, DesiredState::Running);
  }

  StatusOr<SandboxView> updateEnv(const Caller& caller, const std::string& name,
                                  const EnvChange& change) override {
    RETURN_IF_ERROR(validateEnvChange(change, config_.sandbox));
    std::lock_guard<std::mutex> lock(lockFor(name));
    ASSIGN_OR_RETURN(SandboxRecord record, visibleRecord(caller, name));
    RETURN_IF_ERROR(notBeingDeleted(record));
    // The resulting environment must still be within limits.
    EnvMap env = record.env;
    std::set<std::string> secretKeys(record.secretEnvKeys.begin(), record.secretEnvKeys.end());
    for (const auto& key : change.unset) {
      env.erase(key);
      secretKeys.erase(key);
    }
    for (const auto& [key, value] : change.set) {
      env[key] = value;
      secretKeys.erase(key);
    }
    for (const auto& [key, value] : change.setSecret) {
      env.erase(key);
      secretKeys.insert(key);
    }
    if (env.size() + secretKeys.size() > static_cast<size_t>(config_.sandbox.maxEnvVars)) {
      return invalidArgument("env: the sandbox would have " +
                             std::to_string(env.size() + secretKeys.size()) +
                             " variables; the limit is " +
                             std::to_string(config_.sandbox.maxEnvVars));
    }
    // Which keys the Secret holds (values are not needed): specFromRecord maps each to "".
    SandboxSpec identity = specFromRecord(record);
    const int64_t operation = recordOperation(record, OperationKind::UpdateEnv, caller);
    if (Status updated = kube_->updateEnv(identity, change); !updated.isOk()) {
      finishOperation(operation, OperationState::Failed, updated.message());
      return updated;
    }
    clearReconcileError(record);
    record.env = std::move(env);
    record.secretEnvKeys.assign(secretKeys.begin(), secretKeys.end());
    return storeResult(std::move(record), operation);
  }

  StatusOr<SandboxView> remove(const Caller& caller, const std::string& name,
                               bool purge) override {
    std::lock_guard<std::mutex> lock(lockFor(name));
    ASSIGN_OR_RETURN(SandboxRecord record, visibleRecord(caller, name));
    bool alreadyDeleting = record.desired == DesiredState::Deleted;
    int64_t operation = 0;
    if (!alreadyDeleting || (purge && !record.purge)) {
      clearReconcileError(record);
      record.desired = DesiredState::Deleted;
      record.purge = record.purge || purge;
      record.phase = Phase::Deleting;
      record.reason = toString(StatusReason::DeleteRequested);
      record.message = record.purge ? "deleting the sandbox and its home volume"
                                    : "deleting the sandbox; its home volume is kept";
      record.updatedAt = time_->systemTime();
      ASSIGN_OR_RETURN(auto written, registry_->updateSandboxWithOperation(
                                         record, operationOf(record, OperationKind::Delete,
                                                             caller)));
      record.version = written.version;
      operation = written.operation;
    }
    // Recorded above, so accepted: a failed cluster call is retried by the reconciler.
    Status removed = kube_->remove(keyOf(record), record.purge);
    if (!removed.isOk()) {
      spdlog::warn("sandbox {}: delete recorded, cluster call failed (the reconciler retries): {}",
                   name, removed.toString());
    } else {
      finishOperation(operation, OperationState::Done);
    }
    spdlog::info("sandbox {} delete requested (purge={})", name, record.purge);
    SandboxView view;
    auto gone = kube_->isGone(keyOf(record), record.purge);
    view.observed.phase = gone.isOk() && *gone ? Phase::Terminated : Phase::Deleting;
    view.observed.reason =
        toString(gone.isOk() && *gone ? StatusReason::Deleted : StatusReason::DeleteRequested);
    view.observed.message = record.message;
    view.observed.workload = record.workload;
    if (gone.isOk() && purgedRowMayGo(record, *gone, time_->systemTime())) {
      RETURN_IF_ERROR(ignoreNotFound(registry_->deleteSandbox(name)));
    }
    view.record = std::make_shared<const SandboxRecord>(std::move(record));
    finishView(view);
    return view;
  }

  StatusOr<SandboxView> update(const Caller& caller, const std::string& name,
                               const SandboxUpdate& change) override {
    if (change.empty()) {
      return invalidArgument("nothing to change: give storage, idleStopMinutes or expiresAt");
    }
    // A bigger volume counts against the owner's maxStorage: checked and written under the
    // owner's lock, taken before the sandbox's (as create does).
    std::unique_lock<std::mutex> userLock;
    if (change.storage) {
      ASSIGN_OR_RETURN(SandboxRecord owner, visibleRecord(caller, name));
      userLock = std::unique_lock<std::mutex>(userLocks_.forName(owner.user));
    }
    std::lock_guard<std::mutex> lock(lockFor(name));
    ASSIGN_OR_RETURN(SandboxRecord record, visibleRecord(caller, name));
    RETURN_IF_ERROR(notBeingDeleted(record));
    const SandboxConfig* settings = profileConfig(config_.sandbox, record.profile);
    ASSIGN_OR_RETURN(CheckedUpdate changes,
                     checkSandboxUpdate(record, change, settings ? *settings : config_.sandbox,
                                        time_->systemTime()));
    int64_t operation = 0;
    if (changes.grow) {
      RETURN_IF_ERROR(withinStorageQuota(record.user, name, *change.storage));
      operation = recordOperation(record, OperationKind::Resize, caller);
      Status grown = growHomeVolume(*client_, record.nameSpace, record.name, *change.storage);
      if (!grown.isOk()) {
        finishOperation(operation, OperationState::Failed, grown.message());
        return grown;
      }
    }
    if (userLock.owns_lock()) {
      userLock.unlock();
    }
    // Should the store fail, a grown claim keeps its size: a re-create reads it from the
    // claim (home_volume.h).
    return storeResult(std::move(changes.record), operation);
  }

  Status touch(const Caller& caller, const std::string& name) override {
    ASSIGN_OR_RETURN(SandboxRecord record, visibleRecord(caller, name));
    RETURN_IF_ERROR(notBeingDeleted(record));
    activity_->touch(record.name, record.sandboxId, time_->systemTime());
    return Status::ok();
  }

  StatusOr<LifetimeSweep> sweepLifetimes() override {
    return ::sandboxd::sweepLifetimes(
        LifetimeParts{*registry_, *kube_, *locks_, *time_, *activity_, config_.sandbox});
  }

  StatusOr<std::vector<OperationRecord>> operations(const Caller& caller,
                                                    const std::string& name) override {
    ASSIGN_OR_RETURN(SandboxRecord record, visibleRecord(caller, name));
    return registry_->listOperations(record.sandboxId, Registry::kOperationHistory);
  }

  StatusOr<QuotaView> quota(const Caller& caller, const std::string& user) override {
    return readQuota(*registry_, config_.quotas, caller, user);
  }
  StatusOr<QuotaView> setQuota(const Caller& caller, const UserQuota& quota) override {
    return writeQuota(*registry_, config_.quotas, caller, quota);
  }
  Status clearQuota(const Caller& caller, const std::string& user) override {
    return removeQuota(*registry_, caller, user);
  }

  Status ready() override {
    RETURN_IF_ERROR(registry_->ping().withContext("database"));
    return client_->ping().withContext("kubernetes");
  }

 private:
  std::mutex& lockFor(const std::string& name) {
    return locks_->forName(name);
  }

  // The operation record is written with the intent (one transaction, when the request changes
  // the intent: updateSandboxWithOperation) or right after it, and before any cluster call.
  // It is an account of requests, not the intent itself: when it is written alone and that
  // fails, the request still goes ahead (0 = not recorded).
  OperationRecord operationOf(const SandboxRecord& record, OperationKind kind,
                              const Caller& caller) const {
    OperationRecord op;
    op.sandbox = record.name;
    op.sandboxId = record.sandboxId;
    op.kind = kind;
    op.user = caller.user;
    op.requestedAt = time_->systemTime();
    return op;
  }

  int64_t recordOperation(const SandboxRecord& record, OperationKind kind, const Caller& caller) {
    auto id = registry_->addOperation(operationOf(record, kind, caller));
    if (!id.isOk()) {
      spdlog::warn("sandbox {}: could not record the {} operation: {}", record.name,
                   toString(kind), id.status().toString());
      return 0;
    }
    return *id;
  }

  void finishOperation(int64_t id, OperationState state, const std::string& error = "") {
    if (id == 0) {
      return;
    }
    // Off the request's path: stored a moment later, before anything reads operations
    // (Registry::finishOperationSoon).
    registry_->finishOperationSoon(id, state, error);
  }

  static Status ignoreNotFound(const Status& s) {
    return s.kind() == ErrorKind::NotFound ? Status::ok() : s;
  }

  SandboxKey keyOf(const SandboxRecord& record) const { return {record.nameSpace, record.name}; }

  // The caller's own record (any record for admins); others' are NotFound, never Forbidden.
  StatusOr<SandboxRecord> visibleRecord(const Caller& caller, const std::string& name) {
    return ::sandboxd::visibleRecord(*registry_, caller, name);
  }

  Status notBeingDeleted(const SandboxRecord& record) {
    if (record.desired == DesiredState::Deleted) {
      return failedPrecondition("sandbox \"" + record.name + "\" is being deleted");
    }
    return Status::ok();
  }

  // A fork's snapshot (CreateRequest::fromSnapshot), checked: the caller's own (an admin:
  // anyone's), ready, in the namespace the sandbox goes to. `spec.storage` becomes the
  // snapshot's size when none was asked and the default is smaller; a smaller size asked is
  // InvalidArgument. Reads the snapshot's row and its VolumeSnapshot; changes nothing.
  StatusOr<ForkDetail> forkSource(const Caller& caller, const CreateRequest& request,
                                  SandboxSpec& spec) {
    const std::string what =
        "snapshot \"" + request.fromSnapshot + "\" of sandbox \"" + request.fromSandbox + "\"";
    auto snapshot = registry_->getSnapshot(request.fromSnapshot);
    if (!snapshot.isOk()) {
      return snapshot.status().kind() == ErrorKind::NotFound ? notFound(what + " not found")
                                                             : snapshot.status();
    }
    if (snapshot->sandbox != request.fromSandbox ||
        (!caller.admin && snapshot->user != caller.user)) {
      return notFound(what + " not found");  // another user's is not theirs to name
    }
    if (snapshot->nameSpace != spec.nameSpace) {
      return failedPrecondition(what + " is in namespace " + snapshot->nameSpace +
                                "; a fork is made in " + spec.nameSpace);
    }
    auto object = client_->get(resources::volumeSnapshots(), snapshot->nameSpace,
                               snapshot->objectName);
    if (!object.isOk()) {
      return object.status().kind() == ErrorKind::NotFound
                 ? failedPrecondition(what + ": its VolumeSnapshot is gone")
                 : object.status();
    }
    const ObservedSnapshot observed = observeVolumeSnapshot(*object);
    if (observed.state != SnapshotState::Ready) {
      return failedPrecondition(what + " is " + toString(observed.state) +
                                "; only a ready snapshot can be forked");
    }
    auto need = parseStorageQuantity(observed.size);
    auto have = parseStorageQuantity(spec.storage);
    if (need.isOk() && have.isOk() && *have < *need) {
      if (!request.storage.empty()) {
        return invalidArgument("storage: " + what + " needs at least " + observed.size);
      }
      spec.storage = observed.size;
    }
    return ForkDetail{snapshot->id, snapshot->objectName};
  }

  // FailedPrecondition while a restore holds the sandbox stopped (restore_steps.h): a start
  // would let the StatefulSet make an empty claim where the restored one is to go.
  Status notBeingRestored(const SandboxRecord& record) {
    if (record.desired != DesiredState::Stopped) {
      return Status::ok();  // a restore holds it stopped until it ends
    }
    ASSIGN_OR_RETURN(std::optional<OperationRecord> restore,
                     pendingRestore(*registry_, record.sandboxId));
    if (restore) {
      return failedPrecondition("sandbox \"" + record.name +
                                "\" is being restored from a snapshot; it starts again by "
                                "itself if it was running");
    }
    return Status::ok();
  }

  // A create that failed half-way. KubernetesService rolled back what it made, but the rollback
  // can fail too; so unless the name is held by someone else's objects, the row stays as a
  // deletion until nothing is left (the reconciler finishes it): no object of ours is ever
  // left that the registry does not know. A re-create over the owner's tombstone becomes that
  // tombstone again, home volume kept.
  Status failCreate(SandboxRecord record, const std::optional<SandboxRecord>& tombstone,
                    const Status& error) {
    if (error.kind() == ErrorKind::AlreadyExists) {
      // Objects of that name belong to something else: never delete them.
      Status restored = tombstone ? registry_->updateSandbox(restoreTombstone(record, *tombstone))
                                        .status()
                                  : registry_->deleteSandbox(record.name);
      if (!restored.isOk()) {
        spdlog::error("sandbox {}: create failed and its registry row could not be restored: {}",
                      record.name, restored.toString());
      }
      return error;
    }
    record.desired = DesiredState::Deleted;
    record.purge = tombstone ? tombstone->purge : true;  // a new sandbox holds no data yet
    record.phase = Phase::Deleting;
    record.reason = toString(StatusReason::CreateFailed);
    record.message = "the create failed and is being undone: " + error.message();
    record.updatedAt = time_->systemTime();
    auto version = registry_->updateSandbox(record);
    if (!version.isOk()) {
      spdlog::error("sandbox {}: create failed and could not be recorded as a deletion: {}",
                    record.name, version.status().toString());
      return error;
    }
    record.version = *version;
    Status removed = kube_->remove(keyOf(record), record.purge);
    if (removed.isOk()) {
      (void)settleDeletion(record);  // a purged row goes now if nothing is left
    }
    return error;
  }

  static SandboxRecord restoreTombstone(const SandboxRecord& current,
                                        const SandboxRecord& tombstone) {
    SandboxRecord restored = tombstone;
    restored.version = current.version;
    return restored;
  }

  // A tombstone can be re-created by its owner once the old objects are gone.
  StatusOr<bool> reusableTombstone(const SandboxRecord& record, const std::string& user) {
    if (record.desired != DesiredState::Deleted || record.user != user) {
      return false;
    }
    ASSIGN_OR_RETURN(bool gone, kube_->isGone(keyOf(record), record.purge));
    if (!gone) {
      return failedPrecondition("sandbox \"" + record.name +
                                "\" is still being deleted; try again shortly");
    }
    return true;
  }

  // For a tombstone: true when nothing is left; a purged one's row is then removed, once the
  // deletion has settled (deletion_rules.h).
  StatusOr<bool> settleDeletion(const SandboxRecord& record) {
    ASSIGN_OR_RETURN(bool gone, kube_->isGone(keyOf(record), record.purge));
    if (purgedRowMayGo(record, gone, time_->systemTime())) {
      RETURN_IF_ERROR(ignoreNotFound(registry_->deleteSandbox(record.name)));
    }
    return gone;
  }

  StatusOr<SandboxView> scale(const Caller& caller, const std::string& name,
                              DesiredState desired) {
    // A start counts against the owner's maxRunning: checked and written under the owner's
    // lock, taken before the sandbox's (as create does).
    std::unique_lock<std::mutex> userLock;
    if (desired == DesiredState::Running) {
      ASSIGN_OR_RETURN(SandboxRecord owner, visibleRecord(caller, name));
      userLock = std::unique_lock<std::mutex>(userLocks_.forName(owner.user));
    }
    std::lock_guard<std::mutex> lock(lockFor(name));
    ASSIGN_OR_RETURN(SandboxRecord record, visibleRecord(caller, name));
    RETURN_IF_ERROR(notBeingDeleted(record));
    RETURN_IF_ERROR(notBeingRestored(record));
    if (desired == DesiredState::Running && record.desired != DesiredState::Running) {
      RETURN_IF_ERROR(withinQuota(record.user, name, nullptr));
    }
    // Intent first: once recorded, the request is accepted; if the cluster call below fails
    // (or the process dies before it), the reconciler carries it out.
    const OperationKind kind =
        desired == DesiredState::Stopped ? OperationKind::Stop : OperationKind::Start;
    int64_t operation = 0;
    if (record.desired != desired || isReconcileError(record)) {
      clearReconcileError(record);
      record.desired = desired;
      record.updatedAt = time_->systemTime();
      record.lastActivityAt = record.updatedAt;
      // The intent and its operation record in one commit.
      ASSIGN_OR_RETURN(auto written, registry_->updateSandboxWithOperation(
                                         record, operationOf(record, kind, caller)));
      record.version = written.version;
      operation = written.operation;
    } else {
      operation = recordOperation(record, kind, caller);
      activity_->touch(record.name, record.sandboxId, time_->systemTime());
    }
    if (userLock.owns_lock()) {
      userLock.unlock();
    }
    Status scaled = desired == DesiredState::Stopped ? kube_->stop(keyOf(record))
                                                     : kube_->start(keyOf(record));
    if (!scaled.isOk()) {
      spdlog::warn("sandbox {}: {} recorded, cluster call failed (the reconciler retries): {}",
                   name, toString(desired), scaled.toString());
    } else {
      finishOperation(operation, OperationState::Done);
    }
    return viewWithLiveStatus(std::move(record), Observed::JustWritten);
  }

  // Stores what a request changed after its cluster call succeeded (an env change, a PATCH),
  // as activity now, and finishes its operation (0: none) with the store's result.
  StatusOr<SandboxView> storeResult(SandboxRecord record, int64_t operation) {
    record.updatedAt = time_->systemTime();
    record.lastActivityAt = record.updatedAt;
    auto version = registry_->updateSandbox(record);
    if (!version.isOk()) {
      finishOperation(operation, OperationState::Failed, version.status().message());
      return version.status();
    }
    record.version = *version;
    finishOperation(operation, OperationState::Done);
    return viewWithLiveStatus(std::move(record), Observed::JustWritten);
  }

  // Whether the live status may be recorded as the last known one: not right after this
  // request changed the cluster, as the watch cache has not seen that change yet, so what it
  // shows is about to change (and recording it would cost the request another commit).
  // Unrecorded: a reader that must not write (peek).
  enum class Observed { Settled, JustWritten, Unrecorded };

  // Reads the live status and, when `when` is Settled, records it when it changed: queued for
  // the recorder, which stores it a moment later with others in one commit, so that a read
  // costs no commit (best effort: a concurrent writer wins, the next read records again). The
  // recorded status is what is shown when the cluster cannot be reached. The answer shows the
  // row as read.
  StatusOr<SandboxView> viewWithLiveStatus(SandboxRecord record,
                                           Observed when = Observed::Settled) {
    SandboxView view;
    auto observed = kube_->status(keyOf(record));
    if (observed.isOk() && isReconcileError(record)) {
      view.observed = *observed;  // not recorded: the reconciler's verdict stands (finishView)
    } else if (observed.isOk()) {
      view.observed = *observed;
      // An idle stop's reason stays while the sandbox stays stopped (finishView shows it).
      const bool keepReason = keepsStopReason(record);
      if (when == Observed::Settled &&
          (record.phase != observed->phase || record.workload != observed->workload ||
           (!keepReason && record.reason != observed->reason))) {
        SandboxRecord updated = record;
        updated.phase = observed->phase;
        if (!keepReason) {
          updated.reason = observed->reason;
          updated.message = observed->message;
        }
        updated.workload = observed->workload;
        recorder_->record(std::move(updated));
      }
    } else {
      view.observed = unknownStatus(record, observed.status());
    }
    view.record = std::make_shared<const SandboxRecord>(std::move(record));
    finishView(view);
    return view;
  }

  void finishView(SandboxView& view) const { sandboxd::finishView(view, config_.sandbox); }

  // Whether one more sandbox of `user` (a create of `*storage`) or one more running (a start,
  // storage null) stays within the user's quota; `name` itself is not counted. Reads nothing
  // when the user has no limits. The caller holds the user's lock until its write is stored.
  Status withinQuota(const std::string& user, const std::string& name,
                     const std::string* storage) {
    ASSIGN_OR_RETURN(auto adminOverride, registry_->getUserQuota(user));
    const QuotaConfig limits = effectiveQuota(config_.quotas, adminOverride);
    if (limits.maxSandboxes == 0 && limits.maxRunning == 0 && limits.maxStorage.empty()) {
      return Status::ok();
    }
    ASSIGN_OR_RETURN(auto records, registry_->listSandboxes(user));
    const QuotaUsage usage = quotaUsage(records, name);
    return storage != nullptr ? checkCreateQuota(limits, usage, *storage)
                              : checkStartQuota(limits, usage);
  }

  // Sandbox `name` of `user` grown to `storage`: within the user's maxStorage with `name`'s
  // current volume left out. The caller holds the user's lock until its write is stored.
  Status withinStorageQuota(const std::string& user, const std::string& name,
                            const std::string& storage) {
    ASSIGN_OR_RETURN(auto adminOverride, registry_->getUserQuota(user));
    const QuotaConfig limits = effectiveQuota(config_.quotas, adminOverride);
    if (limits.maxStorage.empty()) {
      return Status::ok();
    }
    ASSIGN_OR_RETURN(auto records, registry_->listSandboxes(user));
    return checkStorageQuota(limits, quotaUsage(records, name), storage);
  }

  // The settings of the profile a create names; an unknown name is a 422 that lists the
  // profiles there are.
  StatusOr<const SandboxConfig*> profileSettings(const std::string& profile) const {
    const SandboxConfig* settings = profileConfig(config_.sandbox, profile);
    if (settings == nullptr || (!config_.sandbox.profiles.empty() &&
                                config_.sandbox.profiles.count(profile) == 0)) {
      std::string names;
      for (const auto& name : profileNames(config_.sandbox)) {
        names += (names.empty() ? "" : ", ") + name;
      }
      return invalidArgument("profile: " + quoted(profile) + " is not a profile here; profiles: " +
                             names);
    }
    return settings;
  }

  RegistryPtr registry_;
  KubernetesServicePtr kube_;
  KubeClientPtr client_;
  Config config_;
  TimeSourcePtr time_;
  RandomGeneratorImpl random_;
  SandboxLocksPtr locks_;
  SandboxLocks userLocks_;  // per user (striped): quota checks with the write they allow
  StatusRecorderPtr recorder_;
  ActivityTrackerPtr activity_;
};

}  // namespace

SandboxManagerPtr makeSandboxManager(RegistryPtr registry, KubernetesServicePtr kube,
                                     KubeClientPtr client, const Config& config,
                                     TimeSourcePtr time, SandboxLocksPtr locks,
                                     StatusRecorderPtr recorder, ActivityTrackerPtr activity) {
  return std::make_shared<SandboxManagerImpl>(std::move(registry), std::move(kube),
                                              std::move(client), config, std::move(time),
                                              std::move(locks), std::move(recorder),
                                              std::move(activity));
}

}  // namespace sandboxd
