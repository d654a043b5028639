// An in-process imitation of the Kubernetes API server and the controllers sandboxd relies on.
// Fidelity targets what sandboxd's users would notice (see the header); everything else is
// deliberately simple. This file holds the KubeClient calls and the test hooks; the stored
// objects are in object_store.cc, the controllers in controllers.cc, watches in watch_stream.cc.
#include "kube/sim/memory_cluster.h"

#include <algorithm>
#include <limits>

#include "kube/sim/cluster_state.h"
#include "sandboxd/common/heap.h"

namespace sandboxd {
namespace kube_sim {

StatusOr<LabelSelector> selectorOf(const std::string& text) {
  auto selector = LabelSelector::parse(text);
  if (!selector) {
    return Status(ErrorKind::InvalidArgument, "unsupported label selector \"" + text + "\"");
  }
  return std::move(*selector);
}

}  // namespace kube_sim

using kube_sim::apiError;
using kube_sim::encodeStringData;
using kube_sim::isWorkload;
using kube_sim::Key;
using kube_sim::selectorOf;

namespace {

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

// metadata.name, or "" where the object has none (create answers that as invalid).
std::string nameOf(const json& object) {
  if (!object.is_object()) {
    return "";
  }
  const auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) {
    return "";
  }
  const auto name = meta->find("name");
  return name != meta->end() && name->is_string() ? name->get<std::string>() : "";
}

}  // namespace

MemoryCluster::MemoryCluster(TimeSourcePtr time, MemoryClusterOptions options)
    : state_(std::make_unique<State>()) {
  state_->time = std::move(time);
  state_->options = options;
  state_->arena = options.separateHeapArena ? separateHeapArena() : -1;
  state_->installSnapshotClass();
}

MemoryCluster::~MemoryCluster() = default;

StatusOr<json> MemoryCluster::get(const ResourceType& type, const std::string& ns,
                                  const std::string& name, const std::string& subresource) {
  HeapArenaScope heap(state_->arena);
  std::lock_guard<std::mutex> lock(state_->mu);
  RETURN_IF_ERROR(state_->admit("get", type.kind));
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
  HeapArenaScope heap(state_->arena);
  std::lock_guard<std::mutex> lock(state_->mu);
  RETURN_IF_ERROR(state_->admit("list", type.kind));
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

// Every write takes this one path, in the API server's order; each verb supplies only how it
// makes the new object from the stored one, and the errors of its own. A dry run answers that
// object and changes nothing. Otherwise it is stored (or, for a delete, the object is removed and
// a workload's pods with it), the workloads it concerns are marked as having work, and the
// controllers run before the stored object is answered.
StatusOr<json> MemoryCluster::write(const std::string& verb, WriteOp op, const ResourceType& type,
                                    const std::string& ns, const std::string& name, bool dryRun,
                                    const MakeObject& make) {
  State& st = *state_;
  HeapArenaScope heap(st.arena);
  std::lock_guard<std::mutex> lock(st.mu);
  RETURN_IF_ERROR(st.admit(verb, type.kind));
  json* current = st.find(type.plural, ns, name);
  if (current == nullptr && op != WriteOp::Create) {
    return apiError(ErrorKind::NotFound, type.plural + " \"" + name + "\" not found");
  }
  ASSIGN_OR_RETURN(json next, make(current));
  if (dryRun) {
    return next;
  }
  if (op == WriteOp::Delete) {
    st.erase({type.plural, ns, name});  // a workload's pods go with it
    st.storageDeleted(type.plural, next);
  } else {
    st.store(type.plural, ns, next);
    if (op == WriteOp::Create) {
      st.storageCreated(type.plural, ns, name);
    }
  }
  st.touched(type.plural, ns, name, next);
  st.reconcile();
  if (op == WriteOp::Delete) {
    return next;
  }
  return *st.find(type.plural, ns, name);
}

StatusOr<json> MemoryCluster::create(const ResourceType& type, const std::string& ns,
                                     const json& object, const WriteOptions& options) {
  const std::string name = nameOf(object);
  return write("create", WriteOp::Create, type, ns, name, options.dryRun,
               [&](json* current) -> StatusOr<json> {
    if (!object.is_object() || !object.contains("metadata") ||
        !object["metadata"].value("name", "").size()) {
      return apiError(ErrorKind::InvalidArgument,
                      type.kind + " is invalid: metadata.name: Required value");
    }
    if (object.value("kind", type.kind) != type.kind) {
      return apiError(ErrorKind::InvalidArgument, "kind does not match the resource");
    }
    if (current != nullptr) {
      return apiError(ErrorKind::AlreadyExists,
                      type.plural + " \"" + name + "\" already exists");
    }
    return state_->newObject(type, ns, object);
  });
}

StatusOr<json> MemoryCluster::replace(const ResourceType& type, const std::string& ns,
                                      const std::string& name, const json& object,
                                      const WriteOptions& options) {
  return write("replace", WriteOp::Update, type, ns, name, options.dryRun,
               [&](json* current) -> StatusOr<json> {
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
    return next;
  });
}

StatusOr<json> MemoryCluster::patch(const ResourceType& type, const std::string& ns,
                                    const std::string& name, PatchType patchType,
                                    const json& patch, const WriteOptions& options,
                                    const std::string& subresource) {
  return write("patch", WriteOp::Update, type, ns, name, options.dryRun,
               [&](json* current) -> StatusOr<json> {
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
    encodeStringData(type, next);
    if (isWorkload(type.plural) && next["spec"] != (*current)["spec"]) {
      next["metadata"]["generation"] = (*current)["metadata"].value("generation", 1) + 1;
    }
    return next;
  });
}

StatusOr<json> MemoryCluster::remove(const ResourceType& type, const std::string& ns,
                                     const std::string& name, const DeleteOptions& options) {
  auto precondition = [&](json* current) -> StatusOr<json> {
    if (!options.preconditionUid.empty() &&
        (*current)["metadata"].value("uid", "") != options.preconditionUid) {
      return apiError(ErrorKind::Aborted, "Precondition failed: UID in precondition: " +
                                              options.preconditionUid);
    }
    return *current;
  };
  ASSIGN_OR_RETURN(json removed, write("delete", WriteOp::Delete, type, ns, name, options.dryRun,
                                       precondition));
  return json{{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Success"},
              {"details", {{"name", name}, {"kind", type.plural},
                           {"uid", removed["metadata"]["uid"]}}}};
}

Status MemoryCluster::ping() {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->injected("ping", "*");
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

void MemoryCluster::setSnapshotApiForTest(bool installed) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->snapshotApi = installed;
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
