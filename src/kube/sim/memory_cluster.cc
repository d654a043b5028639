// An in-process imitation of the Kubernetes API server and the controllers sandboxd relies on.
// Fidelity targets what sandboxd's users would notice (see the header); everything else is
// deliberately simple.
#include "kube/sim/memory_cluster.h"
#include "sandboxd/kube/label_selector.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <set>
#include <limits>
#include <iomanip>
#include <functional>
#include <sstream>
#include <tuple>

namespace sandboxd {
namespace {

using Key = std::tuple<std::string, std::string, std::string>;  // plural, ns, name

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool isWorkload(const std::string& plural) {
  return plural == "statefulsets" || plural == "deployments";
}

// Strategic-merge patch, to the extent sandboxd uses it: objects merge recursively, null
// deletes a field, lists of objects with a "name" merge by name ("$patch": "delete" removes
// an element), other lists are replaced.
void strategicMerge(json& target, const json& patch) {
  if (!patch.is_object()) {
    target = patch;
    return;
  }
  if (!target.is_object()) {
    target = json::object();
  }
  for (const auto& [key, value] : patch.items()) {
    if (value.is_null()) {
      target.erase(key);
    } else if (value.is_array() && !value.empty() && value[0].is_object() &&
               value[0].contains("name")) {
      json& list = target[key];
      if (!list.is_array()) {
        list = json::array();
      }
      for (const auto& element : value) {
        const std::string name = element.value("name", "");
        bool remove = element.value("$patch", "") == "delete";
        auto it = std::find_if(list.begin(), list.end(), [&](const json& e) {
          return e.is_object() && e.value("name", "") == name;
        });
        if (remove) {
          if (it != list.end()) {
            list.erase(it);
          }
        } else if (it != list.end()) {
          strategicMerge(*it, element);
        } else {
          json fresh = json::object();
          strategicMerge(fresh, element);
          list.push_back(std::move(fresh));
        }
      }
    } else if (value.is_object()) {
      strategicMerge(target[key], value);
    } else {
      target[key] = value;
    }
  }
}

// A selector it does not take (set-based forms): refused rather than matched some other way.
StatusOr<LabelSelector> selectorOf(const std::string& text) {
  auto selector = LabelSelector::parse(text);
  if (!selector) {
    return Status(ErrorKind::InvalidArgument, "unsupported label selector \"" + text + "\"");
  }
  return std::move(*selector);
}

Status apiError(ErrorKind kind, const std::string& message) { return Status(kind, message); }

}  // namespace

struct MemoryCluster::State {
  TimeSourcePtr time;
  MemoryClusterOptions options;
  mutable std::mutex mu;
  std::condition_variable changed;  // an event was logged or a watch must end
  std::map<Key, json> objects;
  // Workloads whose simulated controller has work left (created or changed, pods not Ready
  // yet, a pod or claim of theirs touched). reconcile() visits only these, so a call costs
  // O(unsettled workloads × log objects), not O(workloads × pods).
  std::set<Key> unsettled;
  // An unsettled workload that only waits for its pod's readyDelay is not visited before then.
  std::map<Key, MonotonicTime> waitUntil;
  // Pod template hash per workload and generation (the template changes only with it).
  std::map<Key, std::pair<int64_t, std::string>> templateHashes;
  struct LoggedEvent {
    int64_t rv;
    std::string plural;
    std::string ns;
    WatchEventType type;
    json object;
    json previous;  // the labels before a modification (null for Added/Deleted)
  };
  std::deque<LoggedEvent> history;
  int64_t historyFloor = 100;  // watches may resume from any rv >= this
  uint64_t endGeneration = 0;
  uint64_t bookmarkGeneration = 0;
  int goneNext = 0;
  int openWatches = 0;
  std::map<std::string, MonotonicTime> podCreated;  // "ns/name" → when
  std::map<std::string, std::string> podFailures;   // workload → waiting reason
  bool pvcPending = false;
  int64_t resourceVersion = 100;
  int64_t uidCounter = 0;
  struct Failure {
    std::string verb;
    std::string kind;
    Status status;
    int times;
  };
  std::deque<Failure> failures;
  std::map<std::string, int> calls;

  std::string nextRv() { return std::to_string(++resourceVersion); }

  std::string newUid() {
    std::ostringstream out;
    out << "00000000-0000-4000-8000-" << std::setw(12) << std::setfill('0') << ++uidCounter;
    return out.str();
  }

