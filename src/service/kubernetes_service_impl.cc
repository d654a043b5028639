// The sandbox lifecycle against the Kubernetes API. Each operation is a short sequence of
// API calls with no read-before-write where the API makes it unnecessary: create is one POST
// per object, stop/start one PATCH of the scale subresource, env one strategic-merge PATCH.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <unordered_map>

#include "sandboxd/common/random_generator.h"
#include "sandboxd/model/naming.h"
#include "service/secret_env_hash.h"
#include "service/stuck_pod.h"
#include "sandboxd/service/kubernetes_service.h"
#include "sandboxd/service/status_index.h"
#include "sandboxd/status/pod_refusal.h"
#include "sandboxd/status/status_derivation.h"

namespace sandboxd {
namespace {

// Pods that are a sandbox's by their labels, for when no workload is left to select them by.
bool isSandboxPod(const json& pod) {
  return !labelOf(pod, labels::kManagedBy).empty() ||
         !labelOf(pod, labels::kAppDeployManager).empty();
}

const ResourceType& typeOf(const json& object) {
  const ResourceType* type =
      resources::forKind(object.value("apiVersion", ""), object.value("kind", ""));
  return type != nullptr ? *type : resources::statefulSets();
}

class KubernetesServiceImpl : public KubernetesService {
 public:
  KubernetesServiceImpl(KubeClientPtr client, ManifestRendererPtr renderer,
                        const SandboxConfig& config, std::shared_ptr<StatusIndex> index,
                        std::string secretHashKey)
      : client_(std::move(client)),
        renderer_(std::move(renderer)),
        config_(config),
        index_(std::move(index)),
        secretHashKey_(std::move(secretHashKey)) {}

  // KubernetesService
  Status create(const SandboxSpec& spec) override {
    ASSIGN_OR_RETURN(RenderedManifests manifests, renderer_->render(spec));
    if (manifests.secret) {
      manifests.statefulSet["spec"]["template"]["metadata"]["annotations"]
                           [kSecretEnvHashAnnotation] =
          secretEnvHash(secretHashKey_, secretDataOf(spec.secretEnv));
    }
    const std::string ns = nsOf(spec.nameSpace);
    std::vector<json> created;
    for (const json& object : manifests.all()) {
      const ResourceType& type = typeOf(object);
      const std::string name = object["metadata"]["name"];
      auto result = client_->create(type, ns, object);
      if (result.isOk()) {
        created.push_back(object);
        continue;
      }
      Status error = result.status();
      if (error.kind() == ErrorKind::AlreadyExists) {
        // Ours from an earlier attempt of the same create: keep it (idempotent).
        auto existing = client_->get(type, ns, name);
        if (existing.isOk() && labelOf(*existing, labels::kSandboxId) == spec.sandboxId) {
          continue;
        }
        error = alreadyExists(type.kind + " " + name +
                              " already exists and does not belong to this sandbox");
      }
      rollback(ns, created);
      return error.withContext("creating " + type.kind + " " + name);
    }
    return Status::ok();
  }

  StatusOr<ObservedStatus> status(const SandboxKey& key) override {
    ObservedObjects observed;
    const std::string ns = nsOf(key.nameSpace);
    if (index_ != nullptr && ns == index_->nameSpace()) {
      if (auto indexed = index_->get(key.name)) {
        return withRefusal(ns, key.name, std::move(*indexed));
      }
    }
    auto sts = client_->get(resources::statefulSets(), ns, key.name);
    if (sts.isOk()) {
      observed.workload = std::move(sts).value();
    } else if (sts.status().kind() != ErrorKind::NotFound) {
      return sts.status();
    } else {
      ASSIGN_OR_RETURN(auto legacy, legacyDeployment(ns, key.name));
      if (legacy) {
        observed.kind = WorkloadKind::Deployment;
        observed.workload = std::move(*legacy);
      }
    }
    ListOptions podSelector;
    podSelector.labelSelector = std::string(labels::kApp) + "=" + key.name;
    ASSIGN_OR_RETURN(json pods, client_->list(resources::pods(), ns, podSelector));
    for (auto& pod : pods["items"]) {
      if (observed.workload || isSandboxPod(pod)) {
        observed.pods.push_back(std::move(pod));
      }
    }
    if (observed.kind == WorkloadKind::StatefulSet) {
      auto pvc = client_->get(resources::persistentVolumeClaims(), ns, names::pvc(key.name));
      if (pvc.isOk()) {
        observed.pvc = std::move(pvc).value();
      } else if (pvc.status().kind() != ErrorKind::NotFound) {
        return pvc.status();
      }
    }
    return withRefusal(ns, key.name, toObservedStatus(deriveStatus(observed), observed));
  }

