// SnapshotManager (sandboxd/service/snapshot_manager.h).
#include <algorithm>
#include <condition_variable>
#include <atomic>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "sandboxd/config/quantity.h"
#include "sandboxd/model/naming.h"
#include "sandboxd/model/reason.h"
#include "sandboxd/service/reconcile_errors.h"
#include "sandboxd/service/restore_steps.h"
#include "sandboxd/service/snapshot_manager.h"
#include "sandboxd/service/snapshot_objects.h"
#include "service/sandbox_lifetimes.h"
#include "service/pending_restore.h"
#include "service/visible_record.h"

namespace sandboxd {
namespace {

constexpr size_t kSnapshotIdBytes = 6;  // 12 hex characters
// How often the restore thread looks while restores are in progress, and otherwise.
constexpr std::chrono::milliseconds kRestoreRound{300};
constexpr std::chrono::milliseconds kIdleRound{10000};

class SnapshotManagerImpl : public SnapshotManager {
 public:
  SnapshotManagerImpl(RegistryPtr registry, KubeClientPtr client, KubernetesServicePtr kube,
                      const Config& config, TimeSourcePtr time, RandomGeneratorPtr random,
                      SandboxLocksPtr locks)
      : registry_(std::move(registry)),
        client_(std::move(client)),
        kube_(std::move(kube)),
        config_(config.snapshots),
        time_(std::move(time)),
        random_(std::move(random)),
        locks_(locks ? std::move(locks) : std::make_shared<SandboxLocks>()) {}

  ~SnapshotManagerImpl() override { stop(); }

  StatusOr<SnapshotRecord> create(const Caller& caller, const std::string& name,
                                  const std::string& label) override {
    return take(caller, name, label, SnapshotTrigger::User);
  }

  StatusOr<SnapshotRecord> createScheduled(const std::string& name) override {
    return take(Caller{kSweepUser, true}, name, "", SnapshotTrigger::Schedule);
  }

  SnapshotStats stats() const override {
    SnapshotStats out;
    out.createdByUser = createdByUser_.load();
    out.createdBySchedule = createdBySchedule_.load();
    out.createdByRestore = createdByRestore_.load();
    out.failedByUser = failedByUser_.load();
    out.failedBySchedule = failedBySchedule_.load();
    out.deletedByUser = deletedByUser_.load();
    out.deletedByRetention = deletedByRetention_.load();
    out.deletedByPurge = deletedByPurge_.load();
    out.restoresDone = restoresDone_.load();
    out.restoresFailed = restoresFailed_.load();
    return out;
  }

 private:
  // create, counted by trigger: created, or failed once the sandbox was found (an unknown
  // sandbox or a bad label is the caller's error, not a failed snapshot).
  StatusOr<SnapshotRecord> take(const Caller& caller, const std::string& name,
                                const std::string& label, SnapshotTrigger trigger) {
    bool found = false;
    auto result = takeFound(caller, name, label, &found);
    const bool user = trigger == SnapshotTrigger::User;
    if (result.isOk()) {
      ++(user ? createdByUser_ : createdBySchedule_);
    } else if (found) {
      ++(user ? failedByUser_ : failedBySchedule_);
    }
    return result;
  }