  Status injected(const std::string& verb, const std::string& kind) {
    ++calls[verb];
    for (auto it = failures.begin(); it != failures.end(); ++it) {
      if ((it->verb == verb || it->verb == "*") && (it->kind == kind || it->kind == "*")) {
        Status s = it->status;
        if (--it->times <= 0) {
          failures.erase(it);
        }
        return s;
      }
    }
    return Status::ok();
  }

  json* find(const std::string& plural, const std::string& ns, const std::string& name) {
    auto it = objects.find({plural, ns, name});
    return it == objects.end() ? nullptr : &it->second;
  }

  // `previous` is kept only as far as watches need it: its labels (a label change moves an
  // object in or out of a filtered watch).
  void logEvent(WatchEventType type, const std::string& plural, const std::string& ns,
                const json& object, const json& previous) {
    json before;
    if (previous.is_object()) {
      const auto meta = previous.find("metadata");
      before = {{"metadata", {{"labels", meta != previous.end() && meta->is_object()
                                             ? meta->value("labels", json::object())
                                             : json::object()}}}};
    }
    history.push_back({resourceVersion, plural, ns, type, object, std::move(before)});
    while (history.size() > std::max<size_t>(1, options.watchHistory)) {
      historyFloor = history.front().rv;
      history.pop_front();
    }
    changed.notify_all();
  }

  void store(const std::string& plural, const std::string& ns, json object) {
    object["metadata"]["resourceVersion"] = nextRv();
    std::string name = object["metadata"]["name"].get<std::string>();
    auto it = objects.find({plural, ns, name});
    if (it == objects.end()) {
      objects.emplace(Key{plural, ns, name}, object);
      logEvent(WatchEventType::Added, plural, ns, object, json());
      return;
    }
    json previous = std::move(it->second);
    it->second = object;
    logEvent(WatchEventType::Modified, plural, ns, object, previous);
  }

  // Gives a changed object (status only: labels unchanged) the next resourceVersion.
  void bump(json& object, const std::string& plural, const std::string& ns) {
    object["metadata"]["resourceVersion"] = nextRv();
    logEvent(WatchEventType::Modified, plural, ns, object, object);
  }

  void erase(const Key& key) {
    auto it = objects.find(key);
    if (it == objects.end()) {
      return;
    }
    json last = std::move(it->second);
    objects.erase(it);
    last["metadata"]["resourceVersion"] = nextRv();
    logEvent(WatchEventType::Deleted, std::get<0>(key), std::get<1>(key), last, json());
    if (isWorkload(std::get<0>(key))) {
      // Garbage collection: the workload's pods go with it.
      unsettled.erase(key);
      const std::string kind = last.value("kind", "");
      for (const Key& pod : podsOf(std::get<1>(key), std::get<2>(key), kind)) {
        podCreated.erase(std::get<1>(pod) + "/" + std::get<2>(pod));
        erase(pod);
      }
    }
  }

  // Pods owned by workload `name` of `kind`. Their names start with "<name>-" (StatefulSet
  // ordinal, ReplicaSet hash), so only that range of the map is visited.
  std::vector<Key> podsOf(const std::string& ns, const std::string& name,
                          const std::string& kind) const {
    std::vector<Key> pods;
    const std::string prefix = name + "-";
    for (auto it = objects.lower_bound({"pods", ns, prefix});
         it != objects.end() && std::get<0>(it->first) == "pods" &&
         std::get<1>(it->first) == ns && std::get<2>(it->first).compare(0, prefix.size(),
                                                                         prefix) == 0;
         ++it) {
      const auto meta = it->second.find("metadata");
      if (meta == it->second.end()) {
        continue;
      }
      for (const auto& owner : meta->value("ownerReferences", json::array())) {
        if (owner.value("name", "") == name && owner.value("kind", "") == kind) {
          pods.push_back(it->first);
          break;
        }
      }
    }
    return pods;
  }

