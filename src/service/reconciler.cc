#include "sandboxd/service/reconciler.h"
#include "sandboxd/service/restore_steps.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "sandboxd/common/heap.h"
#include "sandboxd/model/reason.h"
#include "sandboxd/service/deletion_rules.h"
#include "sandboxd/service/drift.h"
#include "sandboxd/service/reconcile_errors.h"

namespace sandboxd {
namespace {

// A pass over this many sandboxes lists enough objects (about six per sandbox) that the heap
// they leave behind may be worth handing back: when at least half the heap is free, at least
// 64 MB, and not more often than every 30 s (see common/heap.h).
constexpr int kReleaseHeapAfterSandboxes = 1000;
constexpr std::chrono::seconds kReleaseHeapInterval{30};
constexpr size_t kReleaseHeapMinFree = size_t{64} << 20;

using ObjectKey = std::tuple<std::string, std::string, std::string>;  // kind, namespace, name
using ObjectIndex = std::map<ObjectKey, const json*>;

// What one sandbox needs, judged from one snapshot of registry and cluster.
struct SandboxWork {
  bool repair = false;      // re-create missing objects
  bool scale = false;       // replicas differ from the desired state
  bool remove = false;      // a deleted sandbox has leftovers (or a purged row to drop)
  bool secretLost = false;  // its Secret is gone: values cannot be restored
  bool any() const { return repair || scale || remove || secretLost; }
};

int replicasOf(const json* workload) {
  if (workload == nullptr || !workload->contains("spec")) {
    return -1;
  }
  const json& spec = (*workload)["spec"];
  return spec.contains("replicas") && spec["replicas"].is_number_integer()
             ? spec["replicas"].get<int>()
             : 1;
}

const json* find(const ObjectIndex& index, const std::string& kind, const std::string& ns,
                 const std::string& name) {
  auto it = index.find({kind, ns, name});
  return it == index.end() ? nullptr : it->second;
}

SandboxWork workFor(const SandboxRecord& r, const ObjectIndex& index,
                    const std::vector<const DriftItem*>& items) {
  SandboxWork work;
  if (r.desired == DesiredState::Deleted) {
    for (const DriftItem* item : items) {
      work.remove = work.remove || item->kind == DriftItem::Kind::Lingering;
    }
    // A purged sandbox also loses its volume, and its row once nothing is left.
    work.remove = work.remove || r.purge;
    return work;
  }
  for (const DriftItem* item : items) {
    if (item->kind != DriftItem::Kind::Missing) {
      continue;
    }
    if (item->objectKind == "Secret") {
      work.secretLost = true;
    } else if (r.workload == WorkloadKind::StatefulSet) {
      work.repair = true;
    }
  }
  const int want = r.desired == DesiredState::Running ? 1 : 0;
  const char* kind = r.workload == WorkloadKind::StatefulSet ? "StatefulSet" : "Deployment";
  const json* workload = find(index, kind, r.nameSpace, r.name);
  work.scale = workload != nullptr && replicasOf(workload) != want;
  return work;
}

// Nothing new was asked of the sandbox between the two reads of its record.
bool sameIntent(const SandboxRecord& a, const SandboxRecord& b) {
  return a.sandboxId == b.sandboxId && a.desired == b.desired && a.purge == b.purge;
}

struct Backoff {
  int failures = 0;
  MonotonicTime next{};
};

class ReconcilerImpl : public Reconciler {
 public:
  ReconcilerImpl(RegistryPtr registry, KubernetesServicePtr kube, KubeClientPtr client,
                 const Config& config, TimeSourcePtr time, SandboxLocksPtr locks,
                 ReconcilerOptions options)
      : registry_(std::move(registry)),
        kube_(std::move(kube)),
        client_(std::move(client)),
        config_(config),
        time_(std::move(time)),
        locks_(std::move(locks)),
        options_(options) {}

  ~ReconcilerImpl() override { stop(); }

