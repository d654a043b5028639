#include "kube/cache/object_cache.h"

#include <spdlog/spdlog.h>

#include "kube/backoff.h"
#include "kube/cache/packed_keys.h"
#include "kube/cache/packed_list.h"
#include "sandboxd/common/heap.h"

#include <algorithm>
#include <utility>

namespace sandboxd {
namespace {

constexpr int64_t kListPageSize = 500;
const std::optional<std::string> kNoIndex;  // the index value of an object of a type not indexed
// A stream that ends this soon without any event counts as a failed attempt (so that a server
// or proxy closing streams at once does not make us spin).
constexpr std::chrono::seconds kShortStream{1};
constexpr std::chrono::milliseconds kMaxGoneBackoff{5000};  // between relists after repeated 410s

std::string metadataString(const json& object, const char* key) {
  const auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) {
    return "";
  }
  const auto it = meta->find(key);
  return it != meta->end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The keys coded in packed objects: those the types' masks name, and statuses' own.
PackedKeysPtr keysFor(const ObjectCacheOptions& options) {
  std::vector<const FieldMask*> masks;
  for (const auto& [plural, mask] : options.keepFieldsFor) {
    masks.push_back(mask.get());
  }
  return PackedKeys::forMasks(masks);
}

}  // namespace

WatchCachePtr makeWatchCache(KubeClientPtr client, ObjectCacheOptions options,
                             TimeSourcePtr time) {
  return std::make_shared<ObjectCache>(std::move(client), std::move(options), std::move(time));
}

ObjectCache::ObjectCache(KubeClientPtr client, ObjectCacheOptions options, TimeSourcePtr time)
    : client_(std::move(client)),
      options_(std::move(options)),
      time_(std::move(time)),
      keys_(keysFor(options_)) {}

ObjectCache::~ObjectCache() { stop(); }

void ObjectCache::start() {
  std::lock_guard<std::mutex> lock(stateMu_);
  if (started_) {
    return;
  }
  started_ = true;
  types_.assign(options_.types.size(), TypeState{});
  for (size_t i = 0; i < options_.types.size(); ++i) {
    threads_.emplace_back([this, i] { run(i); });
  }
}

void ObjectCache::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(stateMu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  stateChanged_.notify_all();
  cancel_.cancel();
  for (auto& t : threads) {
    t.join();
  }
}

std::optional<json> ObjectCache::get(const ResourceType& type, const std::string& ns,
                                     const std::string& name) const {
  std::shared_lock<std::shared_mutex> lock(objectsMu_);
  const auto byType = objects_.find(type.plural);
  if (byType == objects_.end()) {
    return std::nullopt;
  }
  const auto byNs = byType->second.find(ns);
  if (byNs == byType->second.end()) {
    return std::nullopt;
  }
  const auto it = byNs->second.byName.find(name);
  if (it == byNs->second.byName.end()) {
    return std::nullopt;
  }
  return unpack(it->second);
}

void ObjectCache::NamespaceObjects::add(const std::string& name, const std::string& packed,
                                        const std::optional<std::string>& indexValue) {
  if (const auto existing = byName.find(name); existing != byName.end()) {
    erase(existing);
  }
  // The entry is made in the long-lived objects' arena, copied: the packed text was built among
  // the parse's garbage (with the spare capacity its growth left), and a copy has its exact
  // size. Nothing is freed inside the scope (common/heap.h): the arguments outlive it.
  HeapArenaScope longLived(longLivedHeapArena());
  const auto it = byName.emplace(name, Stored{packed}).first;
  if (indexValue) {
    it->second.index = &byIndex.emplace(*indexValue, &it->first)->first;
  }
}

void ObjectCache::NamespaceObjects::erase(std::map<std::string, Stored, std::less<>>::iterator it) {
  if (it->second.index != nullptr) {
    auto [from, to] = byIndex.equal_range(*it->second.index);
    for (; from != to; ++from) {
      if (from->second == &it->first) {
        byIndex.erase(from);
        break;
      }
    }
  }
  byName.erase(it);
}

template <typename Visit>
void ObjectCache::forEach(const ResourceType& type, const std::string& ns, Visit visit) const {
  const auto byType = objects_.find(type.plural);
  if (byType == objects_.end()) {
    return;
  }
  for (auto byNs = ns.empty() ? byType->second.begin() : byType->second.find(ns);
       byNs != byType->second.end() && (ns.empty() || byNs->first == ns); ++byNs) {
    for (const auto& [name, stored] : byNs->second.byName) {
      visit(name, stored);
    }
  }
}

ObjectCache::Packed ObjectCache::pack(const json& object, const FieldMask* keep,
                                      const std::string& indexLabel) const {
  Packed packed;
  packed.packed = packKeeping(object, keep, keys_.get());  // the kept fields only, without a copy
  if (!indexLabel.empty()) {
    if (const std::string* value = findLabel(object, indexLabel)) {
      packed.indexValue = *value;
    }
  }
  return packed;
}

json ObjectCache::unpack(const Stored& stored) const {
  return unpackKeeping(stored.packed, keys_.get());
}

std::vector<json> ObjectCache::list(const ResourceType& type, const std::string& ns,
                                    const std::map<std::string, std::string>& labels) const {
  return listIf(type, ns, [&labels](const json& object) {
    for (const auto& [key, value] : labels) {
      const std::string* v = findLabel(object, key);
      if (v == nullptr || *v != value) {
        return false;
      }
    }
    return true;
  });
}

std::vector<json> ObjectCache::listIf(const ResourceType& type, const std::string& ns,
                                      const std::function<bool(const json&)>& keep) const {
  std::vector<json> out;
  std::shared_lock<std::shared_mutex> lock(objectsMu_);
  forEach(type, ns, [&](const std::string&, const Stored& stored) {
    json object = unpack(stored);
    if (keep(object)) {
      out.push_back(std::move(object));
    }
  });
  return out;
}

std::vector<std::string> ObjectCache::names(const ResourceType& type,
                                           const std::string& ns) const {
  std::vector<std::string> out;
  std::shared_lock<std::shared_mutex> lock(objectsMu_);
  forEach(type, ns, [&](const std::string& name, const Stored&) { out.push_back(name); });
  return out;
}

std::vector<json> ObjectCache::listIndexed(const ResourceType& type, const std::string& ns,
                                           const std::string& value,
                                           const std::function<bool(const json&)>& keep) const {
  const std::string& label = options_.indexLabel;
  if (label.empty() || ns.empty() || indexLabelOf(type).empty()) {
    return listIf(type, ns, [&](const json& object) {
      const std::string* v = findLabel(object, label);
      return v != nullptr && *v == value && keep(object);
    });
  }
  std::vector<json> out;
  std::shared_lock<std::shared_mutex> lock(objectsMu_);
  const auto byType = objects_.find(type.plural);
  if (byType == objects_.end()) {
    return out;
  }
  const auto byNs = byType->second.find(ns);
  if (byNs == byType->second.end()) {
    return out;
  }
  std::vector<const std::string*> names;
  for (auto [it, end] = byNs->second.byIndex.equal_range(value); it != end; ++it) {
    names.push_back(it->second);
  }
  std::sort(names.begin(), names.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  for (const std::string* name : names) {
    const auto stored = byNs->second.byName.find(*name);
    if (stored == byNs->second.byName.end()) {
      continue;
    }
    json object = unpack(stored->second);
    if (keep(object)) {
      out.push_back(std::move(object));
    }
  }
  return out;
}

bool ObjectCache::synced() const { return health().synced; }

bool ObjectCache::waitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(stateMu_);
  auto allListed = [this] {
    return !types_.empty() && std::all_of(types_.begin(), types_.end(),
                                          [](const TypeState& t) { return t.listed; });
  };
  stateChanged_.wait_for(lock, timeout, [&] { return allListed() || stopping_; });
  return allListed();
}

MonotonicTime ObjectCache::lastEvent() const {
  std::lock_guard<std::mutex> lock(stateMu_);
  return lastEvent_.value_or(MonotonicTime{});
}

ObjectCacheHealth ObjectCache::health() const {
  const MonotonicTime now = time_->monotonicTime();
  std::lock_guard<std::mutex> lock(stateMu_);
  ObjectCacheHealth h;
  h.running = started_ && !stopping_;
  h.synced = !types_.empty() && std::all_of(types_.begin(), types_.end(),
                                            [](const TypeState& t) { return t.listed; });
  const bool failingTooLong =
      std::any_of(types_.begin(), types_.end(), [&](const TypeState& t) {
        return t.failingSince && now - *t.failingSince >= options_.unhealthyAfter;
      });
  h.healthy = h.running && h.synced && !failingTooLong;
  if (lastEvent_) {
    h.sinceLastEvent = std::chrono::duration_cast<std::chrono::milliseconds>(now - *lastEvent_);
  }
  h.lastError = lastError_;
  h.lists = lists_;
  h.watches = watches_;
  h.events = events_;
  return h;
}

void ObjectCache::run(size_t index) {
  const ResourceType type = options_.types[index];
  std::string resourceVersion;
  bool needList = true;
  int failures = 0;
  int goneStreak = 0;  // 410s in a row with no event applied in between
  while (true) {
    {
      std::lock_guard<std::mutex> lock(stateMu_);
      if (stopping_) {
        return;
      }
    }
    if (needList) {
      bool relisting = false;
      {
        std::lock_guard<std::mutex> lock(stateMu_);
        relisting = types_[index].listed;
      }
      std::vector<Change> changes;
      const auto listStarted = std::chrono::steady_clock::now();
      auto listed = relist(type, relisting ? &changes : nullptr);
      if (!listed.isOk()) {
        if (cancel_.cancelled()) {
          return;
        }
        recordFailure(index, listed.status());
        if (!waitBeforeRetry(backoff(++failures))) {
          return;
        }
        continue;
      }
      resourceVersion = *listed;
      needList = false;
      spdlog::info("kube cache: {} {} listed in {} ms", relisting ? "relist of" : "first list of",
                   type.plural,
                   std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - listStarted)
                       .count());
      failures = 0;
      for (const auto& change : changes) {
        notify(type, change.object, change.deleted);
      }
      std::lock_guard<std::mutex> lock(stateMu_);
      types_[index].listed = true;
      types_[index].failingSince.reset();
      lastEvent_ = time_->monotonicTime();
      ++lists_;
      stateChanged_.notify_all();
    }

    WatchOptions watchOptions;
    watchOptions.labelSelector = selectorFor(type);
    watchOptions.resourceVersion = resourceVersion;
    watchOptions.allowWatchBookmarks = true;
    watchOptions.timeoutSeconds = options_.watchTimeoutSeconds;
    if (keepFieldsOf(type) != nullptr) {
      watchOptions.objectFields = options_.keepFieldsFor.at(type.plural);  // what is packed
    }
    {
      std::lock_guard<std::mutex> lock(stateMu_);
      ++watches_;
    }
    uint64_t applied = 0;
    const auto started = std::chrono::steady_clock::now();
    Status status = client_->watch(
        type, options_.nameSpace, watchOptions,
        [&](const WatchEvent& event) {
          if (event.type == WatchEventType::Error) {
            return;  // watch() returns it as its status
          }
          apply(type, event, resourceVersion);
          goneStreak = 0;
          if (event.type != WatchEventType::Bookmark) {
            notify(type, event.object, event.type == WatchEventType::Deleted);
          }
          ++applied;
          failures = 0;
          std::lock_guard<std::mutex> lock(stateMu_);
          types_[index].failingSince.reset();
          lastEvent_ = time_->monotonicTime();
          ++events_;
        },
        &cancel_);
    if (cancel_.cancelled()) {
      return;
    }
    if (status.isOk()) {
      if (applied == 0 && std::chrono::steady_clock::now() - started < kShortStream) {
        // Ended at once: resume, but not in a tight loop.
        spdlog::debug("kube cache: watch {} ended at once; resuming after a pause", type.plural);
        if (!waitBeforeRetry(backoff(++failures))) {
          return;
        }
      } else {
        failures = 0;  // a stream that ran its course
        recordSuccess(index);
      }
      continue;  // resume from the last resourceVersion
    }
    if (isGone(status)) {
      spdlog::info("kube cache: {} resourceVersion {} expired, listing again", type.plural,
                   resourceVersion);
      needList = true;
      // A server that answers 410 again and again (nothing applied in between) must not get
      // a tight list loop; the pause stays short, as a relist is then the only way to catch up.
      if (goneStreak++ > 0 &&
          !waitBeforeRetry(std::min(backoff(goneStreak - 1), kMaxGoneBackoff))) {
        return;
      }
      continue;
    }
    recordFailure(index, status);
    if (!waitBeforeRetry(backoff(++failures))) {
      return;
    }
  }
}