  // An API write touched (plural, ns, name): the workloads it concerns have work to do.
  void touched(const std::string& plural, const std::string& ns, const std::string& name,
               const json& object) {
    if (isWorkload(plural)) {
      unsettled.insert({plural, ns, name});
      waitUntil.erase({plural, ns, name});
      return;
    }
    if (plural == "pods" && object.contains("metadata")) {
      for (const auto& owner : object["metadata"].value("ownerReferences", json::array())) {
        const std::string kind = owner.value("kind", "");
        if (kind == "StatefulSet" || kind == "Deployment") {
          const Key workload{kind == "StatefulSet" ? "statefulsets" : "deployments", ns,
                             owner.value("name", "")};
          unsettled.insert(workload);
          waitUntil.erase(workload);
        }
      }
      return;
    }
    if (plural == "persistentvolumeclaims") {
      // A claim is "<template>-<statefulset>-<ordinal>": any StatefulSet whose name it holds.
      for (auto it = objects.lower_bound({"statefulsets", ns, ""});
           it != objects.end() && std::get<0>(it->first) == "statefulsets" &&
           std::get<1>(it->first) == ns;
           ++it) {
        if (name.find("-" + std::get<2>(it->first) + "-") != std::string::npos) {
          unsettled.insert(it->first);
          waitUntil.erase(it->first);
        }
      }
    }
  }

  void touchAllWorkloads() {
    for (const auto& [key, object] : objects) {
      if (isWorkload(std::get<0>(key))) {
        unsettled.insert(key);
      }
    }
    waitUntil.clear();
  }

  json newObject(const ResourceType& type, const std::string& ns, json object) {
    object["apiVersion"] = type.apiVersion;
    object["kind"] = type.kind;
    auto& meta = object["metadata"];
    if (type.namespaced) {
      meta["namespace"] = ns;
    }
    meta["uid"] = newUid();
    meta["creationTimestamp"] = formatRfc3339(time->systemTime());
    meta.erase("resourceVersion");
    if (isWorkload(type.plural)) {
      meta["generation"] = 1;
      if (!object["spec"].contains("replicas")) {
        object["spec"]["replicas"] = 1;
      }
      object["status"] = json::object();
    }
    if (type.plural == "secrets" && object.contains("stringData")) {
      for (const auto& [k, v] : object["stringData"].items()) {
        object["data"][k] = base64(v.get<std::string>());
      }
      object.erase("stringData");
    }
    return object;
  }

  // Runs the simulated controllers up to now (for the workloads that have work left).
  void reconcile() {
    if (unsettled.empty()) {
      return;
    }
    MonotonicTime now = time->monotonicTime();
    std::vector<Key> workloads;
    for (const Key& key : unsettled) {
      const auto wait = waitUntil.find(key);
      if (wait == waitUntil.end() || wait->second <= now) {
        workloads.push_back(key);
      }
    }
    for (const auto& key : workloads) {
      waitUntil.erase(key);
      if (objects.count(key) == 0 || reconcileWorkload(key, now)) {
        unsettled.erase(key);
        templateHashes.erase(key);
      }
    }
  }

