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

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "sandboxd/common/string_pool.h"
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
  // What the index holds of a sandbox's status. Its reason and message come from strings_, so
  // that what most sandboxes share is held once; a message that names the sandbox ("StatefulSet
  // sb-1 is ready ...") is held without the name, put back where nameAt says when it is read.
  // An entry is 32 bytes, not 88 and a message of its own: at 100,000 sandboxes ~13 MB less.
  struct Entry {
    const std::string* reason = nullptr;   // strings_'s
    const std::string* message = nullptr;  // strings_'s; without the name when nameAt >= 0
    int32_t desiredReplicas = 0;
    int32_t readyReplicas = 0;
    int16_t nameAt = -1;   // where the sandbox's name was taken out of the message (-1: not)
    uint8_t phase = 0;     // a Phase
    uint8_t workload = 0;  // a WorkloadKind
    bool exists = false;
  };
  using Entries = std::map<std::string, Entry, std::less<>>;
  // Stores `status` as `name`'s entry, or erases it (nullopt); mu_ held exclusively. Called in
  // a scope of the long-lived objects' arena (common/heap.h), with `status` (its message
  // changed) freed by the caller after it.
  void put(const std::string& name, std::optional<ObservedStatus>& status);
  static ObservedStatus toStatus(const std::string& name, const Entry& entry);

  void refresh(const std::string& name);
  // The status of `name` from the cache's current objects; nullopt without a StatefulSet.
  std::optional<ObservedStatus> derive(const std::string& name) const;
  bool ready();

  const std::shared_ptr<WatchCache> cache_;
  const std::string nameSpace_;
  std::mutex rebuildMu_;  // one rebuild at a time
  std::mutex refreshMu_;  // one refresh at a time (see refresh())
  mutable std::shared_mutex mu_;
  bool built_ = false;  // guarded by mu_
  Entries byName_;      // guarded by mu_
  StringPool strings_;  // byName_'s reasons and messages; guarded by mu_
};

}  // namespace sandboxd