  StatusOr<ReconcilePass> reconcileOnce() override {
    auto pass = runPass();
    record(pass);
    if (pass.isOk() && pass->sandboxes >= kReleaseHeapAfterSandboxes) {
      heap_.maybeRelease(time_->monotonicTime());  // the pass's listed objects (common/heap.h)
    }
    return pass;
  }

  void start() override {
    std::lock_guard<std::mutex> lock(threadMu_);
    if (thread_.joinable()) {
      return;
    }
    stopping_ = false;
    thread_ = std::thread([this] { loop(); });
  }

  void objectChanged(const ResourceType& type, const json& object, bool deleted) override {
    const bool statefulSet = type.kind == "StatefulSet";
    if (!statefulSet && type.kind != "Deployment") {
      return;
    }
    const json& meta = object.value("metadata", json::object());
    auto record = registry_->getSandbox(meta.value("name", ""));
    if (!record.isOk() || record->nameSpace != meta.value("namespace", "") ||
        record->desired == DesiredState::Deleted ||
        (record->workload == WorkloadKind::StatefulSet) != statefulSet) {
      return;  // not a sandbox's workload, or one on its way out
    }
    const int want = record->desired == DesiredState::Running ? 1 : 0;
    if (deleted || replicasOf(&object) != want) {
      {
        std::lock_guard<std::mutex> lock(wakeMu_);
        poked_ = true;
      }
      wake_.notify_all();
    }
  }

