// ObjectCache: an in-memory copy of the Kubernetes objects sandboxd owns, kept current by
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
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
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
  // Per type (by plural), the fields of each object the cache keeps (as a transform given to
  // client-go's SetTransform): what no reader needs is dropped, to save memory and copying.
  // Lists pack only these fields, straight from the answer's text, and watch events' objects
  // are packed keeping the same (packed_list.h). What the cache serves (get, list,
  // CachedReadClient) is the trimmed object. Types not named are kept whole. (The API server
  // leaves apiVersion and kind out of list items; a mask that keeps them keeps them only where
  // a watch event packed the object.)
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

class ObjectCache {
 public:
  ObjectCache(KubeClientPtr client, ObjectCacheOptions options, TimeSourcePtr time);
  ~ObjectCache();  // stop()s
  ObjectCache(const ObjectCache&) = delete;
  ObjectCache& operator=(const ObjectCache&) = delete;

  // Starts one list+watch thread per type. Not restartable after stop().
  void start();
  // Cancels the watches and joins the threads; prompt (does not wait for a watch timeout).
  void stop();

  // The cached object, or nullopt when the cache has none (also for types it does not hold).
  std::optional<json> get(const ResourceType& type, const std::string& ns,
                          const std::string& name) const;
  // Cached objects of `type` in `ns` (empty = any) whose labels include every pair of
  // `labels`, ordered by namespace and name.
  std::vector<json> list(const ResourceType& type, const std::string& ns,
                         const std::map<std::string, std::string>& labels = {}) const;
  // Cached objects of `type` in `ns` (empty = any) for which `keep` is true (called under the
  // cache's read lock: cheap, no calls back into the cache), ordered by namespace and name.
  // Only those are copied.
  std::vector<json> listIf(const ResourceType& type, const std::string& ns,
                           const std::function<bool(const json&)>& keep) const;

  // The names of the cached objects of `type` in `ns` (empty = any), in order; nothing is
  // unpacked.
  std::vector<std::string> names(const ResourceType& type, const std::string& ns) const;

  // listIf restricted to the objects whose options.indexLabel label equals `value`: visits only
  // those (an index lookup), so its cost does not grow with the number of cached objects.
  // With `ns` empty it scans (listIf with that condition); without an index label it finds
  // nothing.
  std::vector<json> listIndexed(const ResourceType& type, const std::string& ns,
                                const std::string& value,
                                const std::function<bool(const json&)>& keep) const;
  const std::string& indexLabel() const { return options_.indexLabel; }

  // Replaces the listener (nullptr: none). Safe at any time; once it returns, the previous
  // listener is never called again.
  void setListener(ObjectListener listener);

  bool synced() const;
  // Waits until synced() or `timeout`; true when synced.
  bool waitForSync(std::chrono::milliseconds timeout) const;
  // When the cache last applied a list, event or bookmark (monotonic; epoch before the first).
  MonotonicTime lastEvent() const;
  ObjectCacheHealth health() const;

 private:
  struct TypeState {
    bool listed = false;
    std::optional<MonotonicTime> failingSince;
  };

  void run(size_t index);
  struct Change {
    json object;
    bool deleted = false;
  };
  // Lists `type` and replaces its cached objects; returns the list's resourceVersion. With
  // `changes` (a relist), also what differs from the objects it replaced; without (the first
  // list), from the API server's watch cache (resourceVersion 0).
  StatusOr<std::string> relist(const ResourceType& type, std::vector<Change>* changes);
  void apply(const ResourceType& type, const WatchEvent& event, std::string& resourceVersion);
  void notify(const ResourceType& type, const json& object, bool deleted);
  void recordFailure(size_t index, const Status& status);
  void recordSuccess(size_t index);
  // Sleeps up to `delay`; false when stop() was called meanwhile.
  bool waitBeforeRetry(std::chrono::milliseconds delay);
  std::chrono::milliseconds backoff(int failures) const;
  const std::string& selectorFor(const ResourceType& type) const;
  // The fields kept of objects of `type`; null: all.
  const FieldMask* keepFieldsOf(const ResourceType& type) const;

  const KubeClientPtr client_;
  const ObjectCacheOptions options_;
  const TimeSourcePtr time_;

  // A cached object, packed: MessagePack of the (transformed) object is about a tenth of the
  // memory of its json tree (measured: a trimmed pod ~590 bytes vs ~5 KB), and readers get a
  // copy anyway, so unpacking costs about what copying the tree did.
  struct Stored {
    std::string packed;      // MessagePack
    std::string indexValue;  // the options.indexLabel label's value ("" if none)
    bool indexed = false;
  };
  // The index value is read from the whole object, as a list's is from its text.
  static Stored pack(const json& object, const FieldMask* keep, const std::string& indexLabel);
  static json unpack(const Stored& stored);

  // The objects of one type in one namespace, by name, and by index label value (pointing at
  // the name, the key in byName). Nested maps rather than one keyed by (type, namespace, name):
  // at 30,000 objects the repeated type and namespace strings and a second copy of each key
  // in the index came to ~5 MB.
  struct NamespaceObjects {
    std::map<std::string, Stored, std::less<>> byName;
    std::multimap<std::string, const std::string*, std::less<>> byIndex;
    void add(std::string name, Stored stored);
    // Erases `it` and its index entry.
    void erase(std::map<std::string, Stored, std::less<>>::iterator it);
  };
  using TypeObjects = std::map<std::string, NamespaceObjects, std::less<>>;  // by namespace
  // Calls visit(name, stored) for the objects of `type` in `ns` (empty = every namespace),
  // ordered by namespace and name; under objectsMu_.
  template <typename Visit>
  void forEach(const ResourceType& type, const std::string& ns, Visit visit) const;

  mutable std::shared_mutex objectsMu_;
  std::map<std::string, TypeObjects, std::less<>> objects_;  // by plural

  mutable std::mutex stateMu_;
  mutable std::condition_variable stateChanged_;
  bool started_ = false;
  bool stopping_ = false;
  std::vector<TypeState> types_;
  std::optional<MonotonicTime> lastEvent_;
  std::string lastError_;
  uint64_t lists_ = 0;
  uint64_t watches_ = 0;
  uint64_t events_ = 0;

  // Held while the listener runs, so that setListener() can promise no later call.
  std::mutex listenerMu_;
  ObjectListener listener_;

  WatchCancellation cancel_;
  std::vector<std::thread> threads_;
};

}  // namespace sandboxd