  StatusOr<std::map<std::string, ObservedStatus>> statusAll(const std::string& nameSpace) override {
    const std::string ns = nsOf(nameSpace);
    if (index_ != nullptr && ns == index_->nameSpace()) {
      if (auto indexed = index_->all()) {
        std::vector<std::pair<std::string, ObservedStatus*>> statuses;
        for (auto& [name, status] : *indexed) {
          statuses.emplace_back(name, &status);
        }
        explainRefusals(ns, statuses);
        return withLegacyDeployments(ns, std::move(*indexed));
      }
    }
    std::map<std::string, ObservedObjects> byName;
    ListOptions managed;
    managed.labelSelector = labels::managedSelector();
    ASSIGN_OR_RETURN(json sets, client_->list(resources::statefulSets(), ns, managed));
    for (auto& sts : sets["items"]) {
      std::string name = sts["metadata"].value("name", "");
      byName[name].workload = std::move(sts);
    }
    ListOptions platform;
    platform.labelSelector = labels::kAppDeployManager;
    ASSIGN_OR_RETURN(json deployments, client_->list(resources::deployments(), ns, platform));
    for (auto& deployment : deployments["items"]) {
      std::string name = deployment["metadata"].value("name", "");
      if (!byName[name].workload) {
        byName[name].kind = WorkloadKind::Deployment;
        byName[name].workload = std::move(deployment);
      }
    }
    ListOptions withApp;
    withApp.labelSelector = labels::kApp;
    ASSIGN_OR_RETURN(json pods, client_->list(resources::pods(), ns, withApp));
    for (auto& pod : pods["items"]) {
      std::string app = labelOf(pod, labels::kApp);
      auto it = byName.find(app);
      if (it != byName.end()) {
        it->second.pods.push_back(std::move(pod));
      }
    }
    ASSIGN_OR_RETURN(json pvcs, client_->list(resources::persistentVolumeClaims(), ns, withApp));
    for (auto& pvc : pvcs["items"]) {
      std::string app = labelOf(pvc, labels::kApp);
      auto it = byName.find(app);
      if (it != byName.end() && pvc["metadata"].value("name", "") == names::pvc(app)) {
        it->second.pvc = std::move(pvc);
      }
    }
    std::map<std::string, ObservedStatus> out;
    std::vector<std::pair<std::string, ObservedStatus*>> statuses;
    for (const auto& [name, observed] : byName) {
      ObservedStatus& status = out[name] = toObservedStatus(deriveStatus(observed), observed);
      statuses.emplace_back(name, &status);
    }
    explainRefusals(ns, statuses);
    return out;
  }

  StatusOr<std::vector<std::optional<ObservedStatus>>> statusOf(
      const std::string& nameSpace, const std::vector<std::string>& names) override {
    const std::string ns = nsOf(nameSpace);
    if (index_ != nullptr && ns == index_->nameSpace()) {
      if (auto indexed = index_->get(names)) {
        // The names the index lacks may be legacy Deployments (those with a StatefulSet are
        // indexed: a Deployment of the same name is not theirs to show).
        std::unordered_map<std::string, size_t> missing;
        for (size_t i = 0; i < names.size(); ++i) {
          if (!(*indexed)[i]) {
            missing.emplace(names[i], i);
          }
        }
        std::vector<std::pair<std::string, ObservedStatus*>> statuses;
        for (size_t i = 0; i < names.size(); ++i) {
          if ((*indexed)[i]) {
            statuses.emplace_back(names[i], &*(*indexed)[i]);
          }
        }
        explainRefusals(ns, statuses);
        if (!missing.empty()) {
          RETURN_IF_ERROR(eachLegacyDeployment(
              ns, [&](const std::string& name) { return missing.count(name) != 0; },
              [&](const std::string& name, ObservedStatus status) {
                (*indexed)[missing.at(name)] = std::move(status);
              }));
        }
        return std::move(*indexed);
      }
    }
    ASSIGN_OR_RETURN(auto all, statusAll(nameSpace));
    std::vector<std::optional<ObservedStatus>> out;
    out.reserve(names.size());
    for (const std::string& name : names) {
      const auto it = all.find(name);
      out.push_back(it == all.end() ? std::nullopt : std::optional<ObservedStatus>(it->second));
    }
    return out;
  }

