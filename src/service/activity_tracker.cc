#include "sandboxd/service/activity_tracker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

namespace sandboxd {

ActivityTracker::ActivityTracker(RegistryPtr registry, ActivityTrackerOptions options)
    : registry_(std::move(registry)), options_(options) {}

ActivityTracker::~ActivityTracker() { stop(); }

void ActivityTracker::touch(const std::string& name, const std::string& sandboxId,
                            SystemTime at) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      auto [it, inserted] = noted_.try_emplace(name, Registry::Activity{name, sandboxId, at});
      if (!inserted) {
        // A re-created name is another sandbox: its activity replaces the old one's.
        it->second.at = it->second.sandboxId == sandboxId ? std::max(it->second.at, at) : at;
        it->second.sandboxId = sandboxId;
      }
      if (options_.background && !thread_.joinable()) {
        thread_ = std::thread([this] { loop(); });
      }
      return;
    }
  }
  Status stored = registry_->recordActivity({Registry::Activity{name, sandboxId, at}});
  if (!stored.isOk()) {
    spdlog::warn("sandbox {}: could not record its activity: {}", name, stored.toString());
  }
}

std::optional<SystemTime> ActivityTracker::pending(const std::string& name,
                                                   const std::string& sandboxId) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = noted_.find(name);
  if (it == noted_.end() || it->second.sandboxId != sandboxId) {
    return std::nullopt;
  }
  return it->second.at;
}

Status ActivityTracker::flush() {
  std::lock_guard<std::mutex> one(flushMu_);
  std::vector<Registry::Activity> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.reserve(noted_.size());
    for (auto& [name, activity] : noted_) {
      batch.push_back(activity);
    }
  }
  Status stored = registry_->recordActivity(batch);
  if (!stored.isOk()) {
    return stored;  // kept noted: the next flush tries again
  }
  // What was stored leaves the memory, unless a newer report came meanwhile.
  std::lock_guard<std::mutex> lock(mu_);
  for (const Registry::Activity& activity : batch) {
    auto it = noted_.find(activity.name);
    if (it != noted_.end() && it->second.sandboxId == activity.sandboxId &&
        it->second.at == activity.at) {
      noted_.erase(it);
    }
  }
  return Status::ok();
}

void ActivityTracker::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !noted_.empty(); });
    wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
    if (stopping_) {
      return;  // stop() stores what is left
    }
    lock.unlock();
    if (Status stored = flush(); !stored.isOk()) {
      spdlog::warn("could not record sandboxes' activity (retried): {}", stored.toString());
    }
    lock.lock();
  }
}

void ActivityTracker::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  if (Status stored = flush(); !stored.isOk()) {
    spdlog::warn("could not record sandboxes' activity at shutdown: {}", stored.toString());
  }
}

}  // namespace sandboxd
