#include "sandboxd/service/sandbox_changes.h"

#include "sandboxd/model/naming.h"

namespace sandboxd {

std::string sandboxNameOfObject(const ResourceType& type, const json& object) {
  if (type.plural == resources::statefulSets().plural) {
    const auto meta = object.find("metadata");
    if (meta != object.end() && meta->is_object()) {
      return meta->value("name", "");
    }
    return "";
  }
  if (type.plural == resources::pods().plural ||
      type.plural == resources::persistentVolumeClaims().plural) {
    return labelOf(object, labels::kApp);
  }
  return "";
}

void SandboxChanges::mark(const std::string& name, bool SandboxChange::*what) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& change = pending_[name];
    change.name = name;
    change.*what = true;
  }
  ready_.notify_one();
}

void SandboxChanges::sandboxChanged(const std::string& name) { mark(name, &SandboxChange::record); }

void SandboxChanges::operationsChanged(const std::string& name) {
  mark(name, &SandboxChange::operations);
}

void SandboxChanges::objectChanged(const ResourceType& type, const json& object,
                                   bool /*deleted*/,
                                   std::chrono::steady_clock::time_point appliedAt) {
  std::string name = sandboxNameOfObject(type, object);
  if (name.empty()) {
    return;
  }
  const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         appliedAt.time_since_epoch())
                         .count();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& change = pending_[name];
    change.name = name;
    change.record = true;
    if (change.appliedNs == 0 || ns < change.appliedNs) {
      change.appliedNs = ns;  // the earliest: a coalesced change is not made to look younger
    }
  }
  ready_.notify_one();
}

std::vector<SandboxChange> SandboxChanges::take(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  ready_.wait_for(lock, timeout, [this] { return closed_ || !pending_.empty(); });
  std::vector<SandboxChange> out;
  if (closed_) {
    return out;
  }
  out.reserve(pending_.size());
  for (auto& entry : pending_) {
    out.push_back(std::move(entry.second));
  }
  pending_.clear();
  return out;
}

void SandboxChanges::close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  ready_.notify_all();
}

}  // namespace sandboxd