  // `out` (every sandbox with a StatefulSet) plus the sandboxes that have only a legacy
  // Deployment.
  StatusOr<std::map<std::string, ObservedStatus>> withLegacyDeployments(
      const std::string& ns, std::map<std::string, ObservedStatus> out) {
    RETURN_IF_ERROR(eachLegacyDeployment(
        ns, [&](const std::string& name) { return out.count(name) == 0; },
        [&](const std::string& name, ObservedStatus status) { out[name] = std::move(status); }));
    return out;
  }

  // The status of each legacy Deployment (few: they are migrated) whose name is `wanted`,
  // given to `found`; its pods are read by label.
  Status eachLegacyDeployment(
      const std::string& ns, const std::function<bool(const std::string&)>& wanted,
      const std::function<void(const std::string&, ObservedStatus)>& found) {
    ListOptions platform;
    platform.labelSelector = labels::kAppDeployManager;
    ASSIGN_OR_RETURN(json deployments, client_->list(resources::deployments(), ns, platform));
    for (auto& deployment : deployments["items"]) {
      const std::string name = deployment["metadata"].value("name", "");
      if (name.empty() || !wanted(name)) {
        continue;
      }
      ObservedObjects observed;
      observed.kind = WorkloadKind::Deployment;
      observed.workload = std::move(deployment);
      ListOptions podSelector;
      podSelector.labelSelector = std::string(labels::kApp) + "=" + name;
      ASSIGN_OR_RETURN(json pods, client_->list(resources::pods(), ns, podSelector));
      for (auto& pod : pods["items"]) {
        observed.pods.push_back(std::move(pod));
      }
      found(name, toObservedStatus(deriveStatus(observed), observed));
    }
    return Status::ok();
  }

  Status stop(const SandboxKey& key) override { return scale(key, 0); }
  Status start(const SandboxKey& key) override { return scale(key, 1); }