  ReconcilerStats stats() const override {
    std::lock_guard<std::mutex> lock(statsMu_);
    return stats_;
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

 private:
  StatusOr<ReconcilePass> runPass() {
    std::lock_guard<std::mutex> passLock(passMu_);
    ReconcilePass pass;
    if (options_.sweepLifetimes) {
      // First, so that this pass carries out what the sweep asked for.
      auto sweep = options_.sweepLifetimes();
      if (sweep.isOk()) {
        pass.idleStopped = sweep->idleStopped;
        pass.expired = sweep->expired;
        pass.failed += sweep->failed;
      } else {
        spdlog::warn("reconcile: idle stop and expiry could not run: {}",
                     sweep.status().toString());
      }
    }
    ASSIGN_OR_RETURN(std::vector<SandboxRecordPtr> records, registry_->listSandboxes());
    ASSIGN_OR_RETURN(std::vector<json> objects,
                     listSandboxObjects(*client_, namespacesOf(records, config_.sandbox)));
    ObjectIndex index;
    for (const auto& object : objects) {
      const json& meta = object["metadata"];
      index[{object.value("kind", ""), meta.value("namespace", ""), meta.value("name", "")}] =
          &object;
    }
    DriftReport drift = computeDrift(records, objects, config_.sandbox);
    std::map<std::pair<std::string, std::string>, std::vector<const DriftItem*>> bySandbox;
    for (const auto& item : drift.items) {
      bySandbox[{item.nameSpace, item.sandbox}].push_back(&item);
      pass.orphans += item.kind == DriftItem::Kind::Orphan ? 1 : 0;
      pass.missing += item.kind == DriftItem::Kind::Missing ? 1 : 0;
      pass.lingering += item.kind == DriftItem::Kind::Lingering ? 1 : 0;
    }

    auto pendingOps = registry_->sandboxesWithPendingOperations();
    if (!pendingOps.isOk()) {
      spdlog::warn("reconcile: could not list pending operations: {}",
                   pendingOps.status().toString());
    }
    const auto hasPendingOps = [&](const SandboxRecord& r) {
      return pendingOps.isOk() && pendingOps->count(r.sandboxId) > 0;
    };

    const MonotonicTime now = time_->monotonicTime();
    for (const auto& row : records) {
      const SandboxRecord& record = *row;
      ++pass.sandboxes;
      SandboxWork work = workFor(record, index, bySandbox[{record.nameSpace, record.name}]);
      if (!work.any()) {
        backoff_.erase(record.name);
        if (hasPendingOps(record)) {
          settleOperations(record, OperationState::Done, "");  // the cluster is in line
        }
        continue;
      }
      auto b = backoff_.find(record.name);
      if (b != backoff_.end() && now < b->second.next) {
        ++pass.deferred;
        continue;
      }
      Status done = act(record, work, pass);
      if (done.isOk()) {
        backoff_.erase(record.name);
        if (hasPendingOps(record)) {
          settleOperations(record, OperationState::Done, "");
        }
        continue;
      }
      ++pass.failed;
      Backoff& state = backoff_[record.name];
      ++state.failures;
      const int shift = std::min(state.failures - 1, 4);
      state.next = now + options_.firstBackoff * (1 << shift);
      spdlog::warn("reconcile {}: attempt {} failed: {}", record.name, state.failures,
                   done.toString());
      if (state.failures >= options_.maxAttempts) {
        const std::string message = "could not bring the sandbox to its desired state after " +
                                    std::to_string(state.failures) +
                                    " attempts: " + done.message();
        markError(record.name, record.sandboxId, StatusReason::ReconcileFailed, message);
        settleOperations(record, OperationState::Failed, message);
      }
    }
    return pass;
  }

  void loop() {
    bool triggered = false;
    for (;;) {
      const auto started = std::chrono::steady_clock::now();
      auto pass = reconcileOnce();
      const auto delay = delayAfterPass(
          options_, std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started));
      if (triggered) {
        std::lock_guard<std::mutex> lock(statsMu_);
        ++stats_.triggeredPasses;
      }
      if (!pass.isOk()) {
        spdlog::warn("reconcile pass failed: {}", pass.status().toString());
      } else if (pass->repaired + pass->scaled + pass->deleted + pass->failed +
                     pass->idleStopped + pass->expired > 0) {
        spdlog::info("reconcile pass{}: {} sandboxes, {} repaired, {} scaled, {} deleted, "
                     "{} idle-stopped, {} expired, {} failed, {} deferred, {} orphan objects",
                     triggered ? " (after a reported change)" : "", pass->sandboxes,
                     pass->repaired, pass->scaled, pass->deleted, pass->idleStopped,
                     pass->expired, pass->failed, pass->deferred, pass->orphans);
      }
      std::unique_lock<std::mutex> lock(wakeMu_);
      wake_.wait_for(lock, delay, [this] { return stopping_ || poked_; });
      if (stopping_) {
        return;
      }
      triggered = poked_;
      if (triggered) {
        // Let the change settle (and a request carrying it out finish); what is reported
        // meanwhile is covered by the same pass.
        if (wake_.wait_for(lock, options_.eventDelay, [this] { return stopping_; })) {
          return;
        }
        poked_ = false;
      }
    }
  }

  void record(const StatusOr<ReconcilePass>& pass) {
    std::lock_guard<std::mutex> lock(statsMu_);
    if (!pass.isOk()) {
      ++stats_.failedPasses;
      return;
    }
    ++stats_.passes;
    stats_.repaired += pass->repaired;
    stats_.scaled += pass->scaled;
    stats_.deleted += pass->deleted;
    stats_.failed += pass->failed;
    stats_.idleStopped += pass->idleStopped;
    stats_.expired += pass->expired;
    stats_.last = *pass;
    stats_.lastPassAt = time_->monotonicTime();
  }