StatusOr<std::string> ObjectCache::relist(const ResourceType& type,
                                          std::vector<Change>* changes) {
  // Each page is packed as it arrives, straight from its text (no json tree is built): at
  // 10,000 pods the answer is ~45 MB of JSON, the kept fields packed ~6 MB.
  TypeObjects fresh;
  std::string resourceVersion;
  ListOptions listOptions;
  listOptions.labelSelector = selectorFor(type);
  listOptions.limit = kListPageSize;
  if (changes == nullptr) {
    // The first list, as client-go's reflector makes it: from the API server's watch cache,
    // in one answer (pages of 500 from etcd where there is no watch cache). The watch then
    // resumes from that list's resourceVersion. A relist after 410 Gone must not go back in
    // time, and reads the latest state.
    listOptions.resourceVersion = "0";
  }
  const FieldMask* keep = keepFieldsOf(type);
  if (keep != nullptr) {
    listOptions.itemFields = options_.keepFieldsFor.at(type.plural);
  }
  do {
    ASSIGN_OR_RETURN(std::string text,
                     client_->listText(type, options_.nameSpace, listOptions));
    auto page = packListItems(text, keep, indexLabelOf(type), keys_.get());
    if (!page.isOk()) {
      return internalError("list " + type.plural + ": " + page.status().message());
    }
    text = std::string();  // before the next page arrives
    if (resourceVersion.empty()) {
      resourceVersion = page->resourceVersion;
    }
    listOptions.continueToken = page->continueToken;
    listOptions.resourceVersion.clear();  // a continue token carries it
    const bool indexed = !indexLabelOf(type).empty();
    {
      // One scope for the page (the objects' own is then free): only copies are made in it,
      // the page's items are freed after it.
      HeapArenaScope longLived(longLivedHeapArena());
      for (const PackedListItem& item : page->items) {
        if (!item.name.empty()) {
          fresh[item.nameSpace].add(item.name, item.packed, indexed ? item.label : kNoIndex);
        }
      }
    }
  } while (!listOptions.continueToken.empty());
  if (resourceVersion.empty()) {
    return internalError("list " + type.plural + ": the answer has no resourceVersion");
  }

  TypeObjects previous;
  {
    std::unique_lock<std::shared_mutex> lock(objectsMu_);
    previous = std::exchange(objects_[type.plural], std::move(fresh));
  }
  if (changes != nullptr) {
    std::shared_lock<std::shared_mutex> lock(objectsMu_);
    const TypeObjects& now = objects_.at(type.plural);
    for (const auto& [ns, objects] : now) {
      const auto before = previous.find(ns);
      for (const auto& [name, stored] : objects.byName) {
        // The packed objects carry their resourceVersion: equal bytes, no change.
        const Stored* old = nullptr;
        if (before != previous.end()) {
          const auto it = before->second.byName.find(name);
          old = it != before->second.byName.end() ? &it->second : nullptr;
        }
        if (old == nullptr || old->packed != stored.packed) {
          changes->push_back({unpack(stored), false});
        }
      }
    }
    for (const auto& [ns, objects] : previous) {
      const auto after = now.find(ns);
      for (const auto& [name, stored] : objects.byName) {
        if (after == now.end() || after->second.byName.count(name) == 0) {
          changes->push_back({unpack(stored), true});  // gone while the watch was down
        }
      }
    }
  }
  return resourceVersion;
}

