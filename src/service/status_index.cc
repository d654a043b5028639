#include "sandboxd/service/status_index.h"

#include <utility>

#include "sandboxd/render/manifest_renderer.h"
#include "sandboxd/status/status_derivation.h"

namespace sandboxd {
StatusIndex::StatusIndex(std::shared_ptr<ObjectCache> cache, std::string nameSpace)
    : cache_(std::move(cache)), nameSpace_(std::move(nameSpace)) {}

void StatusIndex::objectChanged(const ResourceType& type, const json& object, bool /*deleted*/) {
  std::string name;
  if (type.plural == resources::statefulSets().plural) {
    const auto meta = object.find("metadata");
    if (meta != object.end() && meta->is_object()) {
      name = meta->value("name", "");
    }
  } else if (type.plural == resources::pods().plural ||
             type.plural == resources::persistentVolumeClaims().plural) {
    name = labelOf(object, labels::kApp);
  }
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
  ObservedObjects observed;
  auto sts = cache_->get(resources::statefulSets(), nameSpace_, name);
  std::optional<ObservedStatus> status;
  if (sts) {
    observed.workload = std::move(*sts);
    observed.pods = cache_->listIndexed(resources::pods(), nameSpace_, name,
                                        [](const json&) { return true; });
    if (auto pvc = cache_->get(resources::persistentVolumeClaims(), nameSpace_, names::pvc(name))) {
      observed.pvc = std::move(*pvc);
    }
    status = toObservedStatus(deriveStatus(observed), observed);
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
  if (status) {
    byName_[name] = std::move(*status);
  } else {
    byName_.erase(name);
  }
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
  // Changes reported while this runs re-derive their sandbox again: both orders end in the
  // cache's current state.
  for (const json& sts : cache_->list(resources::statefulSets(), nameSpace_)) {
    refresh(sts["metadata"].value("name", ""));
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
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
  return it->second;
}

std::optional<std::map<std::string, ObservedStatus>> StatusIndex::all() {
  if (!ready()) {
    return std::nullopt;
  }
  std::shared_lock<std::shared_mutex> lock(mu_);
  return byName_;
}

}  // namespace sandboxd
