#include "sandboxd/service/sandbox_cache.h"

#include "sandboxd/render/manifest_renderer.h"

#include <vector>

namespace sandboxd {

namespace {

// Keeps only `keep` of the object `field` of `object` (absent or not an object: untouched).
void keepOnly(json& object, const char* field, const std::vector<const char*>& keep) {
  const auto it = object.find(field);
  if (it == object.end() || !it->is_object()) {
    return;
  }
  json kept = json::object();
  for (const char* key : keep) {
    const auto k = it->find(key);
    if (k != it->end()) {
      kept[key] = std::move(*k);
    }
  }
  *it = std::move(kept);
}

}  // namespace

void trimMetadata(json& object) {
  // Identity, labels (selectors, ownership, the index), and what status derivation reads.
  static const std::vector<const char*> kMetadata = {
      "name",       "namespace",         "uid",   "resourceVersion", "generation",
      "creationTimestamp", "deletionTimestamp", "labels"};
  if (object.is_object()) {
    keepOnly(object, "metadata", kMetadata);
  }
}

void trimForStatus(const ResourceType& type, json& object) {
  if (!object.is_object()) {
    return;
  }
  static const std::vector<const char*> kWorkloadSpec = {"replicas", "selector"};
  static const std::vector<const char*> kPodSpec = {"nodeName"};
  static const std::vector<const char*> kPodStatus = {
      "phase", "reason", "message", "conditions", "containerStatuses", "initContainerStatuses"};
  trimMetadata(object);
  if (type.plural == resources::statefulSets().plural ||
      type.plural == resources::deployments().plural) {
    keepOnly(object, "spec", kWorkloadSpec);
  } else if (type.plural == resources::pods().plural) {
    keepOnly(object, "spec", kPodSpec);
    keepOnly(object, "status", kPodStatus);
  }
}

ObjectCacheOptions sandboxCacheOptions(const std::string& nameSpace) {
  ObjectCacheOptions options;
  options.types = {resources::statefulSets(), resources::pods(),
                   resources::persistentVolumeClaims()};
  options.nameSpace = nameSpace;
  options.labelSelector = labels::managedSelector();
  // The StatefulSet controller labels pods and the claims it makes only with the selector's
  // `app` label.
  options.labelSelectorFor = {{resources::pods().plural, labels::kApp},
                              {resources::persistentVolumeClaims().plural, labels::kApp}};
  // A status read lists the pods with app=<name>: found by index, not by visiting every pod.
  options.indexLabel = labels::kApp;
  options.transform = trimForStatus;
  return options;
}

}  // namespace sandboxd