void ObjectCache::setListener(ObjectListener listener) {
  std::lock_guard<std::mutex> lock(listenerMu_);
  listener_ = std::move(listener);
}

void ObjectCache::notify(const ResourceType& type, const json& object, bool deleted) {
  std::lock_guard<std::mutex> lock(listenerMu_);
  if (listener_) {
    listener_(type, object, deleted);
  }
}

void ObjectCache::apply(const ResourceType& type, const WatchEvent& event,
                        std::string& resourceVersion) {
  const std::string rv = metadataString(event.object, "resourceVersion");
  if (event.type != WatchEventType::Bookmark) {
    const std::string name = metadataString(event.object, "name");
    const std::string ns = metadataString(event.object, "namespace");
    if (!name.empty()) {
      Packed packed;
      if (event.type != WatchEventType::Deleted) {
        packed = pack(event.object, keepFieldsOf(type), indexLabelOf(type));
      }
      std::unique_lock<std::shared_mutex> lock(objectsMu_);
      TypeObjects& objects = objects_[type.plural];
      auto byNs = objects.find(ns);
      if (byNs == objects.end() && event.type != WatchEventType::Deleted) {
        byNs = objects.emplace(ns, NamespaceObjects{}).first;
      }
      if (byNs != objects.end()) {
        const auto old = byNs->second.byName.find(name);
        if (old != byNs->second.byName.end()) {
          byNs->second.erase(old);
        }
        if (event.type != WatchEventType::Deleted) {
          byNs->second.add(name, packed.packed, packed.indexValue);
        } else if (byNs->second.byName.empty()) {
          objects.erase(byNs);
        }
      }
    }
  }
  if (!rv.empty()) {
    resourceVersion = rv;
  }
}