  StatusOr<SnapshotRecord> takeFound(const Caller& caller, const std::string& name,
                                     const std::string& label, bool* found) {
    RETURN_IF_ERROR(validateSnapshotLabel(label));
    std::lock_guard<std::mutex> lock(locks_->forName(name));
    ASSIGN_OR_RETURN(SandboxRecord sandbox, visibleRecord(*registry_, caller, name));
    *found = true;
    if (sandbox.desired == DesiredState::Deleted && sandbox.purge) {
      return failedPrecondition("sandbox \"" + name + "\" was purged: its home volume is gone");
    }
    RETURN_IF_ERROR(noRestoreOf(sandbox.sandboxId, name));
    ASSIGN_OR_RETURN(const std::string className, snapshotClass());
    auto claim = client_->get(resources::persistentVolumeClaims(), sandbox.nameSpace,
                              names::pvc(name));
    if (!claim.isOk()) {
      if (claim.status().kind() == ErrorKind::NotFound) {
        return failedPrecondition("sandbox \"" + name + "\" has no home volume to snapshot");
      }
      return claim.status();
    }

    SnapshotRecord snapshot;
    snapshot.id = random_->secureHex(kSnapshotIdBytes);
    snapshot.sandbox = name;
    snapshot.sandboxId = sandbox.sandboxId;
    snapshot.user = sandbox.user;
    snapshot.nameSpace = sandbox.nameSpace;
    snapshot.objectName = snapshotObjectName(name, snapshot.id);
    snapshot.label = label;
    snapshot.createdAt = time_->systemTime();
    OperationRecord op;
    op.sandbox = name;
    op.sandboxId = sandbox.sandboxId;
    op.kind = OperationKind::Snapshot;
    op.user = caller.user;
    op.requestedAt = snapshot.createdAt;
    ASSIGN_OR_RETURN(const int64_t operation, registry_->insertSnapshot(snapshot, &op));

    auto created = client_->create(resources::volumeSnapshots(), snapshot.nameSpace,
                                   renderVolumeSnapshot(snapshot, names::pvc(name), className));
    if (!created.isOk() && created.status().kind() != ErrorKind::AlreadyExists) {
      // Nothing was made: the row goes, the operation failed.
      (void)registry_->finishOperation(operation, OperationState::Failed,
                                       created.status().message());
      (void)registry_->deleteSnapshot(snapshot.id);
      return created.status();
    }
    (void)registry_->finishOperation(operation, OperationState::Done);
    spdlog::info("sandbox {}: snapshot {} requested ({})", name, snapshot.id,
                 snapshot.objectName);
    if (created.isOk()) {
      observe(snapshot, *created);
    }
    prune(name, sandbox.sandboxId);
    return snapshot;
  }

 public:
  StatusOr<std::vector<SnapshotRecord>> list(const Caller& caller,
                                             const std::string& name) override {
    ASSIGN_OR_RETURN(std::vector<SnapshotRecord> snapshots, visibleSnapshots(caller, name));
    for (SnapshotRecord& snapshot : snapshots) {
      refresh(snapshot);
    }
    return snapshots;
  }

  StatusOr<SnapshotRecord> remove(const Caller& caller, const std::string& name,
                                  const std::string& id) override {
    std::lock_guard<std::mutex> lock(locks_->forName(name));
    ASSIGN_OR_RETURN(std::vector<SnapshotRecord> snapshots, visibleSnapshots(caller, name));
    const auto it = std::find_if(snapshots.begin(), snapshots.end(),
                                 [&](const SnapshotRecord& s) { return s.id == id; });
    if (it == snapshots.end()) {
      return notFound("snapshot \"" + id + "\" of sandbox \"" + name + "\" not found");
    }
    ASSIGN_OR_RETURN(std::vector<OperationRecord> restores,
                     registry_->pendingOperations(OperationKind::Restore));
    for (const OperationRecord& op : restores) {
      auto detail = decodeRestoreDetail(op.detail);
      if (detail.isOk() && (detail->snapshot == id || detail->preRestore == id)) {
        return failedPrecondition("snapshot \"" + id + "\" is used by the restore of sandbox \"" +
                                  op.sandbox + "\" in progress; delete it once that is done");
      }
    }
    RETURN_IF_ERROR(deleteSnapshot(*it));
    ++deletedByUser_;
    spdlog::info("sandbox {}: snapshot {} deleted", name, id);
    return *it;
  }

