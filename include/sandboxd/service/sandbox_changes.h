// SandboxChanges: which sandboxes changed since the event feed last looked, coalesced (a
// burst of changes to one sandbox is one entry). Fed by the watch cache's change
// notifications (objectChanged) and by the registry (registry_change_notifier.h); drained by
// the event feed's thread (sandbox_event_feed.h). Thread-safe; marking never blocks for long.
#pragma once

#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sandboxd/kube/kube_client.h"

namespace sandboxd {

// The sandbox a cached object belongs to: a StatefulSet's name, a pod's or claim's `app`
// label; "" for anything else.
std::string sandboxNameOfObject(const ResourceType& type, const json& object);

struct SandboxChange {
  std::string name;
  bool record = false;      // its registry row or its objects (status) changed
  bool operations = false;  // its operation record changed
  // When the watch cache applied the earliest of the object changes coalesced here
  // (steady_clock, nanoseconds since its epoch); 0 when none came from the watch cache.
  int64_t appliedNs = 0;
};

class SandboxChanges {
 public:
  void sandboxChanged(const std::string& name);
  void operationsChanged(const std::string& name);
  // Wire to WatchCache::setListener; `appliedAt`: when the cache applied the change.
  void objectChanged(const ResourceType& type, const json& object, bool deleted,
                     std::chrono::steady_clock::time_point appliedAt =
                         std::chrono::steady_clock::now());

  // Waits up to `timeout` for changes and takes them all (empty on timeout or close()).
  std::vector<SandboxChange> take(std::chrono::milliseconds timeout);
  // Wakes take() for good.
  void close();

 private:
  // Marks `name`'s pending change with `what` (record or operations) and wakes take().
  void mark(const std::string& name, bool SandboxChange::*what);

  std::mutex mu_;
  std::condition_variable ready_;
  std::map<std::string, SandboxChange> pending_;
  bool closed_ = false;
};

}  // namespace sandboxd