  // Under the sandbox's lock, on the record as it is now: if a request changed the desired
  // state since the snapshot, this pass leaves it (the next one judges afresh).
  Status act(const SandboxRecord& snapshot, const SandboxWork& work, ReconcilePass& pass) {
    std::lock_guard<std::mutex> lock(locks_->forName(snapshot.name));
    auto fresh = registry_->getSandbox(snapshot.name);
    if (!fresh.isOk()) {
      return fresh.status().kind() == ErrorKind::NotFound ? Status::ok() : fresh.status();
    }
    if (!sameIntent(*fresh, snapshot)) {
      return Status::ok();
    }
    const SandboxKey key{fresh->nameSpace, fresh->name};
    if (fresh->desired == DesiredState::Deleted) {
      RETURN_IF_ERROR(kube_->remove(key, fresh->purge));
      ASSIGN_OR_RETURN(bool gone, kube_->isGone(key, fresh->purge));
      if (purgedRowMayGo(*fresh, gone, time_->systemTime())) {
        Status dropped = registry_->deleteSandbox(fresh->name);
        if (!dropped.isOk() && dropped.kind() != ErrorKind::NotFound) {
          return dropped;
        }
      }
      ++pass.deleted;
      return Status::ok();
    }
    if (work.secretLost) {
      if (fresh->reason != toString(StatusReason::SecretLost)) {
        markErrorLocked(*fresh, StatusReason::SecretLost,
                        "the Secret holding the sandbox's secret environment values is gone; "
                        "set them again (PATCH env setSecret) or delete the sandbox");
      }
      return Status::ok();
    }
    if (work.repair) {
      // Secret keys referenced only (""): the Secret is never written here.
      const SandboxSpec spec = specFromRecord(*fresh);
      RETURN_IF_ERROR(forkVolume(*fresh, spec));
      const int replicas = fresh->desired == DesiredState::Running ? 1 : 0;
      ASSIGN_OR_RETURN(std::vector<std::string> recreated, kube_->repair(spec, replicas));
      if (!recreated.empty()) {
        ++pass.repaired;
        for (const auto& what : recreated) {
          spdlog::info("reconcile {}: re-created {}", fresh->name, what);
        }
      }
    }
    if (work.scale) {
      RETURN_IF_ERROR(fresh->desired == DesiredState::Stopped ? kube_->stop(key)
                                                              : kube_->start(key));
      ++pass.scaled;
      spdlog::info("reconcile {}: scaled to {}", fresh->name, toString(fresh->desired));
    }
    if (isReconcileError(*fresh) && fresh->reason == toString(StatusReason::ReconcileFailed)) {
      SandboxRecord cleared = *fresh;
      clearReconcileError(cleared);
      (void)registry_->updateSandbox(cleared);  // a concurrent writer wins; fine
    }
    return Status::ok();
  }

  // A fork whose create was cut short before its home volume was made: the volume is made
  // from the snapshot its create named, before the StatefulSet is re-created (which would
  // otherwise make an empty one). A claim that exists is left alone, and so is a sandbox
  // restored since its create (a restore deletes and makes its claim itself).
  Status forkVolume(const SandboxRecord& record, const SandboxSpec& spec) {
    ASSIGN_OR_RETURN(std::vector<OperationRecord> ops,
                     registry_->listOperations(record.sandboxId, Registry::kOperationHistory));
    for (const OperationRecord& op : ops) {  // newest first
      if (op.kind == OperationKind::Restore) {
        return Status::ok();  // the claim is a restore's to replace (restore_steps.h)
      }
      if (op.kind != OperationKind::Create) {
        continue;
      }
      const std::optional<ForkDetail> fork = decodeForkDetail(op.detail);
      if (!fork) {
        return Status::ok();  // created with a new volume
      }
      Status made = kube_->createHomeVolume(spec, fork->volumeSnapshot, {});
      if (made.isOk()) {
        spdlog::info("reconcile {}: made the home volume from snapshot {}", record.name,
                     fork->snapshot);
      }
      return made.kind() == ErrorKind::AlreadyExists ? Status::ok() : made;
    }
    return Status::ok();
  }