  Status updateEnv(const SandboxSpec& sandbox, const EnvChange& change) override {
    const std::string ns = nsOf(sandbox.nameSpace);
    const std::string secretName = names::envSecret(sandbox.name);
    // Secret values first, so the rolled pod never references a missing key. The Secret as
    // it is now (all its values) gives the pod template's hash annotation, so that a changed
    // value rolls the pod even when the env entries stay the same.
    std::optional<std::string> secretHash;
    if (!change.setSecret.empty()) {
      json patch = {{"stringData", change.setSecret}};
      auto patched = client_->patch(resources::secrets(), ns, secretName, PatchType::Merge, patch);
      if (!patched.isOk() && patched.status().kind() == ErrorKind::NotFound) {
        SandboxSpec secretSpec = sandbox;
        secretSpec.secretEnv = change.setSecret;
        ASSIGN_OR_RETURN(RenderedManifests manifests, renderer_->render(secretSpec));
        patched = client_->create(resources::secrets(), ns, *manifests.secret);
        if (!patched.isOk()) {
          return patched.status().withContext("creating Secret " + secretName);
        }
      } else if (!patched.isOk()) {
        return patched.status().withContext("updating Secret " + secretName);
      }
      const auto data = patched->find("data");
      secretHash = secretEnvHash(secretHashKey_, data != patched->end()
                                                     ? *data
                                                     : secretDataOf(change.setSecret));
    }
    json env = json::array();
    for (const auto& [name, value] : change.set) {
      env.push_back({{"name", name}, {"value", value}, {"valueFrom", nullptr}});
    }
    for (const auto& [name, value] : change.setSecret) {
      env.push_back({{"name", name},
                     {"value", nullptr},
                     {"valueFrom",
                      {{"secretKeyRef", {{"name", secretName}, {"key", name}}}}}});
    }
    for (const auto& name : change.unset) {
      env.push_back({{"name", name}, {"$patch", "delete"}});
    }
    json patch = {
        {"spec",
         {{"template",
           {{"spec",
             {{"containers",
               json::array({{{"name", names::kMainContainer}, {"env", env}}})}}}}}}}};
    if (secretHash) {
      patch["spec"]["template"]["metadata"]["annotations"][kSecretEnvHashAnnotation] =
          *secretHash;
    }
    // The pod as it is before the change: one that is not Ready may stay stuck after it. (A
    // best effort: the watch cache answers; a failed read only skips the roll.)
    auto notReady = notReadyPodUid(*client_, ns, sandbox.name);
    if (!notReady.isOk()) {
      spdlog::warn("sandbox {}: cannot read its pod ({}); a not-Ready pod is not rolled",
                   sandbox.name, notReady.status().toString());
    }
    const std::string stuckPod = notReady.isOk() ? *notReady : std::string();
    auto patched = client_->patch(resources::statefulSets(), ns, sandbox.name,
                                  PatchType::StrategicMerge, patch);
    if (!patched.isOk()) {
      if (patched.status().kind() == ErrorKind::NotFound) {
        ASSIGN_OR_RETURN(auto legacy, legacyDeployment(ns, sandbox.name));
        if (legacy) {
          return failedPrecondition("sandbox " + sandbox.name +
                                    " is a legacy Deployment; run `sandboxd migrate` before "
                                    "changing its environment");
        }
      }
      return patched.status().withContext("updating StatefulSet " + sandbox.name);
    }
    // A StatefulSet from before podManagementPolicy Parallel keeps a never-Ready pod on the
    // old template (service/stuck_pod.h): roll it so the change takes effect. The change is
    // made either way (the template is patched): a failed roll is reported, not returned, so
    // that the registry records the new environment the cluster now has.
    auto rolled = rollStuckPod(*client_, ns, *patched, stuckPod);
    if (!rolled.isOk()) {
      spdlog::warn("sandbox {}: its not-Ready pod keeps the old template ({}); a stop and start "
                   "rolls it",
                   sandbox.name, rolled.status().toString());
    } else if (*rolled) {
      spdlog::info("sandbox {}: deleted its not-Ready pod so that the new template rolls out",
                   sandbox.name);
    }
    // Keys no longer referenced leave the Secret: only those it holds (a plain change costs
    // no Secret call).
    std::vector<std::string> dropped;
    for (const auto& name : change.unset) {
      if (sandbox.secretEnv.count(name) > 0) {
        dropped.push_back(name);
      }
    }
    for (const auto& [name, value] : change.set) {
      if (sandbox.secretEnv.count(name) > 0) {
        dropped.push_back(name);
      }
    }
    if (!dropped.empty()) {
      json data = json::object();
      for (const auto& name : dropped) {
        data[name] = nullptr;
      }
      auto cleaned = client_->patch(resources::secrets(), ns, secretName, PatchType::Merge,
                                    json{{"data", data}});
      if (!cleaned.isOk() && cleaned.status().kind() != ErrorKind::NotFound) {
        // The pod no longer references these keys; a stale value in the Secret is harmless
        // but is reported in the log.
        spdlog::warn("sandbox {}: could not remove unset keys from Secret {}: {}", sandbox.name,
                     secretName, cleaned.status().toString());
      }
    }
    return Status::ok();
  }

  StatusOr<std::vector<std::string>> repair(const SandboxSpec& spec, int replicas) override {
    ASSIGN_OR_RETURN(RenderedManifests manifests, renderer_->render(spec));
    const std::string ns = nsOf(spec.nameSpace);
    std::vector<std::string> recreated;
    for (json object : manifests.all()) {
      const ResourceType& type = typeOf(object);
      if (&type == &resources::secrets()) {
        continue;
      }
      const std::string name = object["metadata"]["name"];
      auto existing = client_->get(type, ns, name);
      if (existing.isOk()) {
        continue;
      }
      if (existing.status().kind() != ErrorKind::NotFound) {
        return existing.status().withContext("reading " + type.kind + " " + name);
      }
      if (&type == &resources::statefulSets()) {
        object["spec"]["replicas"] = replicas;
      }
      auto created = client_->create(type, ns, object);
      if (!created.isOk() && created.status().kind() != ErrorKind::AlreadyExists) {
        return created.status().withContext("re-creating " + type.kind + " " + name);
      }
      recreated.push_back(type.kind + " " + name);
    }
    return recreated;
  }