  // Returns true when the workload is settled: nothing will change without a new write.
  bool reconcileWorkload(const Key& key, MonotonicTime now) {
    const auto& [plural, ns, name] = key;
    json& workload = objects[key];
    bool sts = plural == "statefulsets";
    int desired = workload["spec"].value("replicas", 1);
    const int64_t generation = workload["metadata"].value("generation", int64_t{1});
    auto& cachedHash = templateHashes[key];
    if (cachedHash.second.empty() || cachedHash.first != generation) {
      cachedHash = {generation, std::to_string(std::hash<std::string>{}(
                                                   workload["spec"]["template"].dump()) %
                                               100000000)};
    }
    const std::string templateHash = cachedHash.second;
    std::string podName = sts ? name + "-0" : name + "-" + templateHash + "-x7k2p";

    // Pods of this workload (by owner).
    const std::vector<Key> pods = podsOf(ns, name, workload.value("kind", ""));
    // Outdated pods (old template) and surplus pods go away.
    for (const auto& k : pods) {
      const json& pod = objects[k];
      std::string hash = pod["metadata"]["labels"].value("controller-revision-hash", "");
      if (desired == 0 || hash != templateHash) {
        podCreated.erase(ns + "/" + std::get<2>(k));
        erase(k);
      }
    }

    bool pvcBound = true;
    if (sts && desired > 0) {
      for (const auto& vct : workload["spec"].value("volumeClaimTemplates", json::array())) {
        std::string pvcName = vct["metadata"].value("name", "") + "-" + name + "-0";
        json* pvc = find("persistentvolumeclaims", ns, pvcName);
        if (pvc == nullptr) {
          json object = {{"metadata",
                          {{"name", pvcName},
                           {"labels", workload["spec"]["selector"].value("matchLabels",
                                                                         json::object())}}},
                         {"spec", vct["spec"]},
                         {"status", {{"phase", pvcPending ? "Pending" : "Bound"}}}};
          if (!pvcPending) {
            object["spec"]["volumeName"] = "pv-" + pvcName;
            object["status"]["capacity"] = vct["spec"]["resources"]["requests"];
            object["status"]["accessModes"] = vct["spec"]["accessModes"];
          }
          store("persistentvolumeclaims", ns,
                newObject(resources::persistentVolumeClaims(), ns, std::move(object)));
          pvc = find("persistentvolumeclaims", ns, pvcName);
        }
        pvcBound = pvcBound && (*pvc)["status"].value("phase", "") == "Bound";
      }
    }

    int ready = 0;
    if (desired > 0) {
      json* pod = find("pods", ns, podName);
      if (pod == nullptr) {
        json labels = workload["spec"]["template"]["metadata"].value("labels", json::object());
        labels["controller-revision-hash"] = templateHash;
        if (sts) {
          labels["statefulset.kubernetes.io/pod-name"] = podName;
        }
        json spec = workload["spec"]["template"]["spec"];
        if (sts) {
          for (const auto& vct : workload["spec"].value("volumeClaimTemplates", json::array())) {
            std::string vname = vct["metadata"].value("name", "");
            spec["volumes"].push_back(
                {{"name", vname},
                 {"persistentVolumeClaim", {{"claimName", vname + "-" + name + "-0"}}}});
          }
        }
        json object = {
            {"metadata",
             {{"name", podName},
              {"labels", labels},
              {"ownerReferences",
               json::array({{{"apiVersion", "apps/v1"},
                             {"kind", workload["kind"]},
                             {"name", name},
                             {"uid", workload["metadata"]["uid"]},
                             {"controller", true}}})}}},
            {"spec", spec},
            {"status", {{"phase", "Pending"}}}};
        store("pods", ns, newObject(resources::pods(), ns, std::move(object)));
        podCreated[ns + "/" + podName] = now;
        pod = find("pods", ns, podName);
      }
      ready = updatePodStatus(*pod, ns, name, now, pvcBound) ? 1 : 0;
      const MonotonicTime due = podCreated[ns + "/" + podName] + options.readyDelay;
      if (ready == 0 && pvcBound && podFailures.count(name) == 0 && due > now) {
        waitUntil[key] = due;  // nothing to do for it before then
      }
    }

    json status = {{"observedGeneration", workload["metadata"].value("generation", 1)},
                   {"replicas", desired > 0 ? 1 : 0},
                   {"readyReplicas", ready},
                   {"availableReplicas", ready},
                   {"updatedReplicas", desired > 0 ? 1 : 0}};
    if (sts) {
      status["currentReplicas"] = desired > 0 ? 1 : 0;
      status["currentRevision"] = name + "-" + templateHash;
      status["updateRevision"] = name + "-" + templateHash;
    }
    if (workload["status"] != status) {
      workload["status"] = status;
      bump(workload, plural, ns);
    }
    return desired == 0 || ready == 1;
  }

