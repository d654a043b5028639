// What sandboxd keeps in its watch cache (see sandboxd/kube/watch_cache.h).
#pragma once

#include <memory>
#include <string>

#include "sandboxd/kube/watch_cache.h"

namespace sandboxd {

// StatefulSets carrying sandboxd's label, and the pods and home volumes (which carry only the
// `app` label, like legacy Deployment pods) in the sandbox namespace.
// Objects are stored trimmed (trimForStatus), indexed by their `app` label.
ObjectCacheOptions sandboxCacheOptions(const std::string& nameSpace);

// What the cache keeps of an object: what status derivation, drift detection and the
// reconciler read, nothing else. Of metadata: identity (name, namespace, uid,
// resourceVersion, generation, timestamps) and labels; annotations, ownerReferences and
// managedFields go. Of a workload's spec: replicas and selector (not the pod template or claim
// templates); of a pod's spec: nodeName; of a pod's status: phase, reason, message, conditions
// and container statuses. Claims keep spec and status. Whoever needs a whole object reads it
// from the API server.
void trimForStatus(const ResourceType& type, json& object);

// The fields trimForStatus keeps of an object of `type` (the cache's lists parse only these).
const std::shared_ptr<const FieldMask>& statusFieldsFor(const ResourceType& type);

}  // namespace sandboxd