  Status createHomeVolume(const SandboxSpec& spec, const std::string& volumeSnapshot,
                          const std::map<std::string, std::string>& annotations) override {
    ASSIGN_OR_RETURN(RenderedManifests manifests, renderer_->render(spec));
    const json setSpec = manifests.statefulSet.value("spec", json::object());
    const json templates = setSpec.value("volumeClaimTemplates", json::array());
    if (!templates.is_array() || templates.empty()) {
      return failedPrecondition("the StatefulSet template has no volume claim template");
    }
    json claim = templates[0];
    claim["apiVersion"] = resources::persistentVolumeClaims().apiVersion;
    claim["kind"] = resources::persistentVolumeClaims().kind;
    json& meta = claim["metadata"];
    meta["name"] = names::pvc(spec.name);
    meta["namespace"] = nsOf(spec.nameSpace);
    // What the StatefulSet controller gives the claims it makes: the selector's labels.
    const json selector = setSpec.value("selector", json::object())
                              .value("matchLabels", json::object());
    for (const auto& [key, value] : selector.items()) {
      meta["labels"][key] = value;
    }
    for (const auto& [key, value] : annotations) {
      meta["annotations"][key] = value;
    }
    claim["spec"]["dataSource"] = {{"apiGroup", "snapshot.storage.k8s.io"},
                                   {"kind", "VolumeSnapshot"},
                                   {"name", volumeSnapshot}};
    auto created = client_->create(resources::persistentVolumeClaims(), nsOf(spec.nameSpace),
                                   claim);
    return created.isOk() ? Status::ok() : created.status();
  }

  Status remove(const SandboxKey& key, bool purge) override {
    const std::string ns = nsOf(key.nameSpace);
    DeleteOptions background;
    bool legacy = false;
    auto deleted = client_->remove(resources::statefulSets(), ns, key.name, background);
    if (!deleted.isOk() && deleted.status().kind() == ErrorKind::NotFound) {
      ASSIGN_OR_RETURN(auto deployment, legacyDeployment(ns, key.name));
      if (deployment) {
        legacy = true;
        deleted = client_->remove(resources::deployments(), ns, key.name, background);
      }
    }
    RETURN_IF_ERROR(ignoreNotFound(deleted.isOk() ? Status::ok() : deleted.status()));

    std::vector<std::pair<const ResourceType*, std::string>> objects = {
        {&resources::services(), names::service(key.name)},
        {&resources::secrets(), names::envSecret(key.name)},
        // Whether or not NetworkPolicies are enabled now: one made while they were goes too.
        {&resources::networkPolicies(), names::networkPolicy(key.name)},
    };
    // The key does not say the sandbox's profile: every port any profile has.
    for (const auto& port : portsOfAllProfiles(config_)) {
      objects.push_back({&resources::ingresses(), names::ingress(key.name, port.name)});
    }
    if (legacy) {
      // Legacy sandboxes named their Services and Ingresses differently: find them by the
      // platform label (exact match on the sandbox name).
      ListOptions byPlatform;
      byPlatform.labelSelector = std::string(labels::kAppDeployManager) + "=" + key.name;
      for (const ResourceType* type : {&resources::services(), &resources::ingresses()}) {
        ASSIGN_OR_RETURN(json list, client_->list(*type, ns, byPlatform));
        for (const auto& item : list["items"]) {
          objects.push_back({type, item["metadata"].value("name", "")});
        }
      }
    }
    if (purge) {
      objects.push_back({&resources::persistentVolumeClaims(), names::pvc(key.name)});
    }
    for (const auto& [type, name] : objects) {
      auto result = client_->remove(*type, ns, name, background);
      RETURN_IF_ERROR(ignoreNotFound(result.isOk() ? Status::ok() : result.status())
                          .withContext("deleting " + type->kind + " " + name));
    }
    return Status::ok();
  }

  StatusOr<bool> isGone(const SandboxKey& key, bool purge) override {
    const std::string ns = nsOf(key.nameSpace);
    for (const ResourceType* type : {&resources::statefulSets(), &resources::deployments()}) {
      auto object = client_->get(*type, ns, key.name);
      if (object.isOk()) {
        return false;
      }
      if (object.status().kind() != ErrorKind::NotFound) {
        return object.status();
      }
    }
    ListOptions podSelector;
    podSelector.labelSelector = std::string(labels::kApp) + "=" + key.name;
    ASSIGN_OR_RETURN(json pods, client_->list(resources::pods(), ns, podSelector));
    for (const auto& pod : pods["items"]) {
      if (isSandboxPod(pod)) {
        return false;
      }
    }
    if (purge) {
      auto pvc = client_->get(resources::persistentVolumeClaims(), ns, names::pvc(key.name));
      if (pvc.isOk()) {
        return false;
      }
      if (pvc.status().kind() != ErrorKind::NotFound) {
        return pvc.status();
      }
    }
    return true;
  }

 private:
  std::string nsOf(const std::string& ns) const { return ns.empty() ? config_.nameSpace : ns; }