void ObjectCache::recordFailure(size_t index, const Status& status) {
  spdlog::warn("kube cache: list/watch {} failed: {}", options_.types[index].plural,
               status.toString());
  std::lock_guard<std::mutex> lock(stateMu_);
  if (!types_[index].failingSince) {
    types_[index].failingSince = time_->monotonicTime();
  }
  lastError_ = options_.types[index].plural + ": " + status.toString();
}

void ObjectCache::recordSuccess(size_t index) {
  std::lock_guard<std::mutex> lock(stateMu_);
  types_[index].failingSince.reset();
}

const FieldMask* ObjectCache::keepFieldsOf(const ResourceType& type) const {
  const auto it = options_.keepFieldsFor.find(type.plural);
  return it != options_.keepFieldsFor.end() && it->second != nullptr ? it->second.get() : nullptr;
}

const std::string& ObjectCache::indexLabelOf(const ResourceType& type) const {
  static const std::string none;
  if (options_.indexedTypes.empty() || options_.indexedTypes.count(type.plural) != 0) {
    return options_.indexLabel;
  }
  return none;
}

const std::string& ObjectCache::selectorFor(const ResourceType& type) const {
  const auto it = options_.labelSelectorFor.find(type.plural);
  return it != options_.labelSelectorFor.end() ? it->second : options_.labelSelector;
}

bool ObjectCache::waitBeforeRetry(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(stateMu_);
  return !stateChanged_.wait_for(lock, delay, [this] { return stopping_; });
}

std::chrono::milliseconds ObjectCache::backoff(int failures) const {
  return jitteredBackoff(options_.minBackoff, options_.maxBackoff, failures);
}

}  // namespace sandboxd