  StatusOr<RestoreAccepted> restore(const Caller& caller, const std::string& name,
                                    const std::string& id) override {
    std::unique_lock<std::mutex> lock(locks_->forName(name));
    ASSIGN_OR_RETURN(SandboxRecord sandbox, visibleRecord(*registry_, caller, name));
    if (sandbox.desired == DesiredState::Deleted) {
      return failedPrecondition("sandbox \"" + name +
                                "\" is deleted; create it again (a kept volume is re-attached), "
                                "then restore");
    }
    if (sandbox.workload == WorkloadKind::Deployment) {
      return failedPrecondition("sandbox \"" + name +
                                "\" is a legacy Deployment; migrate it to a StatefulSet first");
    }
    ASSIGN_OR_RETURN(std::vector<SnapshotRecord> snapshots, visibleSnapshots(caller, name));
    const auto it = std::find_if(snapshots.begin(), snapshots.end(),
                                 [&](const SnapshotRecord& s) { return s.id == id; });
    if (it == snapshots.end()) {
      return notFound("snapshot \"" + id + "\" of sandbox \"" + name + "\" not found");
    }
    SnapshotRecord target = *it;
    refresh(target);
    if (target.state != SnapshotState::Ready) {
      return failedPrecondition("snapshot \"" + id + "\" is " + toString(target.state) +
                                (target.error.empty() ? "" : " (" + target.error + ")") +
                                "; only a ready snapshot can be restored");
    }
    if (target.nameSpace != sandbox.nameSpace) {
      return failedPrecondition("snapshot \"" + id + "\" is in namespace " + target.nameSpace +
                                ", the sandbox in " + sandbox.nameSpace);
    }
    RETURN_IF_ERROR(noRestoreOf(sandbox.sandboxId, name));
    RETURN_IF_ERROR(snapshotClass().status());  // the volume's own snapshot is taken first

    RestoreDetail detail;
    detail.snapshot = id;
    detail.preRestore = random_->secureHex(kSnapshotIdBytes);
    detail.resume = sandbox.desired == DesiredState::Running;
    const SystemTime now = time_->systemTime();
    clearReconcileError(sandbox);
    sandbox.desired = DesiredState::Stopped;
    sandbox.reason = toString(StatusReason::Restoring);
    sandbox.message = "restoring snapshot " + id + (target.label.empty() ? "" : " (" + target.label + ")") +
                      "; the current volume is kept as snapshot " + detail.preRestore +
                      (detail.resume ? "; the sandbox starts again when done" : "");
    sandbox.updatedAt = now;
    sandbox.lastActivityAt = now;
    OperationRecord op;
    op.sandbox = name;
    op.sandboxId = sandbox.sandboxId;
    op.kind = OperationKind::Restore;
    op.user = caller.user;
    op.requestedAt = now;
    op.detail = encodeRestoreDetail(detail);
    // The intent: the stop, the restore and what it needs, in one commit.
    ASSIGN_OR_RETURN(auto written, registry_->updateSandboxWithOperation(sandbox, op));
    Status stopped = kube_->stop({sandbox.nameSpace, name});
    if (!stopped.isOk() && stopped.kind() != ErrorKind::NotFound) {
      spdlog::warn("sandbox {}: restore recorded, stop failed (retried): {}", name,
                   stopped.toString());
    }
    spdlog::info("sandbox {}: restore of snapshot {} requested (operation {})", name, id,
                 written.operation);
    lock.unlock();
    poke();
    return RestoreAccepted{name, id, detail.preRestore, written.operation, detail.resume};
  }

  int stepRestores() override {
    auto pending = registry_->pendingOperations(OperationKind::Restore);
    if (!pending.isOk()) {
      spdlog::warn("restores: could not list them: {}", pending.status().toString());
      return 1;  // look again soon
    }
    int inProgress = 0;
    for (const OperationRecord& op : *pending) {
      inProgress += stepRestore(op) ? 0 : 1;
    }
    return inProgress;
  }

  void start() override {
    std::lock_guard<std::mutex> lock(threadMu_);
    if (thread_.joinable()) {
      return;
    }
    {
      std::lock_guard<std::mutex> wake(wakeMu_);
      stopping_ = false;
    }
    thread_ = std::thread([this] { loop(); });
  }

