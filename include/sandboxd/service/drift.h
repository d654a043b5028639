// Drift between the registry and the cluster: objects carrying sandboxd's labels that no
// registry entry accounts for, registry entries whose objects vanished, and objects of deleted
// sandboxes that are still there. Report only: nothing here changes the cluster (a home volume
// sandboxd does not know is reported, never deleted). Used by `sandboxd doctor`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sandboxd/common/status.h"
#include "sandboxd/config/config.h"
#include "sandboxd/kube/kube_client.h"
#include "sandboxd/model/sandbox.h"
#include "sandboxd/registry/registry.h"

namespace sandboxd {

struct DriftItem {
  enum class Kind {
    Orphan,     // in the cluster with our labels (or a home volume), no registry entry for it
    Missing,    // the registry's sandbox should have it, the cluster does not
    Lingering,  // the sandbox is deleted in the registry, the object is still there
  };
  Kind kind = Kind::Orphan;
  std::string objectKind;  // "StatefulSet", "PersistentVolumeClaim", ...
  std::string nameSpace;
  std::string name;        // the object's name
  std::string sandbox;     // the sandbox it belongs to
  std::string detail;      // why, in a sentence

  bool operator==(const DriftItem& other) const;
};
const char* toString(DriftItem::Kind kind);

struct DriftReport {
  std::vector<DriftItem> items;  // sorted by namespace, sandbox, kind, object kind, name
  bool clean() const { return items.empty(); }
  int count(DriftItem::Kind kind) const;
  // One line per item, then "orphans N, missing N, lingering N".
  std::string format() const;
};

// Pure: `records` is every registry entry (tombstones included); `objects` are the cluster's
// StatefulSets, Services, Ingresses and Secrets carrying app.kubernetes.io/managed-by=sandboxd,
// the Deployments carrying cloud.sealos.io/app-deploy-manager (legacy sandboxes) and the
// PersistentVolumeClaims named like home volumes, each with kind set. Objects already being
// deleted are not drift.
DriftReport computeDrift(const std::vector<SandboxRecordPtr>& records,
                         const std::vector<json>& objects, const SandboxConfig& config);

// What computeDrift and the reconciler read of a listed object (apiVersion, kind, name,
// namespace, deletionTimestamp, the app / app-deploy-manager / sandbox-id labels,
// spec.replicas), moved out of `item`: a pass at 10,000 sandboxes holds ~60,000 of them.
json compactForDrift(const ResourceType& type, json& item);
// Those fields, as a mask (listSandboxObjects asks the client to parse no more).
const std::shared_ptr<const FieldMask>& driftFields();

// The objects computeDrift compares (compactForDrift), listed in each of `namespaces` (a
// constant number of list calls per namespace, paged).
StatusOr<std::vector<json>> listSandboxObjects(KubeClient& client,
                                               const std::vector<std::string>& namespaces);

// The configured namespace and every namespace a registry entry names.
std::vector<std::string> namespacesOf(const std::vector<SandboxRecordPtr>& records,
                                      const SandboxConfig& config);

// Lists the registry and, in the configured namespace and every namespace a registry entry
// names, the cluster objects computeDrift needs; then computes the report.
StatusOr<DriftReport> inspectDrift(KubeClient& client, Registry& registry,
                                   const SandboxConfig& config);

}  // namespace sandboxd
