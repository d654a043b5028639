// What sandboxd keeps in its watch cache (see sandboxd/kube/object_cache.h).
#pragma once

#include <string>

#include "sandboxd/kube/object_cache.h"

namespace sandboxd {

// StatefulSets carrying sandboxd's label, and the pods and home volumes (which carry only the
// `app` label, like legacy Deployment pods) in the sandbox namespace.
ObjectCacheOptions sandboxCacheOptions(const std::string& nameSpace);

}  // namespace sandboxd
