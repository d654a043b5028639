#include "sandboxd/service/sandbox_cache.h"

#include "sandboxd/model/naming.h"
#include "sandboxd/service/snapshot_objects.h"

#include <memory>

namespace sandboxd {

namespace {

// Of an object's metadata: identity, sandboxd's own labels (every selector sandboxd uses,
// ownership, the index; not the controllers' pod-name, pod-index and controller-revision-hash),
// and what status derivation reads of that type (`extra`: a workload's generation, a pod's
// creationTimestamp). The uid only of workloads and pods: a refused pod's events name their
// StatefulSet by uid (status/pod_refusal.h), and an env change deletes a stuck pod with its
// uid as a precondition (service/stuck_pod.h); a claim's is read by no one (at 100,000
// sandboxes the two cost about 10 MB).
FieldMask metadataFields(std::initializer_list<const char*> extra) {
  FieldMask mask{{"name", {}},
                 {"namespace", {}},
                 {"resourceVersion", {}},
                 {"deletionTimestamp", {}},
                 {"labels", FieldMask::keys({labels::kApp, labels::kAppDeployManager,
                                             labels::kAppDeployManagerDomain, labels::kManagedBy,
                                             labels::kSandboxId, labels::kOwner})}};
  for (const char* field : extra) {
    mask.fields.emplace(field, FieldMask{});
  }
  return mask;
}

FieldMask claimMetadata() {
  FieldMask mask = metadataFields({});
  mask.fields.emplace("annotations", FieldMask::keys({kRestoreOperationAnnotation}));
  return mask;
}

}  // namespace

// Not apiVersion and kind: the API server leaves them out of list items, and watch events
// carry them, so an object kept with them would look changed to a relist whenever a watch
// event had packed it last. The cache holds one type per map anyway.
const std::shared_ptr<const FieldMask>& statusFieldsFor(const ResourceType& type) {
  static const auto workload = std::make_shared<const FieldMask>(
      FieldMask{{"metadata", metadataFields({"generation", "uid"})},
                {"spec", FieldMask::keys({"replicas", "selector"})},
                {"status", {}}});
  // Of a pod's conditions and container statuses, what derivation reads (not the timestamps,
  // images, IDs, mounts and resources that are most of their bytes).
  static const FieldMask podCondition = FieldMask::keys({"type", "status", "reason", "message"});
  static const FieldMask containerStatus =
      FieldMask::keys({"name", "ready", "started", "restartCount", "state"});
  static const auto pod = std::make_shared<const FieldMask>(
      FieldMask{{"metadata", metadataFields({"creationTimestamp", "uid"})},
                {"spec", FieldMask::keys({"nodeName"})},
                {"status", FieldMask{{"phase", {}},
                                     {"reason", {}},
                                     {"message", {}},
                                     {"conditions", podCondition},
                                     {"containerStatuses", containerStatus},
                                     {"initContainerStatuses", containerStatus}}}});
  // Of a claim, what derivation reads (its storage class and phase), not its access modes,
  // requests, capacity and volume; and the annotation a restore marks the claim it made with
  // (restore_steps.h), which no other claim has.
  static const auto claim = std::make_shared<const FieldMask>(
      FieldMask{{"metadata", claimMetadata()},
                {"spec", FieldMask::keys({"storageClassName"})},
                {"status", FieldMask::keys({"phase"})}});
  static const auto other = std::make_shared<const FieldMask>(
      FieldMask{{"metadata", metadataFields({"generation", "creationTimestamp"})},
                {"spec", {}},
                {"status", {}}});
  if (type.plural == resources::statefulSets().plural ||
      type.plural == resources::deployments().plural) {
    return workload;
  }
  if (type.plural == resources::persistentVolumeClaims().plural) {
    return claim;
  }
  return type.plural == resources::pods().plural ? pod : other;
}

void trimForStatus(const ResourceType& type, json& object) {
  applyFieldMask(object, *statusFieldsFor(type));
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
  options.indexedTypes = {resources::pods().plural};  // the only type listed by app=<name>
  for (const auto& type : options.types) {
    options.keepFieldsFor[type.plural] = statusFieldsFor(type);  // what trimForStatus keeps
  }
  return options;
}

}  // namespace sandboxd