  // Returns true when the pod is Ready.
  bool updatePodStatus(json& pod, const std::string& ns, const std::string& workload,
                       MonotonicTime now, bool pvcBound) {
    json status;
    auto failure = podFailures.find(workload);
    bool due = now - podCreated[ns + "/" + pod["metadata"]["name"].get<std::string>()] >=
               options.readyDelay;
    if (!pvcBound || (failure != podFailures.end() && failure->second == "Unschedulable")) {
      std::string message = !pvcBound ? "0/1 nodes are available: pod has unbound immediate "
                                        "PersistentVolumeClaims."
                                      : "0/1 nodes are available: 1 Insufficient cpu.";
      status = {{"phase", "Pending"},
                {"conditions",
                 json::array({{{"type", "PodScheduled"},
                               {"status", "False"},
                               {"reason", "Unschedulable"},
                               {"message", message}}})}};
    } else if (failure != podFailures.end()) {
      status = {{"phase", "Pending"},
                {"conditions", json::array({{{"type", "PodScheduled"}, {"status", "True"}},
                                            {{"type", "Ready"}, {"status", "False"}}})},
                {"containerStatuses",
                 json::array({{{"name", "sandbox"},
                               {"ready", false},
                               {"restartCount", failure->second == "CrashLoopBackOff" ? 3 : 0},
                               {"state",
                                {{"waiting",
                                  {{"reason", failure->second},
                                   {"message", "simulated " + failure->second}}}}}}})}};
    } else if (!due) {
      status = {{"phase", "Pending"},
                {"conditions", json::array({{{"type", "PodScheduled"}, {"status", "True"}},
                                            {{"type", "Ready"}, {"status", "False"}}})},
                {"containerStatuses",
                 json::array({{{"name", "sandbox"},
                               {"ready", false},
                               {"restartCount", 0},
                               {"state", {{"waiting", {{"reason", "ContainerCreating"}}}}}}})}};
    } else {
      status = {{"phase", "Running"},
                {"conditions", json::array({{{"type", "PodScheduled"}, {"status", "True"}},
                                            {{"type", "Ready"}, {"status", "True"}}})},
                {"containerStatuses",
                 json::array({{{"name", "sandbox"},
                               {"ready", true},
                               {"restartCount", 0},
                               {"state", {{"running", json::object()}}}}})}};
    }
    if (pod["status"] != status) {
      pod["status"] = status;
      bump(pod, "pods", ns);
    }
    return status.value("phase", "") == "Running";
  }
};

MemoryCluster::MemoryCluster(TimeSourcePtr time, MemoryClusterOptions options)
    : state_(std::make_unique<State>()) {
  state_->time = std::move(time);
  state_->options = options;
}

MemoryCluster::~MemoryCluster() = default;

StatusOr<json> MemoryCluster::get(const ResourceType& type, const std::string& ns,
                                  const std::string& name, const std::string& subresource) {
  std::lock_guard<std::mutex> lock(state_->mu);
  RETURN_IF_ERROR(state_->injected("get", type.kind));
  state_->reconcile();
  json* object = state_->find(type.plural, ns, name);
  if (object == nullptr) {
    return apiError(ErrorKind::NotFound, type.plural + " \"" + name + "\" not found");
  }
  if (subresource == "scale" && isWorkload(type.plural)) {
    return json{{"apiVersion", "autoscaling/v1"},
                {"kind", "Scale"},
                {"metadata",
                 {{"name", name},
                  {"namespace", ns},
                  {"resourceVersion", (*object)["metadata"]["resourceVersion"]}}},
                {"spec", {{"replicas", (*object)["spec"].value("replicas", 1)}}},
                {"status", {{"replicas", (*object)["status"].value("replicas", 0)}}}};
  }
  if (!subresource.empty() && subresource != "status") {
    return apiError(ErrorKind::NotFound, "subresource " + subresource + " not found");
  }
  return *object;
}

// Pages as the API server does: at most `limit` items, and metadata.continue (where the next
// page starts: the namespace and name of the last item) when more remain; resourceVersion "0"
// answers everything at once, as the API server's watch cache does. A page is taken under the
// lock every other call waits on, so a pass listing 10,000 objects of each kind no longer
// holds up requests for the whole list. Unlike the API server's, a later page shows the
// objects as they are then rather than as of the first page: an object that exists throughout
// is listed exactly once; one made or removed in between may be listed or not.
StatusOr<json> MemoryCluster::list(const ResourceType& type, const std::string& ns,
                                   const ListOptions& options) {
  std::lock_guard<std::mutex> lock(state_->mu);
  RETURN_IF_ERROR(state_->injected("list", type.kind));
  state_->reconcile();
  auto it = state_->objects.lower_bound({type.plural, ns, ""});
  if (!options.continueToken.empty()) {
    const std::string& token = options.continueToken;
    const auto slash = token.find('/');
    if (slash == std::string::npos || (!ns.empty() && token.compare(0, slash, ns) != 0)) {
      return apiError(ErrorKind::InvalidArgument, "invalid continue token \"" + token + "\"");
    }
    it = state_->objects.upper_bound({type.plural, token.substr(0, slash), token.substr(slash + 1)});
  }
  const size_t limit = options.limit > 0 && options.resourceVersion != "0"
                           ? static_cast<size_t>(options.limit)
                           : std::numeric_limits<size_t>::max();
  ASSIGN_OR_RETURN(const LabelSelector selector, selectorOf(options.labelSelector));
  json items = json::array();
  std::string next;
  const Key* last = nullptr;
  for (; it != state_->objects.end() && std::get<0>(it->first) == type.plural &&
         (ns.empty() || std::get<1>(it->first) == ns);
       ++it) {
    if (!selector.matches(it->second)) {
      continue;
    }
    if (items.size() == limit) {
      next = std::get<1>(*last) + "/" + std::get<2>(*last);
      break;
    }
    // Only the fields the caller reads, as the REST client parses them.
    items.push_back(options.itemFields != nullptr ? maskedCopy(it->second, *options.itemFields)
                                                  : it->second);
    last = &it->first;
  }
  json metadata = {{"resourceVersion", std::to_string(state_->resourceVersion)}};
  if (!next.empty()) {
    metadata["continue"] = next;
  }
  return json{{"apiVersion", type.apiVersion},
              {"kind", type.kind + "List"},
              {"metadata", std::move(metadata)},
              {"items", std::move(items)}};
}

StatusOr<json> MemoryCluster::create(const ResourceType& type, const std::string& ns,
                                     const json& object, const WriteOptions& options) {
  std::lock_guard<std::mutex> lock(state_->mu);
  RETURN_IF_ERROR(state_->injected("create", type.kind));
  state_->reconcile();
  if (!object.is_object() || !object.contains("metadata") ||
      !object["metadata"].value("name", "").size()) {
    return apiError(ErrorKind::InvalidArgument,
                    type.kind + " is invalid: metadata.name: Required value");
  }
  if (object.value("kind", type.kind) != type.kind) {
    return apiError(ErrorKind::InvalidArgument, "kind does not match the resource");
  }
  std::string name = object["metadata"]["name"];
  if (state_->find(type.plural, ns, name) != nullptr) {
    return apiError(ErrorKind::AlreadyExists,
                    type.plural + " \"" + name + "\" already exists");
  }
  json stored = state_->newObject(type, ns, object);
  if (options.dryRun) {
    return stored;
  }
  state_->store(type.plural, ns, stored);
  state_->touched(type.plural, ns, name, stored);
  state_->reconcile();
  return *state_->find(type.plural, ns, name);
}

StatusOr<json> MemoryCluster::replace(const ResourceType& type, const std::string& ns,
                                      const std::string& name, const json& object,
                                      const WriteOptions& options) {
  std::lock_guard<std::mutex> lock(state_->mu);
  RETURN_IF_ERROR(state_->injected("replace", type.kind));
  state_->reconcile();
  json* current = state_->find(type.plural, ns, name);
  if (current == nullptr) {
    return apiError(ErrorKind::NotFound, type.plural + " \"" + name + "\" not found");
  }
  std::string rv = object["metadata"].value("resourceVersion", "");
  if (!rv.empty() && rv != (*current)["metadata"]["resourceVersion"]) {
    return apiError(ErrorKind::Aborted, "Operation cannot be fulfilled on " + type.plural +
                                            " \"" + name + "\": the object has been modified");
  }
  json next = object;
  next["metadata"]["uid"] = (*current)["metadata"]["uid"];
  next["metadata"]["creationTimestamp"] = (*current)["metadata"]["creationTimestamp"];
  if (isWorkload(type.plural)) {
    int64_t generation = (*current)["metadata"].value("generation", 1);
    next["metadata"]["generation"] =
        next["spec"] != (*current)["spec"] ? generation + 1 : generation;
    next["status"] = (*current)["status"];
  }
  if (options.dryRun) {
    return next;
  }
  state_->store(type.plural, ns, next);
  state_->touched(type.plural, ns, name, next);
  state_->reconcile();
  return *state_->find(type.plural, ns, name);
}

StatusOr<json> MemoryCluster::patch(const ResourceType& type, const std::string& ns,
                                    const std::string& name, PatchType patchType,
                                    const json& patch, const WriteOptions& options,
                                    const std::string& subresource) {
  std::lock_guard<std::mutex> lock(state_->mu);
  RETURN_IF_ERROR(state_->injected("patch", type.kind));
  state_->reconcile();
  json* current = state_->find(type.plural, ns, name);
  if (current == nullptr) {
    return apiError(ErrorKind::NotFound, type.plural + " \"" + name + "\" not found");
  }
  json next = *current;
  if (subresource == "scale") {
    if (!isWorkload(type.plural) || !patch.contains("spec") ||
        !patch["spec"].contains("replicas") || !patch["spec"]["replicas"].is_number_integer()) {
      return apiError(ErrorKind::InvalidArgument, "scale patch must set spec.replicas");
    }
    next["spec"]["replicas"] = patch["spec"]["replicas"];
  } else {
    try {
      switch (patchType) {
        case PatchType::Merge: next.merge_patch(patch); break;
        case PatchType::StrategicMerge: strategicMerge(next, patch); break;
        case PatchType::Json: next = next.patch(patch); break;
      }
    } catch (const json::exception& e) {
      return apiError(ErrorKind::InvalidArgument, std::string("invalid patch: ") + e.what());
    }
  }
  if (type.plural == "secrets" && next.contains("stringData")) {
    for (const auto& [k, v] : next["stringData"].items()) {
      next["data"][k] = base64(v.get<std::string>());
    }
    next.erase("stringData");
  }
  if (isWorkload(type.plural) && next["spec"] != (*current)["spec"]) {
    next["metadata"]["generation"] = (*current)["metadata"].value("generation", 1) + 1;
  }
  if (options.dryRun) {
    return next;
  }
  state_->store(type.plural, ns, next);
  state_->touched(type.plural, ns, name, next);
  state_->reconcile();
  return *state_->find(type.plural, ns, name);
}

StatusOr<json> MemoryCluster::remove(const ResourceType& type, const std::string& ns,
                                     const std::string& name, const DeleteOptions& options) {
  std::lock_guard<std::mutex> lock(state_->mu);
  RETURN_IF_ERROR(state_->injected("delete", type.kind));
  state_->reconcile();
  json* current = state_->find(type.plural, ns, name);
  if (current == nullptr) {
    return apiError(ErrorKind::NotFound, type.plural + " \"" + name + "\" not found");
  }
  if (!options.preconditionUid.empty() &&
      (*current)["metadata"].value("uid", "") != options.preconditionUid) {
    return apiError(ErrorKind::Aborted, "Precondition failed: UID in precondition: " +
                                            options.preconditionUid);
  }
  json removed = *current;
  if (!options.dryRun) {
    state_->erase({type.plural, ns, name});  // a workload's pods go with it
    state_->touched(type.plural, ns, name, removed);
    state_->reconcile();
  }
  return json{{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Success"},
              {"details", {{"name", name}, {"kind", type.plural},
                           {"uid", removed["metadata"]["uid"]}}}};
}

Status MemoryCluster::ping() {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->injected("ping", "*");
}

Status MemoryCluster::watch(const ResourceType& type, const std::string& ns,
                            const WatchOptions& options, const WatchCallback& onEvent,
                            WatchCancellation* cancel) {
  State& st = *state_;
  WatchCancellationSubscription wake(cancel, [&st] {
    { std::lock_guard<std::mutex> lock(st.mu); }
    st.changed.notify_all();
  });
  std::unique_lock<std::mutex> lock(st.mu);
  RETURN_IF_ERROR(st.injected("watch", type.kind));
  st.reconcile();

  auto inScope = [&](const std::string& plural, const std::string& objectNs) {
    return plural == type.plural && (ns.empty() || objectNs == ns);
  };
  ASSIGN_OR_RETURN(const LabelSelector selector, selectorOf(options.labelSelector));
  std::vector<WatchEvent> pending;
  int64_t from = 0;
  if (options.resourceVersion.empty() || options.resourceVersion == "0") {
    for (const auto& [key, object] : st.objects) {
      if (inScope(std::get<0>(key), std::get<1>(key)) &&
          selector.matches(object)) {
        pending.push_back({WatchEventType::Added, object});
      }
    }
    from = st.resourceVersion;
  } else {
    const std::string& rv = options.resourceVersion;
    if (rv.size() > 18 || !std::all_of(rv.begin(), rv.end(),
                                       [](unsigned char c) { return std::isdigit(c); })) {
      return apiError(ErrorKind::InvalidArgument, "invalid resourceVersion \"" + rv + "\"");
    }
    from = std::stoll(rv);
    if (st.goneNext > 0 || from < st.historyFloor) {
      st.goneNext = std::max(0, st.goneNext - 1);
      const std::string message = "too old resource version: " + rv + " (" +
                                  std::to_string(st.historyFloor) + ")";
      json status = {{"kind", "Status"}, {"apiVersion", "v1"},   {"status", "Failure"},
                     {"code", 410},      {"reason", "Expired"}, {"message", message}};
      lock.unlock();
      onEvent({WatchEventType::Error, status});
      return aborted("Gone: watch " + type.plural + ": " + message + " (HTTP 410 Expired)");
    }
  }

  ++st.openWatches;
  struct Closer {
    State& st;
    ~Closer() { --st.openWatches; }
  };
  const uint64_t endGeneration = st.endGeneration;
  uint64_t bookmarkGeneration = st.bookmarkGeneration;
  const MonotonicTime started = st.time->monotonicTime();
  const MonotonicTime deadline = options.timeoutSeconds > 0
                                     ? started + std::chrono::seconds(options.timeoutSeconds)
                                     : MonotonicTime::max();
  MonotonicTime nextBookmark = started + st.options.bookmarkInterval;
  Closer closer{st};
  while (true) {
    auto first = std::upper_bound(
        st.history.begin(), st.history.end(), from,
        [](int64_t rv, const State::LoggedEvent& e) { return rv < e.rv; });
    for (auto e_it = first; e_it != st.history.end(); ++e_it) {
      const auto& e = *e_it;
      from = e.rv;
      if (!inScope(e.plural, e.ns)) {
        continue;
      }
      const bool matchesNow = selector.matches(e.object);
      const bool matchedBefore =
          !e.previous.is_null() && selector.matches(e.previous);
      if (e.type == WatchEventType::Modified && matchesNow != matchedBefore) {
        // Label changes move objects in or out of a filtered watch.
        pending.push_back({matchesNow ? WatchEventType::Added : WatchEventType::Deleted,
                           e.object});
      } else if (matchesNow) {
        pending.push_back({e.type, e.object});
      }
    }
    from = std::max(from, st.resourceVersion);
    if (!pending.empty()) {
      std::vector<WatchEvent> deliver;
      deliver.swap(pending);
      lock.unlock();
      for (const auto& event : deliver) {
        onEvent(event);
      }
      lock.lock();
      continue;
    }
    if ((cancel != nullptr && cancel->cancelled()) || st.endGeneration != endGeneration) {
      return Status::ok();
    }
    const MonotonicTime now = st.time->monotonicTime();
    if (now >= deadline) {
      return Status::ok();
    }
    if (options.allowWatchBookmarks &&
        (st.bookmarkGeneration != bookmarkGeneration || now >= nextBookmark)) {
      bookmarkGeneration = st.bookmarkGeneration;
      nextBookmark = now + st.options.bookmarkInterval;
      pending.push_back({WatchEventType::Bookmark,
                         {{"apiVersion", type.apiVersion},
                          {"kind", type.kind},
                          {"metadata", {{"resourceVersion", std::to_string(from)}}}}});
      continue;
    }
    st.changed.wait_for(lock, st.options.watchPollInterval);
    st.reconcile();
  }
}

void MemoryCluster::expireWatchHistoryForTest() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->history.clear();
  state_->historyFloor = state_->resourceVersion;
  ++state_->endGeneration;
  state_->changed.notify_all();
}

void MemoryCluster::failNextWatchResumeWithGoneForTest(int times) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->goneNext += times;
}

void MemoryCluster::endWatchesForTest() {
  std::lock_guard<std::mutex> lock(state_->mu);
  ++state_->endGeneration;
  state_->changed.notify_all();
}

void MemoryCluster::sendWatchBookmarksForTest() {
  std::lock_guard<std::mutex> lock(state_->mu);
  ++state_->bookmarkGeneration;
  state_->changed.notify_all();
}

int MemoryCluster::openWatchesForTest() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->openWatches;
}

void MemoryCluster::setPodFailureForTest(const std::string& workloadName,
                                         const std::string& reason) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (reason.empty()) {
    state_->podFailures.erase(workloadName);
  } else {
    state_->podFailures[workloadName] = reason;
  }
  state_->touchAllWorkloads();
}

void MemoryCluster::setPvcPendingForTest(bool pending) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->pvcPending = pending;
  state_->touchAllWorkloads();
}

void MemoryCluster::failNextForTest(const std::string& verb, const std::string& kind,
                                    Status status, int times) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->failures.push_back({verb, kind, std::move(status), times});
}

std::map<std::string, int> MemoryCluster::callCountsForTest() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->calls;
}

}  // namespace sandboxd