  // Finishes what requests left pending, under the sandbox's lock (so no request is still
  // carrying one out) and only if nothing was asked since `snapshot`: lifecycle operations end
  // as `state`; an env update left pending was interrupted before its result was recorded
  // (the registry keeps the environment it had), so it failed.
  void settleOperations(const SandboxRecord& snapshot, OperationState state,
                        const std::string& error) {
    std::lock_guard<std::mutex> lock(locks_->forName(snapshot.name));
    auto fresh = registry_->getSandbox(snapshot.name);
    const bool rowGone = !fresh.isOk() && fresh.status().kind() == ErrorKind::NotFound;
    if (!rowGone && (!fresh.isOk() || !sameIntent(*fresh, snapshot))) {
      return;  // something new was asked: the next pass judges
    }
    auto pending = registry_->listOperations(snapshot.sandboxId, Registry::kOperationHistory,
                                             /*pendingOnly=*/true);
    if (!pending.isOk()) {
      spdlog::warn("reconcile {}: could not list pending operations: {}", snapshot.name,
                   pending.status().toString());
      return;
    }
    for (const OperationRecord& op : *pending) {
      if (op.kind == OperationKind::Restore) {
        continue;  // the snapshot manager's to carry out and finish (restore_steps.h)
      }
      // An env update or a volume growth left pending was interrupted before its result was
      // recorded.
      const bool interrupted =
          op.kind == OperationKind::UpdateEnv || op.kind == OperationKind::Resize;
      const char* what = op.kind == OperationKind::Resize
                             ? "interrupted before its result was recorded; the home volume "
                               "claim has the size it reached (a re-create reads it from there)"
                             : "interrupted before its result was recorded; the environment is "
                               "as the sandbox shows it";
      Status finished = registry_->finishOperation(
          op.id, interrupted ? OperationState::Failed : state, interrupted ? what : error);
      if (!finished.isOk()) {
        spdlog::warn("reconcile {}: could not finish operation {}: {}", snapshot.name, op.id,
                     finished.toString());
      }
    }
  }

  void markError(const std::string& name, const std::string& sandboxId, StatusReason reason,
                 const std::string& message) {
    std::lock_guard<std::mutex> lock(locks_->forName(name));
    auto fresh = registry_->getSandbox(name);
    if (fresh.isOk() && fresh->sandboxId == sandboxId) {
      markErrorLocked(*fresh, reason, message);
    }
  }

  void markErrorLocked(SandboxRecord record, StatusReason reason, const std::string& message) {
    record.phase = Phase::Error;
    record.reason = toString(reason);
    record.message = message;
    record.updatedAt = time_->systemTime();
    auto updated = registry_->updateSandbox(record);
    if (!updated.isOk()) {
      spdlog::warn("reconcile {}: could not record {}: {}", record.name, toString(reason),
                   updated.status().toString());
    }
  }

  RegistryPtr registry_;
  KubernetesServicePtr kube_;
  KubeClientPtr client_;
  Config config_;
  TimeSourcePtr time_;
  SandboxLocksPtr locks_;
  ReconcilerOptions options_;

  std::mutex passMu_;  // one pass at a time; guards backoff_
  std::map<std::string, Backoff> backoff_;
  HeapReleaser heap_{kReleaseHeapInterval, kReleaseHeapMinFree};

  std::mutex threadMu_;
  std::thread thread_;
  std::mutex wakeMu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool poked_ = false;  // a reported change asks for an early pass

  mutable std::mutex statsMu_;
  ReconcilerStats stats_;
};

}  // namespace

std::chrono::milliseconds delayAfterPass(const ReconcilerOptions& options,
                                         std::chrono::milliseconds lastPass) {
  const double share = options.maxPassShare;
  if (!(share > 0.0 && share < 1.0)) {
    return options.interval;  // no limit asked for
  }
  const auto spread = std::chrono::milliseconds(
      static_cast<int64_t>(static_cast<double>(lastPass.count()) * (1.0 - share) / share));
  return std::max(options.interval, spread);
}

ReconcilerPtr makeReconciler(RegistryPtr registry, KubernetesServicePtr kube,
                             KubeClientPtr client, const Config& config, TimeSourcePtr time,
                             SandboxLocksPtr locks, ReconcilerOptions options) {
  return std::make_unique<ReconcilerImpl>(std::move(registry), std::move(kube),
                                          std::move(client), config, std::move(time),
                                          std::move(locks), options);
}

}  // namespace sandboxd