  // A StatefulSet without a pod: the pod the API server refused, if it did, and why
  // (status/pod_refusal.h). Reads only for sandboxes in that state: their StatefulSets and one
  // list of the namespace's FailedCreate events; when a read fails the status stays
  // PodNotCreated.
  void explainRefusals(const std::string& ns,
                       const std::vector<std::pair<std::string, ObservedStatus*>>& statuses) {
    std::vector<std::pair<std::string, ObservedStatus*>> waiting;
    for (const auto& [name, status] : statuses) {
      if (status->workload == WorkloadKind::StatefulSet &&
          status->reason == toString(StatusReason::PodNotCreated)) {
        waiting.emplace_back(name, status);
      }
    }
    if (waiting.empty()) {
      return;
    }
    ListOptions failures;
    failures.fieldSelector = waiting.size() == 1 ? podRefusalFieldSelector(waiting[0].first)
                                                 : podRefusalFieldSelector();
    auto events = client_->list(resources::events(), ns, failures);
    if (!events.isOk()) {
      spdlog::debug("could not read the FailedCreate events in {}: {}", ns,
                    events.status().toString());
      return;
    }
    for (const auto& [name, status] : waiting) {
      auto sts = client_->get(resources::statefulSets(), ns, name);
      if (sts.isOk()) {
        *status = withPodRefusal(std::move(*status), *sts, (*events)["items"]);
      }
    }
  }

  ObservedStatus withRefusal(const std::string& ns, const std::string& name,
                             ObservedStatus status) {
    explainRefusals(ns, {{name, &status}});
    return status;
  }

  static Status ignoreNotFound(const Status& s) {
    return s.kind() == ErrorKind::NotFound ? Status::ok() : s;
  }

  // A Deployment of that name carrying the platform label, i.e. a pre-migration sandbox.
  StatusOr<std::optional<json>> legacyDeployment(const std::string& ns, const std::string& name) {
    auto deployment = client_->get(resources::deployments(), ns, name);
    if (!deployment.isOk()) {
      if (deployment.status().kind() == ErrorKind::NotFound) {
        return std::optional<json>();
      }
      return deployment.status();
    }
    if (labelOf(*deployment, labels::kAppDeployManager).empty()) {
      return std::optional<json>();
    }
    return std::optional<json>(std::move(deployment).value());
  }

  Status scale(const SandboxKey& key, int replicas) {
    const std::string ns = nsOf(key.nameSpace);
    json patch = {{"spec", {{"replicas", replicas}}}};
    auto result = client_->patch(resources::statefulSets(), ns, key.name, PatchType::Merge, patch,
                                 {}, "scale");
    if (result.isOk()) {
      return Status::ok();
    }
    if (result.status().kind() != ErrorKind::NotFound) {
      return result.status();
    }
    ASSIGN_OR_RETURN(auto legacy, legacyDeployment(ns, key.name));
    if (!legacy) {
      return notFound("sandbox " + key.name + " has no workload in namespace " + ns);
    }
    auto scaled = client_->patch(resources::deployments(), ns, key.name, PatchType::Merge, patch,
                                 {}, "scale");
    return scaled.isOk() ? Status::ok() : scaled.status();
  }

  // Best effort: remove what this create made, newest first. Never touches PVCs.
  void rollback(const std::string& ns, const std::vector<json>& created) {
    for (auto it = created.rbegin(); it != created.rend(); ++it) {
      const ResourceType& type = typeOf(*it);
      const std::string name = (*it)["metadata"]["name"];
      auto result = client_->remove(type, ns, name);
      if (!result.isOk() && result.status().kind() != ErrorKind::NotFound) {
        spdlog::error("create rollback: could not delete {} {}/{}: {}", type.kind, ns, name,
                      result.status().toString());
      }
    }
  }

  KubeClientPtr client_;
  ManifestRendererPtr renderer_;
  SandboxConfig config_;
  std::shared_ptr<StatusIndex> index_;  // may be null
  const std::string secretHashKey_;     // secret_env_hash.h
};

}  // namespace

KubernetesServicePtr makeKubernetesService(KubeClientPtr client, ManifestRendererPtr renderer,
                                           const SandboxConfig& config,
                                           std::shared_ptr<StatusIndex> statusIndex) {
  // The key of the secret env hash never leaves this process (secret_env_hash.h).
  return std::make_shared<KubernetesServiceImpl>(std::move(client), std::move(renderer), config,
                                                 std::move(statusIndex),
                                                 RandomGeneratorImpl().secureHex(32));
}

}  // namespace sandboxd
