// StatusIndex: the derived status of every sandbox whose StatefulSet is in the watch cache,
// kept current from the cache's change notifications. A status read, or a list of thousands,
// then costs a map lookup: no API call, no copy of Kubernetes objects, no derivation.
//
// Each change the cache reports (a StatefulSet, or a pod or claim carrying the `app` label)
// re-derives that one sandbox from the cache's current objects; rebuild() derives them all
// (after the cache's first sync, whose initial lists are not reported as changes). A sandbox
// without a cached StatefulSet (just created, a legacy Deployment, deleted) has no entry:
// its readers fall back to reading the objects.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "sandboxd/kube/watch_cache.h"
#include "sandboxd/model/sandbox.h"

namespace sandboxd {

class StatusIndex {
 public:
  // `cache` must hold StatefulSets, pods and claims of `nameSpace` (sandboxCacheOptions).
  StatusIndex(std::shared_ptr<WatchCache> cache, std::string nameSpace);

  // Wire to WatchCache::setListener (cheap: one sandbox re-derived).
  void objectChanged(const ResourceType& type, const json& object, bool deleted);
  // Derives every sandbox; the index answers only once this ran with the cache synced.
  // Returns whether it did (false while the cache is not synced yet).
  bool rebuild();

  const std::string& nameSpace() const { return nameSpace_; }
  // nullopt: no answer (not built yet, or no cached StatefulSet of that name).
  std::optional<ObservedStatus> get(const std::string& name);
  // Every indexed sandbox; nullopt when the index is not built yet.
  std::optional<std::map<std::string, ObservedStatus>> all();
  // The status of each of `names`, in that order (nullopt: not indexed); nullopt when the index
  // is not built yet. Sorted names are found by walking the index rather than searching it.
  std::optional<std::vector<std::optional<ObservedStatus>>> get(
      const std::vector<std::string>& names);

 private:
  void refresh(const std::string& name);
  // The status of `name` from the cache's current objects; nullopt without a StatefulSet.
  std::optional<ObservedStatus> derive(const std::string& name) const;
  bool ready();

  const std::shared_ptr<WatchCache> cache_;
  const std::string nameSpace_;
  std::mutex rebuildMu_;  // one rebuild at a time
  std::mutex refreshMu_;  // one refresh at a time (see refresh())
  mutable std::shared_mutex mu_;
  bool built_ = false;                             // guarded by mu_
  std::map<std::string, ObservedStatus> byName_;  // guarded by mu_
};

}  // namespace sandboxd
