// SnapshotManager (sandboxd/service/snapshot_manager.h).
#include <algorithm>
#include <atomic>
#include <mutex>

#include <spdlog/spdlog.h>

#include "sandboxd/model/naming.h"
#include "sandboxd/service/snapshot_manager.h"
#include "sandboxd/service/snapshot_objects.h"
#include "service/sandbox_lifetimes.h"
#include "service/visible_record.h"

namespace sandboxd {
namespace {

constexpr size_t kSnapshotIdBytes = 6;  // 12 hex characters

class SnapshotManagerImpl : public SnapshotManager {
 public:
  SnapshotManagerImpl(RegistryPtr registry, KubeClientPtr client, const Config& config,
                      TimeSourcePtr time, RandomGeneratorPtr random, SandboxLocksPtr locks)
      : registry_(std::move(registry)),
        client_(std::move(client)),
        config_(config.snapshots),
        time_(std::move(time)),
        random_(std::move(random)),
        locks_(locks ? std::move(locks) : std::make_shared<SandboxLocks>()) {}

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
    out.failedByUser = failedByUser_.load();
    out.failedBySchedule = failedBySchedule_.load();
    out.deletedByUser = deletedByUser_.load();
    out.deletedByRetention = deletedByRetention_.load();
    out.deletedByPurge = deletedByPurge_.load();
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
    RETURN_IF_ERROR(deleteSnapshot(*it));
    ++deletedByUser_;
    spdlog::info("sandbox {}: snapshot {} deleted", name, id);
    return *it;
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
  SnapshotConfig config_;
  TimeSourcePtr time_;
  RandomGeneratorPtr random_;
  SandboxLocksPtr locks_;
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
                                       const Config& config, TimeSourcePtr time,
                                       RandomGeneratorPtr random, SandboxLocksPtr locks) {
  return std::make_shared<SnapshotManagerImpl>(std::move(registry), std::move(client), config,
                                               std::move(time), std::move(random),
                                               std::move(locks));
}

}  // namespace sandboxd
