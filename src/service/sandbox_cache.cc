#include "sandboxd/service/sandbox_cache.h"

#include "sandboxd/render/manifest_renderer.h"

#include <vector>

namespace sandboxd {

void trimForStatus(const ResourceType& type, json& object) {
  if (!object.is_object()) {
    return;
  }
  const auto meta = object.find("metadata");
  if (meta != object.end() && meta->is_object()) {
    meta->erase("managedFields");
    const auto annotations = meta->find("annotations");
    if (annotations != meta->end() && annotations->is_object()) {
      annotations->erase("kubectl.kubernetes.io/last-applied-configuration");
    }
  }
  const auto spec = object.find("spec");
  if (spec == object.end() || !spec->is_object()) {
    return;
  }
  static const std::vector<const char*> kWorkloadSpec = {"replicas", "selector"};
  static const std::vector<const char*> kPodSpec = {"nodeName"};
  const std::vector<const char*>* keep = nullptr;
  if (type.plural == resources::statefulSets().plural ||
      type.plural == resources::deployments().plural) {
    keep = &kWorkloadSpec;
  } else if (type.plural == resources::pods().plural) {
    keep = &kPodSpec;
  } else {
    return;
  }
  json trimmed = json::object();
  for (const char* key : *keep) {
    const auto it = spec->find(key);
    if (it != spec->end()) {
      trimmed[key] = std::move(*it);
    }
  }
  *spec = std::move(trimmed);
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
