// The simulated cluster's API server half: objects stored as the API server stores them (uid,
// creationTimestamp, resourceVersion, generation; a Secret's stringData as data), every change
// logged as a watch event, injected faults answered in place of a call.
#include <openssl/evp.h>

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "kube/sim/cluster_state.h"

namespace sandboxd {
namespace {

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace

namespace kube_sim {

void encodeStringData(const ResourceType& type, json& object) {
  if (type.plural == "secrets" && object.contains("stringData")) {
    for (const auto& [k, v] : object["stringData"].items()) {
      object["data"][k] = base64(v.get<std::string>());
    }
    object.erase("stringData");
  }
}

}  // namespace kube_sim

using kube_sim::encodeStringData;
using kube_sim::isWorkload;
using kube_sim::Key;

std::string MemoryCluster::State::newUid() {
  std::ostringstream out;
  out << "00000000-0000-4000-8000-" << std::setw(12) << std::setfill('0') << ++uidCounter;
  return out.str();
}

Status MemoryCluster::State::injected(const std::string& verb, const std::string& kind) {
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

Status MemoryCluster::State::admit(const std::string& verb, const std::string& kind) {
  RETURN_IF_ERROR(injected(verb, kind));
  RETURN_IF_ERROR(servedKind(kind));
  reconcile();
  return Status::ok();
}

json* MemoryCluster::State::find(const std::string& plural, const std::string& ns,
                                 const std::string& name) {
  auto it = objects.find({plural, ns, name});
  return it == objects.end() ? nullptr : &it->second;
}

void MemoryCluster::State::logEvent(WatchEventType type, const std::string& plural,
                                    const std::string& ns, const json& object,
                                    const json& previous) {
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

void MemoryCluster::State::store(const std::string& plural, const std::string& ns, json object) {
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

void MemoryCluster::State::bump(json& object, const std::string& plural, const std::string& ns) {
  object["metadata"]["resourceVersion"] = nextRv();
  logEvent(WatchEventType::Modified, plural, ns, object, object);
}

void MemoryCluster::State::erase(const Key& key) {
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

json MemoryCluster::State::newObject(const ResourceType& type, const std::string& ns, json object) {
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
  encodeStringData(type, object);
  return object;
}

}  // namespace sandboxd