  void stop() override {
    std::lock_guard<std::mutex> lock(threadMu_);
    {
      std::lock_guard<std::mutex> wake(wakeMu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  StatusOr<int> removeAll(const Caller& caller, const std::string& name) override {
    std::lock_guard<std::mutex> lock(locks_->forName(name));
    ASSIGN_OR_RETURN(std::vector<SnapshotRecord> snapshots, visibleSnapshots(caller, name));
    int deleted = 0;
    Status first = Status::ok();
    for (const SnapshotRecord& s : snapshots) {
      Status removed = deleteSnapshot(s);
      if (removed.isOk()) {
        ++deleted;
        ++deletedByPurge_;
        spdlog::info("sandbox {}: snapshot {} deleted (purge)", name, s.id);
      } else {
        spdlog::warn("sandbox {}: purge could not delete snapshot {}: {}", name, s.id,
                     removed.toString());
        if (first.isOk()) {
          first = removed;
        }
      }
    }
    if (!first.isOk()) {
      return first.withContext(std::to_string(deleted) + " of " +
                               std::to_string(snapshots.size()) + " snapshots deleted");
    }
    return deleted;
  }

 private:
  void poke() {
    {
      std::lock_guard<std::mutex> wake(wakeMu_);
      poked_ = true;
    }
    wake_.notify_all();
  }

  void loop() {
    for (;;) {
      const int inProgress = stepRestores();
      std::unique_lock<std::mutex> lock(wakeMu_);
      wake_.wait_for(lock, inProgress > 0 ? kRestoreRound : kIdleRound,
                     [this] { return stopping_ || poked_; });
      if (stopping_) {
        return;
      }
      poked_ = false;
    }
  }

  // FailedPrecondition while a restore of the sandbox is in progress.
  Status noRestoreOf(const std::string& sandboxId, const std::string& name) {
    ASSIGN_OR_RETURN(std::optional<OperationRecord> restore, pendingRestore(*registry_, sandboxId));
    if (restore) {
      return failedPrecondition("a restore of sandbox \"" + name + "\" is in progress (operation " +
                                std::to_string(restore->id) + ")");
    }
    return Status::ok();
  }

  // One step of restore `op` (restore_steps.h), under the sandbox's lock. True when it ended.
  bool stepRestore(const OperationRecord& op) {
    auto detail = decodeRestoreDetail(op.detail);
    if (!detail.isOk()) {
      (void)registry_->finishOperation(op.id, OperationState::Failed, detail.status().message());
      return true;
    }
    std::lock_guard<std::mutex> lock(locks_->forName(op.sandbox));
    RestoreObservation seen;
    auto row = registry_->getSandbox(op.sandbox);
    if (!row.isOk() && row.status().kind() != ErrorKind::NotFound) {
      return false;  // the registry could not be read: next round
    }
    seen.sandboxLive = row.isOk() && row->sandboxId == op.sandboxId &&
                       row->desired != DesiredState::Deleted;
    std::optional<SnapshotRecord> target;
    std::optional<SnapshotRecord> pre;
    json claim;
    bool observedStopping = false;
    if (seen.sandboxLive) {
      const SandboxKey key{row->nameSpace, row->name};
      auto observed = kube_->status(key);
      if (!observed.isOk()) {
        return false;
      }
      seen.workloadStopped =
          observed->phase == Phase::Stopped || observed->phase == Phase::Terminated;
      observedStopping = observed->phase == Phase::Stopping;
      auto found = registry_->getSnapshot(detail->snapshot);
      if (found.isOk()) {
        target = *found;
      } else if (found.status().kind() != ErrorKind::NotFound) {
        return false;
      }
      seen.snapshotKnown = target.has_value();
      auto current = client_->get(resources::persistentVolumeClaims(), row->nameSpace,
                                  names::pvc(row->name));
      if (current.isOk()) {
        claim = std::move(*current);
        const json& meta = claim["metadata"];
        seen.claim = meta.contains("deletionTimestamp") ? RestoreObservation::Claim::Deleting
                                                        : RestoreObservation::Claim::Present;
        const json annotations = meta.value("annotations", json::object());
        seen.claimRestored =
            annotations.value(kRestoreOperationAnnotation, "") == std::to_string(op.id);
      } else if (current.status().kind() != ErrorKind::NotFound) {
        return false;
      }
      auto preFound = registry_->getSnapshot(detail->preRestore);
      if (preFound.isOk()) {
        pre = *preFound;
        refresh(*pre);
        seen.preRestore = pre->state;
      } else if (preFound.status().kind() != ErrorKind::NotFound) {
        return false;
      }
    }

    const RestoreStep step = nextRestoreStep(seen);
    spdlog::debug("sandbox {}: restore {}: {}", op.sandbox, op.id, toString(step));
    switch (step) {
      case RestoreStep::Abandon:
        (void)registry_->finishOperation(op.id, OperationState::Failed,
                                         "the sandbox was deleted before the restore ended");
        countRestore(false);
        return true;
      case RestoreStep::Fail:
        return finishRestore(op, *row, *detail, false,
                             !seen.snapshotKnown
                                 ? "snapshot " + detail->snapshot +
                                       " is gone; the home volume was left as it was"
                                 : "the snapshot of the current volume failed (" +
                                       (pre ? pre->error : std::string()) +
                                       "); the home volume was left as it was");
      case RestoreStep::RollBack: {
        Status made = createClaim(*row, *pre, op.id);
        if (!made.isOk() && made.kind() != ErrorKind::AlreadyExists) {
          return false;
        }
        return finishRestore(op, *row, *detail, false,
                             "snapshot " + detail->snapshot +
                                 " went during the restore; the home volume was made again "
                                 "from the pre-restore snapshot " + detail->preRestore);
      }
      case RestoreStep::WaitStopped: {
        if (row->desired == DesiredState::Stopped && observedStopping) {
          return false;  // asked already; the pod is on its way out
        }
        Status stopped = kube_->stop({row->nameSpace, row->name});
        if (!stopped.isOk() && stopped.kind() != ErrorKind::NotFound) {
          spdlog::warn("sandbox {}: restore: stop failed: {}", op.sandbox, stopped.toString());
        }
        return false;
      }
      case RestoreStep::TakePreRestore:
        takePreRestore(*row, detail->preRestore);
        return false;
      case RestoreStep::WaitPreRestore:
      case RestoreStep::WaitClaimGone:
        return false;
      case RestoreStep::DeleteClaim: {
        auto removed = client_->remove(resources::persistentVolumeClaims(), row->nameSpace,
                                       names::pvc(row->name));
        if (!removed.isOk() && removed.status().kind() != ErrorKind::NotFound) {
          spdlog::warn("sandbox {}: restore: could not delete the claim: {}", op.sandbox,
                       removed.status().toString());
        } else {
          spdlog::info("sandbox {}: restore: the claim is deleted (its copy is snapshot {})",
                       op.sandbox, detail->preRestore);
        }
        return false;
      }
      case RestoreStep::CreateClaim: {
        Status made = createClaim(*row, *target, op.id);
        if (!made.isOk() && made.kind() != ErrorKind::AlreadyExists) {
          spdlog::warn("sandbox {}: restore: could not create the claim: {}", op.sandbox,
                       made.toString());
        } else {
          spdlog::info("sandbox {}: restore: the claim is made from snapshot {}", op.sandbox,
                       detail->snapshot);
        }
        return false;
      }
      case RestoreStep::Finish:
        return finishRestore(op, *row, *detail, true, "");
    }
    return false;
  }

  // The pre-restore snapshot of the current volume, with the id the intent chose: its row
  // first, then the VolumeSnapshot (both may exist already: a round cut short).
  void takePreRestore(const SandboxRecord& sandbox, const std::string& id) {
    auto className = snapshotClass();
    if (!className.isOk()) {
      spdlog::warn("sandbox {}: restore: {}", sandbox.name, className.status().toString());
      return;
    }
    SnapshotRecord snapshot;
    snapshot.id = id;
    snapshot.sandbox = sandbox.name;
    snapshot.sandboxId = sandbox.sandboxId;
    snapshot.user = sandbox.user;
    snapshot.nameSpace = sandbox.nameSpace;
    snapshot.objectName = snapshotObjectName(sandbox.name, id);
    snapshot.label = kPreRestoreLabel;
    snapshot.createdAt = time_->systemTime();
    auto inserted = registry_->insertSnapshot(snapshot, nullptr);
    if (!inserted.isOk() && inserted.status().kind() != ErrorKind::AlreadyExists) {
      spdlog::warn("sandbox {}: restore: {}", sandbox.name, inserted.status().toString());
      return;
    }
    auto created = client_->create(resources::volumeSnapshots(), snapshot.nameSpace,
                                   renderVolumeSnapshot(snapshot, names::pvc(sandbox.name),
                                                        *className));
    if (!created.isOk() && created.status().kind() != ErrorKind::AlreadyExists) {
      spdlog::warn("sandbox {}: restore: the snapshot of the current volume: {}", sandbox.name,
                   created.status().toString());
      return;
    }
    if (created.isOk()) {
      ++createdByRestore_;
    }
    spdlog::info("sandbox {}: restore: snapshot {} of the current volume requested", sandbox.name,
                 id);
  }

  // The home volume claim, made from `snapshot` and marked as restore `operation`'s; the size
  // is the sandbox's, or the snapshot's if that is larger.
  Status createClaim(const SandboxRecord& sandbox, const SnapshotRecord& snapshot,
                     int64_t operation) {
    SandboxSpec spec = specFromRecord(sandbox);
    auto want = parseStorageQuantity(spec.storage);
    auto size = parseStorageQuantity(snapshot.size);
    if (want.isOk() && size.isOk() && *size > *want) {
      spec.storage = snapshot.size;
    }
    return kube_->createHomeVolume(spec, snapshot.objectName,
                                   {{kRestoreOperationAnnotation, std::to_string(operation)}});
  }

  // Ends restore `op`: the sandbox runs again if it ran (a start the reconciler finishes
  // should the call fail), and its reason says how the restore ended.
  bool finishRestore(const OperationRecord& op, SandboxRecord sandbox, const RestoreDetail& detail,
                     bool restored, const std::string& error) {
    sandbox.reason = toString(StatusReason::Restored);
    sandbox.message = restored ? "snapshot " + detail.snapshot + " was restored"
                               : "the restore of snapshot " + detail.snapshot + " failed: " + error;
    if (detail.resume) {
      sandbox.desired = DesiredState::Running;
    }
    sandbox.updatedAt = time_->systemTime();
    auto stored = registry_->updateSandbox(sandbox);
    if (!stored.isOk()) {
      spdlog::warn("sandbox {}: restore: could not record its end: {}", sandbox.name,
                   stored.status().toString());
      return false;  // next round
    }
    if (detail.resume) {
      Status started = kube_->start({sandbox.nameSpace, sandbox.name});
      if (!started.isOk()) {
        spdlog::warn("sandbox {}: restore: start failed (the reconciler retries): {}",
                     sandbox.name, started.toString());
      }
    }
    Status finished = registry_->finishOperation(
        op.id, restored ? OperationState::Done : OperationState::Failed, error);
    if (!finished.isOk()) {
      spdlog::warn("sandbox {}: restore: could not finish operation {}: {}", sandbox.name, op.id,
                   finished.toString());
      return false;
    }
    countRestore(restored);
    if (restored) {
      spdlog::info("sandbox {}: snapshot {} restored{}", sandbox.name, detail.snapshot,
                   detail.resume ? "; starting again" : "");
    } else {
      spdlog::warn("sandbox {}: restore of snapshot {} failed: {}", sandbox.name,
                   detail.snapshot, error);
    }
    return true;
  }

  void countRestore(bool restored) { ++(restored ? restoresDone_ : restoresFailed_); }

  // The snapshots listed under `name`: those of its current owner while the sandbox exists;
  // once its row is gone (purged), the caller's own (an admin's: all). NotFound when the
  // sandbox is unknown to the caller and they have no snapshots under the name.
  StatusOr<std::vector<SnapshotRecord>> visibleSnapshots(const Caller& caller,
                                                         const std::string& name) {
    auto row = registry_->getSandbox(name);
    const bool rowExists = row.isOk();
    if (!rowExists && row.status().kind() != ErrorKind::NotFound) {
      return row.status();
    }
    if (rowExists && !caller.admin && row->user != caller.user) {
      return notFound("sandbox \"" + name + "\" not found");  // another user's
    }
    ASSIGN_OR_RETURN(std::vector<SnapshotRecord> all, registry_->listSnapshots(name));
    std::vector<SnapshotRecord> out;
    for (SnapshotRecord& s : all) {
      const bool visible =
          rowExists ? s.user == row->user : (caller.admin || s.user == caller.user);
      if (visible) {
        out.push_back(std::move(s));
      }
    }
    if (!rowExists && out.empty()) {
      return notFound("sandbox \"" + name + "\" not found");
    }
    return out;
  }

  // The class to name in VolumeSnapshots: snapshots.className after checking it exists, else
  // the cluster's default class ("" is never answered: no class is snapshots_unavailable).
  StatusOr<std::string> snapshotClass() {
    if (!config_.className.empty()) {
      auto found = client_->get(resources::volumeSnapshotClasses(), "", config_.className);
      if (!found.isOk()) {
        if (found.status().kind() == ErrorKind::NotFound) {
          return snapshotsUnavailable("the cluster has no VolumeSnapshotClass \"" +
                                      config_.className +
                                      "\" (or no snapshot API: snapshot.storage.k8s.io/v1)");
        }
        return found.status();
      }
      return config_.className;
    }
    auto classes = client_->list(resources::volumeSnapshotClasses(), "");
    if (!classes.isOk()) {
      if (classes.status().kind() == ErrorKind::NotFound) {
        return snapshotsUnavailable(
            "the cluster has no snapshot API (snapshot.storage.k8s.io/v1 CRDs)");
      }
      return classes.status();
    }
    std::string name = defaultSnapshotClass(*classes);
    if (name.empty()) {
      return snapshotsUnavailable(
          "the cluster has no default VolumeSnapshotClass; set snapshots.className");
    }
    return name;
  }

  // Brings a row that is not ready up to date from its VolumeSnapshot (a failed one may still
  // turn ready: the snapshot controller retries).
  void refresh(SnapshotRecord& snapshot) {
    if (snapshot.state == SnapshotState::Ready) {
      return;
    }
    auto object = client_->get(resources::volumeSnapshots(), snapshot.nameSpace,
                               snapshot.objectName);
    if (object.isOk()) {
      observe(snapshot, *object);
    } else if (object.status().kind() == ErrorKind::NotFound) {
      record(snapshot, SnapshotState::Failed, "", "the VolumeSnapshot is gone");
    }
    // Any other error: the row stays as it is; the next read tries again.
  }

  void observe(SnapshotRecord& snapshot, const json& object) {
    const ObservedSnapshot observed = observeVolumeSnapshot(object);
    record(snapshot, observed.state, observed.size, observed.error);
  }

  void record(SnapshotRecord& snapshot, SnapshotState state, const std::string& size,
              const std::string& error) {
    if (snapshot.state == state && snapshot.size == size && snapshot.error == error) {
      return;
    }
    snapshot.state = state;
    snapshot.size = size;
    snapshot.error = error;
    if (state == SnapshotState::Ready && !snapshot.readyAt) {
      snapshot.readyAt = time_->systemTime();
    }
    Status stored = registry_->updateSnapshot(snapshot);
    if (!stored.isOk()) {
      spdlog::warn("snapshot {}: could not record its state: {}", snapshot.id, stored.toString());
    }
  }

  // The VolumeSnapshot (gone already is fine), then the row.
  Status deleteSnapshot(const SnapshotRecord& snapshot) {
    auto removed = client_->remove(resources::volumeSnapshots(), snapshot.nameSpace,
                                   snapshot.objectName);
    if (!removed.isOk() && removed.status().kind() != ErrorKind::NotFound) {
      return removed.status();
    }
    Status row = registry_->deleteSnapshot(snapshot.id);
    return row.kind() == ErrorKind::NotFound ? Status::ok() : row;
  }

  // Retention: the newest snapshots.keep unlabelled snapshots of this incarnation stay.
  void prune(const std::string& name, const std::string& sandboxId) {
    auto all = registry_->listSnapshots(name);
    if (!all.isOk()) {
      return;
    }
    int unlabelled = 0;
    for (const SnapshotRecord& s : *all) {  // newest first
      if (s.sandboxId != sandboxId || !s.label.empty()) {
        continue;
      }
      if (++unlabelled <= config_.keep) {
        continue;
      }
      Status deleted = deleteSnapshot(s);
      if (deleted.isOk()) {
        ++deletedByRetention_;
        spdlog::info("sandbox {}: snapshot {} deleted (retention: keep {})", name, s.id,
                     config_.keep);
      } else {
        spdlog::warn("sandbox {}: retention could not delete snapshot {}: {}", name, s.id,
                     deleted.toString());
      }
    }
  }

  RegistryPtr registry_;
  KubeClientPtr client_;
  KubernetesServicePtr kube_;
  SnapshotConfig config_;
  TimeSourcePtr time_;
  RandomGeneratorPtr random_;
  SandboxLocksPtr locks_;

  std::atomic<uint64_t> createdByRestore_{0};
  std::atomic<uint64_t> restoresDone_{0};
  std::atomic<uint64_t> restoresFailed_{0};

  std::mutex threadMu_;
  std::thread thread_;
  std::mutex wakeMu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool poked_ = false;
  std::atomic<uint64_t> createdByUser_{0};
  std::atomic<uint64_t> createdBySchedule_{0};
  std::atomic<uint64_t> failedByUser_{0};
  std::atomic<uint64_t> failedBySchedule_{0};
  std::atomic<uint64_t> deletedByUser_{0};
  std::atomic<uint64_t> deletedByRetention_{0};
  std::atomic<uint64_t> deletedByPurge_{0};
};

}  // namespace

SnapshotManagerPtr makeSnapshotManager(RegistryPtr registry, KubeClientPtr client,
                                       KubernetesServicePtr kube, const Config& config,
                                       TimeSourcePtr time, RandomGeneratorPtr random,
                                       SandboxLocksPtr locks) {
  return std::make_shared<SnapshotManagerImpl>(std::move(registry), std::move(client),
                                               std::move(kube), config, std::move(time),
                                               std::move(random), std::move(locks));
}

}  // namespace sandboxd
