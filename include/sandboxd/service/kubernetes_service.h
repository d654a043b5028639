// KubernetesService: the sandbox lifecycle against a Kubernetes API (create / delete / status /
// stop / start / update-env) for StatefulSet sandboxes, with legacy Deployment sandboxes still
// answering status, stop, start and delete.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "sandboxd/common/status.h"
#include "sandboxd/config/config.h"
#include "sandboxd/kube/kube_client.h"
#include "sandboxd/model/sandbox.h"
#include "sandboxd/render/manifest_renderer.h"

namespace sandboxd {

struct SandboxKey {
  std::string nameSpace;
  std::string name;
};

class KubernetesService {
 public:
  virtual ~KubernetesService() = default;

  // Creates the Secret (if any secret env), headless Service, StatefulSet and Ingresses.
  // Idempotent for the same spec (objects that already exist with our sandbox id are kept);
  // AlreadyExists if an object of that name belongs to something else. On a failure half-way,
  // deletes what this call created (never a PVC) and returns the error.
  virtual Status create(const SandboxSpec& spec) = 0;

  // Status derived from the workload (StatefulSet, else a legacy Deployment), pods and PVC.
  // A sandbox with no workload is TERMINATED (not an error).
  virtual StatusOr<ObservedStatus> status(const SandboxKey& key) = 0;

  // Statuses of every sandbox sandboxd manages in `nameSpace` with a constant number of
  // Kubernetes calls (lists by label), keyed by sandbox name.
  virtual StatusOr<std::map<std::string, ObservedStatus>> statusAll(
      const std::string& nameSpace) = 0;

  // The statuses of `names` in that order, as statusAll has them (nullopt: no workload), with
  // no copy of the others: what a list of thousands reads. Fastest with `names` sorted.
  virtual StatusOr<std::vector<std::optional<ObservedStatus>>> statusOf(
      const std::string& nameSpace, const std::vector<std::string>& names) = 0;

  // Scale to 0 / 1 via the scale subresource. Idempotent. NotFound if no workload.
  virtual Status stop(const SandboxKey& key) = 0;
  virtual Status start(const SandboxKey& key) = 0;

  // Sets/unsets env on the main container (strategic-merge patch of the pod template, which
  // rolls the pod); secret values go into the {name}-env Secret (created when missing, with
  // the labels of `sandbox`: name, nameSpace, user, sandboxId) and are referenced with
  // secretKeyRef. Untouched variables stay. `sandbox.secretEnv` names the keys the Secret
  // holds now (values unused): those among `set` and `unset` are removed from it.
  // Legacy Deployments: FailedPrecondition (migrate).
  virtual Status updateEnv(const SandboxSpec& sandbox, const EnvChange& change) = 0;

  // Re-creates what is missing of a live sandbox, from `spec`: the StatefulSet (with
  // `replicas`), the headless Service, the Ingresses. `spec.secretEnv` carries the secret keys
  // to reference; their values are not used: the Secret is never written (its values live only
  // there) and no PVC is touched. Returns "Kind name" of each object re-created.
  virtual StatusOr<std::vector<std::string>> repair(const SandboxSpec& spec, int replicas) = 0;

  // Creates the home volume claim (names::pvc) of `spec` as its StatefulSet would (its claim
  // template, labelled with the StatefulSet's selector), filled from the VolumeSnapshot
  // `volumeSnapshot` in the same namespace, of `spec.storage`: a fork's before its
  // StatefulSet, a restore's in place of the claim it deleted. AlreadyExists if the claim is
  // there (whatever it holds). `annotations` are added to the claim's.
  virtual Status createHomeVolume(const SandboxSpec& spec, const std::string& volumeSnapshot,
                                  const std::map<std::string, std::string>& annotations) = 0;

  // Deletes workload, Service, Ingresses and Secret (absent ones are fine). The home PVC is
  // kept unless `purge`, in which case it is deleted too.
  virtual Status remove(const SandboxKey& key, bool purge) = 0;

  // True when nothing of the sandbox is left (workload, pods; and the PVC when `purge`).
  virtual StatusOr<bool> isGone(const SandboxKey& key, bool purge) = 0;
};

using KubernetesServicePtr = std::shared_ptr<KubernetesService>;

class StatusIndex;

// With `statusIndex` (serve: kept from the watch cache), status reads of sandboxes it holds
// are answered from it; the others (and every read without one) read the objects.
KubernetesServicePtr makeKubernetesService(KubeClientPtr client, ManifestRendererPtr renderer,
                                           const SandboxConfig& config,
                                           std::shared_ptr<StatusIndex> statusIndex = nullptr);

}  // namespace sandboxd
