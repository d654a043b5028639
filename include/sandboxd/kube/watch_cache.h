// WatchCache: an in-memory copy of the Kubernetes objects sandboxd owns, kept current by
// list + watch, so that status reads need no API call.
//
// For each resource type, one background thread lists the objects carrying the label selector
// in one namespace (remembering the list's resourceVersion), then watches from there, applying
// ADDED/MODIFIED/DELETED to the map and remembering each event's (and BOOKMARK's)
// resourceVersion. When the stream ends (server timeout, dropped connection) it watches again
// from the last resourceVersion; on 410 Gone it lists again (objects deleted meanwhile
// disappear); on other errors it retries with exponential backoff. Readers never wait for the
// API: they see the last state the cache applied.
//
// A listener (setListener) hears of every change the cache applies after a type's first list:
// watch events, and what a relist after 410 Gone found added, changed or gone.
//
// The interface, its options and its health; makeWatchCache() makes the implementation
// (ObjectCache, src/kube/cache/object_cache.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sandboxd/common/time_source.h"
#include "sandboxd/kube/field_mask.h"
#include "sandboxd/kube/kube_client.h"

namespace sandboxd {

struct ObjectCacheOptions {
  std::vector<ResourceType> types;  // e.g. statefulSets, pods, persistentVolumeClaims
  std::string nameSpace;            // empty = all namespaces
  std::string labelSelector;        // e.g. "app.kubernetes.io/managed-by=sandboxd"
  // Per type (by plural), a selector used instead of labelSelector. Needed for PVCs: the
  // StatefulSet controller labels the claims it makes only with the StatefulSet's
  // spec.selector.matchLabels, not with the object's own labels.
  std::map<std::string, std::string> labelSelectorFor;
  // A label key whose value indexes the cached objects (e.g. "app": every object of a
  // sandbox carries app=<name>), so listIndexed finds a sandbox's objects without visiting the
  // others. Empty: no index.
  std::string indexLabel;
  // The types (by plural) whose objects are indexed by indexLabel; empty: every type. An index
  // entry costs ~80 bytes an object; listIndexed on a type not indexed visits every object.
  std::set<std::string> indexedTypes;
  // Per type (by plural), the fields of each object the cache keeps (as a transform given to
  // client-go's SetTransform): what no reader needs is dropped, to save memory and copying.
  // Lists pack only these fields, straight from the answer's text, and watch events' objects
  // are packed keeping the same (src/kube/cache/packed_list.h). What the cache serves (get,
  // list, CachedReadClient) is the trimmed object. Types not named are kept whole. (The API
  // server leaves apiVersion and kind out of list items; a mask that keeps them keeps them only
  // where a watch event packed the object.)
  std::map<std::string, std::shared_ptr<const FieldMask>> keepFieldsFor;
  int64_t watchTimeoutSeconds = 300;
  std::chrono::milliseconds minBackoff{250};
  std::chrono::milliseconds maxBackoff{30000};
  // A type whose list/watch has kept failing for this long makes the cache unhealthy.
  std::chrono::milliseconds unhealthyAfter{60000};
};

struct ObjectCacheHealth {
  bool running = false;  // started and not stopped
  bool synced = false;   // every type listed at least once
  bool healthy = false;  // running, synced, and no type failing for longer than unhealthyAfter
  // Since the last list, event or bookmark of any type; nullopt before the first.
  std::optional<std::chrono::milliseconds> sinceLastEvent;
  std::string lastError;  // the latest list/watch failure ("" if none yet)
  uint64_t lists = 0;     // successful lists, the initial ones included
  uint64_t watches = 0;   // watch streams opened (each resume counts)
  uint64_t events = 0;    // events and bookmarks applied
};

// Told of one change: the object as applied (for a deletion, its last known state), with at
// least the type's keepFieldsFor fields (a watched object has only those where the client
// honours WatchOptions::objectFields, as the REST client does). Runs on a
// cache thread, outside the cache's locks; must be cheap and must not block for long.
using ObjectListener =
    std::function<void(const ResourceType& type, const json& object, bool deleted)>;

class WatchCache {
 public:
  virtual ~WatchCache() = default;

  // Starts one list+watch thread per type. Not restartable after stop().
  virtual void start() = 0;
  // Cancels the watches and joins the threads; prompt (does not wait for a watch timeout).
  virtual void stop() = 0;

  // The cached object, or nullopt when the cache has none (also for types it does not hold).
  virtual std::optional<json> get(const ResourceType& type, const std::string& ns,
                                  const std::string& name) const = 0;
  // Cached objects of `type` in `ns` (empty = any) whose labels include every pair of
  // `labels`, ordered by namespace and name.
  virtual std::vector<json> list(const ResourceType& type, const std::string& ns,
                                 const std::map<std::string, std::string>& labels = {}) const = 0;
  // Cached objects of `type` in `ns` (empty = any) for which `keep` is true (called under the
  // cache's read lock: cheap, no calls back into the cache), ordered by namespace and name.
  // Only those are copied.
  virtual std::vector<json> listIf(const ResourceType& type, const std::string& ns,
                                   const std::function<bool(const json&)>& keep) const = 0;

  // The names of the cached objects of `type` in `ns` (empty = any), in order; nothing is
  // unpacked.
  virtual std::vector<std::string> names(const ResourceType& type,
                                         const std::string& ns) const = 0;

  // listIf restricted to the objects whose options.indexLabel label equals `value`: visits only
  // those (an index lookup), so its cost does not grow with the number of cached objects.
  // With `ns` empty it scans (listIf with that condition); without an index label it finds
  // nothing.
  virtual std::vector<json> listIndexed(const ResourceType& type, const std::string& ns,
                                        const std::string& value,
                                        const std::function<bool(const json&)>& keep) const = 0;
  // options.indexLabel ("" when the cache keeps no index).
  virtual const std::string& indexLabel() const = 0;

  // Replaces the listener (nullptr: none). Safe at any time; once it returns, the previous
  // listener is never called again.
  virtual void setListener(ObjectListener listener) = 0;

  virtual bool synced() const = 0;
  // Waits until synced() or `timeout`; true when synced.
  virtual bool waitForSync(std::chrono::milliseconds timeout) const = 0;
  // When the cache last applied a list, event or bookmark (monotonic; epoch before the first).
  virtual MonotonicTime lastEvent() const = 0;
  virtual ObjectCacheHealth health() const = 0;
};

using WatchCachePtr = std::shared_ptr<WatchCache>;

// A cache of `options`' types, listed and watched through `client`, its health timed by
// `time`'s monotonic clock. Not started yet: see start().
WatchCachePtr makeWatchCache(KubeClientPtr client, ObjectCacheOptions options,
                             TimeSourcePtr time);

}  // namespace sandboxd
