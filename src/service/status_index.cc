#include "sandboxd/service/status_index.h"

#include <algorithm>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

#include "sandboxd/common/heap.h"
#include "sandboxd/model/naming.h"
#include "sandboxd/service/sandbox_changes.h"
#include "sandboxd/status/status_derivation.h"

namespace sandboxd {
StatusIndex::StatusIndex(std::shared_ptr<WatchCache> cache, std::string nameSpace)
    : cache_(std::move(cache)), nameSpace_(std::move(nameSpace)) {}

void StatusIndex::objectChanged(const ResourceType& type, const json& object, bool /*deleted*/) {
  const std::string name = sandboxNameOfObject(type, object);
  if (!name.empty()) {
    refresh(name);
  }
}

void StatusIndex::refresh(const std::string& name) {
  // Reads the cache's current objects (not the event's). Refreshes run one at a time, reading
  // and writing under refreshMu_: the cache's types notify from their own threads, and a
  // refresh that read older objects must not overwrite one that read newer ones. Every change
  // is applied to the cache before it is reported, so the last refresh sees the latest state.
  std::lock_guard<std::mutex> serial(refreshMu_);
  std::optional<ObservedStatus> status = derive(name);
  std::unique_lock<std::shared_mutex> lock(mu_);
  HeapArenaScope longLived(longLivedHeapArena());
  put(name, status);
}

void StatusIndex::put(const std::string& name, std::optional<ObservedStatus>& status) {
  auto it = byName_.find(name);
  if (it != byName_.end()) {
    strings_.release(it->second.reason);
    strings_.release(it->second.message);
    if (!status) {
      byName_.erase(it);
      return;
    }
  } else if (!status) {
    return;
  } else {
    it = byName_.emplace(name, Entry{}).first;
  }
  Entry& entry = it->second;
  entry.reason = strings_.acquire(status->reason);
  entry.nameAt = -1;
  const size_t at = status->message.find(name);
  if (!name.empty() && at != std::string::npos && at <= INT16_MAX) {
    status->message.erase(at, name.size());
    entry.nameAt = static_cast<int16_t>(at);
  }
  entry.message = strings_.acquire(status->message);
  entry.desiredReplicas = status->desiredReplicas;
  entry.readyReplicas = status->readyReplicas;
  entry.phase = static_cast<uint8_t>(status->phase);
  entry.workload = static_cast<uint8_t>(status->workload);
  entry.exists = status->exists;
}

ObservedStatus StatusIndex::toStatus(const std::string& name, const Entry& entry) {
  ObservedStatus status;
  status.phase = static_cast<Phase>(entry.phase);
  status.reason = *entry.reason;
  status.message = *entry.message;
  if (entry.nameAt >= 0) {
    status.message.insert(static_cast<size_t>(entry.nameAt), name);
  }
  status.desiredReplicas = entry.desiredReplicas;
  status.readyReplicas = entry.readyReplicas;
  status.workload = static_cast<WorkloadKind>(entry.workload);
  status.exists = entry.exists;
  return status;
}

std::optional<ObservedStatus> StatusIndex::derive(const std::string& name) const {
  auto sts = cache_->get(resources::statefulSets(), nameSpace_, name);
  if (!sts) {
    return std::nullopt;
  }
  ObservedObjects observed;
  observed.workload = std::move(*sts);
  observed.pods = cache_->listIndexed(resources::pods(), nameSpace_, name,
                                      [](const json&) { return true; });
  if (auto pvc = cache_->get(resources::persistentVolumeClaims(), nameSpace_, names::pvc(name))) {
    observed.pvc = std::move(*pvc);
  }
  return toObservedStatus(deriveStatus(observed), observed);
}

bool StatusIndex::rebuild() {
  std::lock_guard<std::mutex> one(rebuildMu_);
  if (!cache_->synced()) {
    return false;
  }
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (built_) {
      return true;
    }
  }
  // Refreshes wait meanwhile (the cache's threads with them), so that none is overwritten by
  // an older derivation; the changes they carry are in the cache already, so what this
  // derives is at least as new.
  std::lock_guard<std::mutex> serial(refreshMu_);
  const std::vector<std::string> names = cache_->names(resources::statefulSets(), nameSpace_);
  // At start-up with thousands of sandboxes this is most of the wait for /readyz: spread it.
  const size_t threads = names.size() < 1000
                             ? 1
                             : std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  std::vector<std::vector<std::optional<ObservedStatus>>> derived(threads);
  const auto work = [&](size_t part) {
    for (size_t i = part; i < names.size(); i += threads) {
      derived[part].push_back(derive(names[i]));
    }
  };
  std::vector<std::thread> helpers;
  for (size_t part = 1; part < threads; ++part) {
    helpers.emplace_back(work, part);
  }
  work(0);
  for (auto& t : helpers) {
    t.join();
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
  HeapArenaScope longLived(longLivedHeapArena());  // `derived` is freed after it
  for (size_t i = 0; i < names.size(); ++i) {
    put(names[i], derived[i % threads][i / threads]);
  }
  built_ = true;
  return true;
}

bool StatusIndex::ready() {
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (built_) {
      return true;
    }
  }
  return rebuild();
}

std::optional<ObservedStatus> StatusIndex::get(const std::string& name) {
  if (!ready()) {
    return std::nullopt;
  }
  std::shared_lock<std::shared_mutex> lock(mu_);
  const auto it = byName_.find(name);
  if (it == byName_.end()) {
    return std::nullopt;
  }
  return toStatus(it->first, it->second);
}

std::optional<std::map<std::string, ObservedStatus>> StatusIndex::all() {
  if (!ready()) {
    return std::nullopt;
  }
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::map<std::string, ObservedStatus> out;
  for (const auto& [name, entry] : byName_) {
    out.emplace_hint(out.end(), name, toStatus(name, entry));
  }
  return out;
}

std::optional<std::vector<std::optional<ObservedStatus>>> StatusIndex::get(
    const std::vector<std::string>& names) {
  if (!ready()) {
    return std::nullopt;
  }
  std::vector<std::optional<ObservedStatus>> out;
  out.reserve(names.size());
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto next = byName_.begin();  // where the name after the last one found would be
  for (const std::string& name : names) {
    if (next == byName_.end() || next->first != name) {
      next = byName_.find(name);
    }
    if (next == byName_.end()) {
      out.emplace_back();
      continue;
    }
    out.emplace_back(toStatus(next->first, next->second));
    ++next;
  }
  return out;
}

}  // namespace sandboxd
