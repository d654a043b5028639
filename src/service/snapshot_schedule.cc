// Scheduled snapshots (service/snapshot_schedule.h).
#include "service/snapshot_schedule.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "sandboxd/service/snapshot_objects.h"

namespace sandboxd {

std::vector<std::string> snapshotsDue(const std::vector<SandboxRecordPtr>& records,
                                      const std::map<std::string, SystemTime>& newest,
                                      SystemTime now, std::chrono::hours interval) {
  std::vector<std::pair<SystemTime, std::string>> due;  // (since, name)
  if (interval.count() <= 0) {
    return {};
  }
  for (const SandboxRecordPtr& record : records) {
    if (record == nullptr || record->desired != DesiredState::Running) {
      continue;
    }
    const auto it = newest.find(record->sandboxId);
    const SystemTime since = it != newest.end() ? it->second : record->createdAt;
    if (now - since >= interval) {
      due.emplace_back(since, record->name);
    }
  }
  std::sort(due.begin(), due.end());
  std::vector<std::string> names;
  names.reserve(due.size());
  for (auto& [since, name] : due) {
    names.push_back(std::move(name));
  }
  return names;
}

SnapshotScheduler::SnapshotScheduler(RegistryPtr registry, SnapshotManagerPtr snapshots,
                                     TimeSourcePtr time, SnapshotScheduleOptions options)
    : registry_(std::move(registry)),
      snapshots_(std::move(snapshots)),
      time_(std::move(time)),
      options_(options) {}

std::optional<SnapshotSweep> SnapshotScheduler::maybeSweep() {
  if (options_.interval.count() <= 0) {
    return std::nullopt;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    const MonotonicTime now = time_->monotonicTime();
    if (lastSweep_ && now - *lastSweep_ < options_.minGap) {
      return std::nullopt;
    }
    lastSweep_ = now;
  }
  auto swept = sweep();
  if (!swept.isOk()) {
    spdlog::warn("scheduled snapshots: could not run: {}", swept.status().toString());
    return std::nullopt;
  }
  if (swept->taken > 0 || swept->failed > 0) {
    spdlog::info("scheduled snapshots: {} due, {} taken, {} failed, {} deferred", swept->due,
                 swept->taken, swept->failed, swept->deferred);
  }
  return *swept;
}

StatusOr<SnapshotSweep> SnapshotScheduler::sweep() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::vector<SandboxRecordPtr> records, registry_->listSandboxes());
  ASSIGN_OR_RETURN(auto newest, registry_->newestSnapshotTimes());
  const std::vector<std::string> due =
      snapshotsDue(records, newest, time_->systemTime(), options_.interval);
  std::map<std::string, std::string> idOf;  // name -> sandboxId
  for (const SandboxRecordPtr& record : records) {
    if (record != nullptr) {
      idOf[record->name] = record->sandboxId;
    }
  }
  // Back-off entries of sandboxes no longer there go.
  std::map<std::string, MonotonicTime> kept;
  for (const auto& [name, id] : idOf) {
    if (auto it = failedAt_.find(id); it != failedAt_.end()) {
      kept.insert(*it);
    }
  }
  failedAt_ = std::move(kept);

  SnapshotSweep out;
  out.due = static_cast<int>(due.size());
  const MonotonicTime now = time_->monotonicTime();
  size_t attempted = 0;
  for (size_t i = 0; i < due.size(); ++i) {
    const std::string& name = due[i];
    const std::string& id = idOf[name];
    if (auto it = failedAt_.find(id); it != failedAt_.end() && now - it->second <
                                                                    options_.retryAfter) {
      ++out.deferred;
      continue;
    }
    if (attempted >= options_.maxPerSweep) {
      ++out.deferred;
      continue;
    }
    ++attempted;
    auto taken = snapshots_->createScheduled(name);
    if (taken.isOk()) {
      ++out.taken;
      failedAt_.erase(id);
      warnedUnavailable_ = false;
      continue;
    }
    if (isSnapshotsUnavailable(taken.status())) {
      // Every other sandbox would fail the same way: stop, and say so once.
      out.unavailable = true;
      out.deferred += static_cast<int>(due.size() - i - 1);
      if (!warnedUnavailable_) {
        spdlog::warn("scheduled snapshots: skipped, the cluster cannot take snapshots: {}",
                     taken.status().message());
        warnedUnavailable_ = true;
      } else {
        spdlog::debug("scheduled snapshots: skipped: {}", taken.status().message());
      }
      break;
    }
    if (taken.status().kind() == ErrorKind::NotFound) {
      continue;  // deleted since the list
    }
    ++out.failed;
    failedAt_[id] = now;
    spdlog::warn("scheduled snapshots: sandbox {}: {}", name, taken.status().toString());
  }
  return out;
}

}  // namespace sandboxd
