#include "sandboxd/service/sandbox_cache.h"

#include "sandboxd/render/manifest_renderer.h"

namespace sandboxd {

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
  return options;
}

}  // namespace sandboxd
