// ObjectCache: the WatchCache (sandboxd/kube/watch_cache.h says what it keeps and how it stays
// current): one list+watch thread per type, objects stored packed (MessagePack), indexed by
// one label. Production code makes it with makeWatchCache(); tests construct it.
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
#include "sandboxd/kube/watch_cache.h"

namespace sandboxd {

class PackedKeys;

class ObjectCache : public WatchCache {
 public:
  ObjectCache(KubeClientPtr client, ObjectCacheOptions options, TimeSourcePtr time);
  ~ObjectCache() override;  // stop()s
  ObjectCache(const ObjectCache&) = delete;
  ObjectCache& operator=(const ObjectCache&) = delete;

  // WatchCache
  void start() override;
  void stop() override;
  std::optional<json> get(const ResourceType& type, const std::string& ns,
                          const std::string& name) const override;
  std::vector<json> list(const ResourceType& type, const std::string& ns,
                         const std::map<std::string, std::string>& labels = {}) const override;
  std::vector<json> listIf(const ResourceType& type, const std::string& ns,
                           const std::function<bool(const json&)>& keep) const override;
  std::vector<std::string> names(const ResourceType& type, const std::string& ns) const override;
  std::vector<json> listIndexed(const ResourceType& type, const std::string& ns,
                                const std::string& value,
                                const std::function<bool(const json&)>& keep) const override;
  const std::string& indexLabel() const override { return options_.indexLabel; }
  void setListener(ObjectListener listener) override;
  bool synced() const override;
  bool waitForSync(std::chrono::milliseconds timeout) const override;
  MonotonicTime lastEvent() const override;
  ObjectCacheHealth health() const override;

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
  // The label objects of `type` are indexed by ("": not indexed; options.indexedTypes).
  const std::string& indexLabelOf(const ResourceType& type) const;

  const KubeClientPtr client_;
  const ObjectCacheOptions options_;
  const TimeSourcePtr time_;
  // The keys packed objects hold as one-byte codes (kube/cache/packed_keys.h).
  const std::shared_ptr<const PackedKeys> keys_;

  // A cached object, packed: MessagePack of the (transformed) object is about a tenth of the
  // memory of its json tree (measured: a trimmed pod ~590 bytes vs ~5 KB), and readers get a
  // copy anyway, so unpacking costs about what copying the tree did.
  // Stored is a map node's value, so kept small: at 100,000 sandboxes (300,000 objects) the
  // nodes are most of the cache (bench/README.md), and the index value lives once, as the key
  // of the object's index entry.
  struct Stored {
    std::string packed;                  // MessagePack
    const std::string* index = nullptr;  // the key of its byIndex entry; null: not indexed
  };
  // An object as packed, before it is stored: with its index value when it is indexed.
  struct Packed {
    std::string packed;
    std::optional<std::string> indexValue;
  };
  // The index value is read from the whole object, as a list's is from its text. Keys are coded
  // with keys_.
  Packed pack(const json& object, const FieldMask* keep, const std::string& indexLabel) const;
  json unpack(const Stored& stored) const;

  // The objects of one type in one namespace, by name, and by index label value (pointing at
  // the name, the key in byName). Nested maps rather than one keyed by (type, namespace, name):
  // at 30,000 objects the repeated type and namespace strings and a second copy of each key
  // in the index came to ~5 MB.
  struct NamespaceObjects {
    std::map<std::string, Stored, std::less<>> byName;
    std::multimap<std::string, const std::string*, std::less<>> byIndex;
    // Made in the long-lived objects' arena (common/heap.h), copied from the arguments.
    void add(const std::string& name, const std::string& packed,
             const std::optional<std::string>& indexValue);
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
