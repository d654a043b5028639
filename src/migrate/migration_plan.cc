// Planning a Deployment → StatefulSet migration: pure functions over JSON objects.
//
// The StatefulSet is rendered by our renderer (our labels, ownership, VCT, platform env), then
// the Deployment's main container (image, env, ports, resources and the other container
// fields), pod-level settings, and extra labels/annotations are carried into it. Everything
// that cannot follow is listed with a reason instead of being dropped silently.
#include <algorithm>
#include <set>
#include <sstream>

#include "sandboxd/migrate/migrator.h"
#include "sandboxd/model/naming.h"

namespace sandboxd {

const char* toString(MigrationStep step) {
  switch (step) {
    case MigrationStep::Import:
      return "import";
    case MigrationStep::SaveOriginal:
      return "save-original";
    case MigrationStep::CreateStatefulSet:
      return "create-statefulset";
    case MigrationStep::SwitchService:
      return "switch-service";
    case MigrationStep::WaitReady:
      return "wait-ready";
    case MigrationStep::DeleteDeployment:
      return "delete-deployment";
    case MigrationStep::MarkMigrated:
      return "mark-migrated";
  }
  return "unknown";
}

namespace {

// Set by the API server or by controllers; meaningless on a new object.
const std::set<std::string> kServerAnnotations = {
    "deployment.kubernetes.io/revision",
    "kubectl.kubernetes.io/last-applied-configuration",
};

// Container fields copied verbatim from the Deployment's main container.
const std::vector<std::string> kCarriedContainerFields = {
    "command",        "args",           "workingDir", "envFrom",   "livenessProbe",
    "readinessProbe", "startupProbe",   "lifecycle",  "securityContext", "stdin",
    "stdinOnce",      "tty",            "imagePullPolicy",
};

// Pod spec fields copied verbatim (where the Deployment sets them).
const std::vector<std::string> kCarriedPodFields = {
    "nodeSelector",      "tolerations",      "affinity",    "imagePullSecrets",
    "serviceAccountName", "securityContext", "hostAliases", "dnsPolicy",
    "dnsConfig",          "priorityClassName", "runtimeClassName", "schedulerName",
    "topologySpreadConstraints", "enableServiceLinks",
};

// Volume sources that hold no data of their own: safe to mount from the StatefulSet too.
const std::set<std::string> kCarriedVolumeSources = {"configMap", "secret", "projected",
                                                     "downwardAPI"};

std::string str(const json& v) {
  if (v.is_string()) {
    return v.get<std::string>();
  }
  return v.dump();
}

// Both return references (to the child or to a shared empty value), so that a range-for over
// objectAt(...).items() never iterates a destroyed temporary.
const json& objectAt(const json& parent, const char* key) {
  static const json kEmptyObject = json::object();
  if (parent.is_object()) {
    auto it = parent.find(key);
    if (it != parent.end() && it->is_object()) {
      return *it;
    }
  }
  return kEmptyObject;
}

const json& arrayAt(const json& parent, const char* key) {
  static const json kEmptyArray = json::array();
  if (parent.is_object()) {
    auto it = parent.find(key);
    if (it != parent.end() && it->is_array()) {
      return *it;
    }
  }
  return kEmptyArray;
}

std::string volumeSourceOf(const json& volume) {
  for (auto it = volume.begin(); it != volume.end(); ++it) {
    if (it.key() != "name") {
      return it.key();
    }
  }
  return "unknown";
}

// The main container: the one named like the sandbox or "sandbox", else the first.
size_t mainContainerIndex(const json& containers, const std::string& name) {
  for (size_t i = 0; i < containers.size(); ++i) {
    std::string n = containers[i].value("name", "");
    if (n == name || n == names::kMainContainer) {
      return i;
    }
  }
  return 0;
}

// Renames Ingress backends that point at `from` (any of them) to `to`. Returns true if any.
bool repointBackends(json& spec, const std::set<std::string>& from, const std::string& to) {
  bool changed = false;
  auto fix = [&](json& backend) {
    if (backend.is_object() && backend.contains("service") && backend["service"].is_object()) {
      std::string name = backend["service"].value("name", "");
      if (from.count(name) > 0 && name != to) {
        backend["service"]["name"] = to;
        changed = true;
      }
    }
  };
  if (spec.contains("defaultBackend")) {
    fix(spec["defaultBackend"]);
  }
  if (spec.contains("rules") && spec["rules"].is_array()) {
    for (auto& rule : spec["rules"]) {
      if (!rule.contains("http") || !rule["http"].contains("paths")) {
        continue;
      }
      for (auto& path : rule["http"]["paths"]) {
        if (path.contains("backend")) {
          fix(path["backend"]);
        }
      }
    }
  }
  return changed;
}

}  // namespace

StatusOr<MigrationPlan> buildMigrationPlan(const LegacyObjects& legacy, const SandboxRecord& record,
                                           const ManifestRenderer& renderer,
                                           const SandboxConfig& config) {
  const json& deployment = legacy.deployment;
  const std::string name = record.name;
  const json depMeta = objectAt(deployment, "metadata");
  const json depSpec = objectAt(deployment, "spec");
  const json podTemplate = objectAt(depSpec, "template");
  const json podSpec = objectAt(podTemplate, "spec");
  const json containers = arrayAt(podSpec, "containers");
  if (containers.empty()) {
    return invalidArgument("Deployment " + name + " has no containers");
  }
  const size_t mainIndex = mainContainerIndex(containers, name);
  const json& legacyMain = containers[mainIndex];

  MigrationPlan plan;
  plan.record = record;
  plan.record.workload = WorkloadKind::StatefulSet;
  plan.record.storage = record.storage.empty() ? config.storage : record.storage;
  plan.record.image = legacyMain.value("image", record.image);
  plan.replicas = depSpec.contains("replicas") && depSpec["replicas"].is_number_integer()
                      ? std::min(depSpec["replicas"].get<int>(), 1)
                      : 1;
  if (depSpec.contains("replicas") && depSpec["replicas"].is_number_integer() &&
      depSpec["replicas"].get<int>() > 1) {
    plan.changed.push_back({"spec.replicas",
                            std::to_string(depSpec["replicas"].get<int>()) +
                                " → 1: a sandbox runs one pod (it owns a ReadWriteOnce volume)"});
  }
  plan.record.desired = plan.replicas == 0 ? DesiredState::Stopped : DesiredState::Running;
  plan.record.phase = plan.replicas == 0 ? Phase::Stopped : Phase::Running;

  // Env: plain values are recorded in the registry; valueFrom entries are carried verbatim.
  const std::set<std::string> reserved(config.reservedEnv.begin(), config.reservedEnv.end());
  json carriedEnv = json::array();
  plan.record.env.clear();
  plan.record.secretEnvKeys.clear();
  for (const auto& e : arrayAt(legacyMain, "env")) {
    std::string envName = e.value("name", "");
    if (reserved.count(envName) > 0) {
      plan.notCarried.push_back({"env " + envName,
                                 "reserved: the platform sets it (" + envName + " of the "
                                 "StatefulSet is the platform's value)"});
      continue;
    }
    carriedEnv.push_back(e);
    if (e.contains("value") && e["value"].is_string()) {
      plan.record.env[envName] = e["value"].get<std::string>();
    } else if (!e.contains("valueFrom")) {
      plan.record.env[envName] = "";
    } else if (e["valueFrom"].contains("secretKeyRef") &&
               e["valueFrom"]["secretKeyRef"].value("name", "") == names::envSecret(name)) {
      plan.record.secretEnvKeys.push_back(envName);
    }
  }

  SandboxSpec spec;
  spec.name = name;
  spec.nameSpace = record.nameSpace;
  spec.user = record.user;
  spec.sandboxId = record.sandboxId;
  spec.image = plan.record.image;
  spec.storage = plan.record.storage;
  ASSIGN_OR_RETURN(RenderedManifests rendered, renderer.render(spec));
  json sts = rendered.statefulSet;

  // Metadata: our labels win for the keys we own; the rest of the Deployment's are kept.
  json& stsLabels = sts["metadata"]["labels"];
  for (const auto& [key, value] : objectAt(depMeta, "labels").items()) {
    if (!stsLabels.contains(key)) {
      stsLabels[key] = value;
    }
  }
  json& stsAnnotations = sts["metadata"]["annotations"];
  for (const auto& [key, value] : objectAt(depMeta, "annotations").items()) {
    if (kServerAnnotations.count(key) == 0) {
      stsAnnotations[key] = value;
    }
  }
  stsAnnotations["deploy.cloud.sealos.io/resize"] = plan.record.storage;
  sts["spec"]["replicas"] = plan.replicas;

  json& templateMeta = sts["spec"]["template"]["metadata"];
  for (const auto& [key, value] : objectAt(objectAt(podTemplate, "metadata"), "labels").items()) {
    if (!templateMeta["labels"].contains(key)) {
      templateMeta["labels"][key] = value;
    }
  }
  json templateAnnotations = objectAt(objectAt(podTemplate, "metadata"), "annotations");
  if (!templateAnnotations.empty()) {
    for (const auto& [key, value] : templateAnnotations.items()) {
      templateMeta["annotations"][key] = value;
    }
  }

  // The main container.
  json& stsPod = sts["spec"]["template"]["spec"];
  json& main = stsPod["containers"][0];
  json platformEnv = arrayAt(main, "env");
  for (const auto& e : carriedEnv) {
    platformEnv.push_back(e);
  }
  main["env"] = std::move(platformEnv);
  if (legacyMain.contains("ports") && !legacyMain["ports"].empty()) {
    main["ports"] = legacyMain["ports"];
    // The rendered probes check the configured terminal port by number: kept only when the
    // Deployment's container has it too (else the pod would never be Ready).
    for (const char* probe : {"startupProbe", "readinessProbe", "livenessProbe"}) {
      if (!main.contains(probe)) {
        continue;
      }
      const json port = main[probe]["tcpSocket"]["port"];  // a copy: erased below
      const bool has = std::any_of(
          main["ports"].begin(), main["ports"].end(),
          [&](const json& p) { return p.is_object() && p.value("containerPort", json()) == port; });
      if (!has) {
        main.erase(probe);
        plan.changed.push_back({probe, "not added: the Deployment's container has no port " +
                                           port.dump() + " (sandbox.probes.port)"});
      }
    }
  }
  if (legacyMain.contains("resources") && !legacyMain["resources"].empty()) {
    main["resources"] = legacyMain["resources"];
  } else {
    plan.changed.push_back({"resources", "none on the Deployment; the configured defaults apply"});
  }
  for (const auto& field : kCarriedContainerFields) {
    if (legacyMain.contains(field)) {
      main[field] = legacyMain[field];
    }
  }
  std::string legacyName = legacyMain.value("name", "");
  if (legacyName != names::kMainContainer) {
    plan.changed.push_back({"container " + legacyName,
                            "renamed to \"sandbox\": sandboxd addresses the main container by "
                            "that name"});
  }
  for (size_t i = 0; i < containers.size(); ++i) {
    if (i != mainIndex) {
      plan.notCarried.push_back({"container " + containers[i].value("name", ""),
                                 "only the main container is migrated; add it to the "
                                 "StatefulSet by hand if it is still needed"});
    }
  }
  for (const auto& c : arrayAt(podSpec, "initContainers")) {
    plan.notCarried.push_back({"initContainer " + c.value("name", ""),
                               "only the main container is migrated"});
  }

  // Pod-level settings.
  for (const auto& field : kCarriedPodFields) {
    if (podSpec.contains(field)) {
      stsPod[field] = podSpec[field];
    }
  }
  if (podSpec.contains("terminationGracePeriodSeconds") &&
      stsPod.contains("terminationGracePeriodSeconds") &&
      podSpec["terminationGracePeriodSeconds"] != stsPod["terminationGracePeriodSeconds"]) {
    plan.changed.push_back({"terminationGracePeriodSeconds",
                            str(podSpec["terminationGracePeriodSeconds"]) + " → " +
                                str(stsPod["terminationGracePeriodSeconds"]) +
                                " (the platform's setting)"});
  }

  // Volumes: data-less sources follow with their mounts; anything else does not.
  std::set<std::string> carriedVolumes;
  for (const auto& volume : arrayAt(podSpec, "volumes")) {
    std::string volumeName = volume.value("name", "");
    std::string source = volumeSourceOf(volume);
    if (kCarriedVolumeSources.count(source) > 0) {
      stsPod["volumes"].push_back(volume);
      carriedVolumes.insert(volumeName);
      continue;
    }
    std::string why;
    if (source == "emptyDir") {
      why = "emptyDir is scratch space that dies with the pod; " + config.mountPath +
            " is now the persistent volume " + names::pvc(name);
    } else if (source == "persistentVolumeClaim") {
      why = "a claim shared by the Deployment's pods cannot follow a per-pod "
            "volumeClaimTemplate; copy its data into " + names::pvc(name) + " if needed";
    } else {
      why = source + " volumes are not carried over (only configMap, secret, projected and "
                     "downwardAPI are)";
    }
    plan.notCarried.push_back({"volume " + volumeName + " (" + source + ")", why});
  }
  for (const auto& mount : arrayAt(legacyMain, "volumeMounts")) {
    std::string volumeName = mount.value("name", "");
    std::string path = mount.value("mountPath", "");
    if (path == config.mountPath) {
      plan.notCarried.push_back({"volumeMount " + volumeName + " at " + path,
                                 path + " is now the home volume " +
                                     std::string(names::kVolumeClaimTemplate)});
    } else if (carriedVolumes.count(volumeName) > 0) {
      main["volumeMounts"].push_back(mount);
    } else {
      plan.notCarried.push_back({"volumeMount " + volumeName + " at " + path,
                                 "its volume is not carried over"});
    }
  }

  // Deployment-only spec fields.
  json strategy = objectAt(depSpec, "strategy");
  if (strategy.value("type", "RollingUpdate") != "RollingUpdate") {
    plan.notCarried.push_back({"spec.strategy.type " + strategy.value("type", ""),
                               "StatefulSets use updateStrategy RollingUpdate, which for one "
                               "replica stops the old pod before starting the new one"});
  }
  json rolling = objectAt(strategy, "rollingUpdate");
  if (rolling.contains("maxSurge")) {
    plan.notCarried.push_back({"spec.strategy.rollingUpdate.maxSurge (" + str(rolling["maxSurge"]) +
                                   ")",
                               "StatefulSets have no such field: a pod is replaced, never "
                               "surged (it owns a ReadWriteOnce volume)"});
  }
  if (rolling.contains("maxUnavailable")) {
    plan.notCarried.push_back({"spec.strategy.rollingUpdate.maxUnavailable (" +
                                   str(rolling["maxUnavailable"]) + ")",
                               "a StatefulSet updates one pod at a time"});
  }
  if (depSpec.contains("progressDeadlineSeconds")) {
    plan.notCarried.push_back({"spec.progressDeadlineSeconds (" +
                                   str(depSpec["progressDeadlineSeconds"]) + ")",
                               "StatefulSets have no progress deadline; sandboxd reports a "
                               "stuck start in the status reason"});
  }
  if (depSpec.contains("revisionHistoryLimit") &&
      depSpec["revisionHistoryLimit"] != sts["spec"].value("revisionHistoryLimit", json())) {
    plan.changed.push_back({"spec.revisionHistoryLimit",
                            str(depSpec["revisionHistoryLimit"]) + " → " +
                                str(sts["spec"].value("revisionHistoryLimit", json())) +
                                " (the platform's setting)"});
  }
  if (depSpec.contains("minReadySeconds")) {
    sts["spec"]["minReadySeconds"] = depSpec["minReadySeconds"];
  }
  if (depSpec.value("paused", false)) {
    plan.notCarried.push_back({"spec.paused", "StatefulSets cannot be paused"});
  }
  json selector = objectAt(depSpec, "selector");
  json matchLabels = objectAt(selector, "matchLabels");
  if (selector.contains("matchExpressions") || matchLabels.size() > 1) {
    plan.changed.push_back({"spec.selector", "the StatefulSet selects app=" + name + " only"});
  }

  plan.statefulSet = std::move(sts);

  // Services.
  plan.headlessService = rendered.service;
  plan.networkPolicy = rendered.networkPolicy;
  std::set<std::string> oldServiceNames;
  for (const auto& svc : legacy.services) {
    std::string svcName = svc["metadata"].value("name", "");
    oldServiceNames.insert(svcName);
    json svcSpec = objectAt(svc, "spec");
    ServiceChange change;
    change.name = svcName;
    change.action = svcName == names::service(name) ? ServiceChange::Action::Replace
                                                     : ServiceChange::Action::Delete;
    plan.serviceChanges.push_back(change);
    std::string type = svcSpec.value("type", "ClusterIP");
    if (type != "ClusterIP") {
      plan.notCarried.push_back({"Service " + svcName + " type " + type,
                                 "the new Service is headless (clusterIP None); node ports and "
                                 "load balancers are released"});
    }
    if (svcSpec.contains("sessionAffinity") && svcSpec["sessionAffinity"] != "None") {
      plan.notCarried.push_back({"Service " + svcName + " sessionAffinity",
                                 "meaningless for one pod behind a headless Service"});
    }
  }
  // The old Service's ports are what Ingresses and clients use: keep them (first Service that
  // has any), minus node ports.
  for (const auto& svc : legacy.services) {
    json ports = arrayAt(objectAt(svc, "spec"), "ports");
    if (ports.empty()) {
      continue;
    }
    for (auto& port : ports) {
      port.erase("nodePort");
    }
    plan.headlessService["spec"]["ports"] = ports;
    break;
  }
  for (const auto& ingress : legacy.ingresses) {
    std::string ingressName = ingress["metadata"].value("name", "");
    json spec = objectAt(ingress, "spec");
    if (repointBackends(spec, oldServiceNames, names::service(name))) {
      plan.ingressRepoints.push_back({ingressName, spec});
      plan.kept.push_back("Ingress " + ingressName + " (backend repointed to " +
                          names::service(name) + ")");
    } else {
      plan.kept.push_back("Ingress " + ingressName);
    }
  }
  for (const auto& secret : legacy.secrets) {
    plan.kept.push_back("Secret " + secret);
  }
  return plan;
}

std::string formatPlan(const MigrationPlan& plan, bool yaml) {
  const SandboxRecord& r = plan.record;
  const std::string prefix = yaml ? "# " : "";
  std::ostringstream out;
  out << prefix << "sandbox " << r.name << " (namespace " << r.nameSpace << ", owner " << r.user
      << (plan.import ? ", imported into the registry" : "") << ")\n";
  out << prefix << "  create StatefulSet " << r.name << ": replicas " << plan.replicas
      << ", image " << r.image << ", volumeClaimTemplate " << names::kVolumeClaimTemplate << " "
      << r.storage << " → PVC " << names::pvc(r.name)
      << (plan.replicas == 0 ? " (created at the first start)" : "") << "\n";
  bool replaced = false;
  for (const auto& change : plan.serviceChanges) {
    if (change.action == ServiceChange::Action::Replace) {
      replaced = true;
      out << prefix << "  replace Service " << change.name
          << ": the ClusterIP Service is deleted and created again headless (clusterIP None, "
             "selector app="
          << r.name << "); a ClusterIP Service cannot become headless in place\n";
    }
  }
  if (!replaced) {
    out << prefix << "  create Service " << names::service(r.name)
        << ": headless (clusterIP None, selector app=" << r.name << ")\n";
  }
  for (const auto& change : plan.serviceChanges) {
    if (change.action == ServiceChange::Action::Delete) {
      out << prefix << "  delete Service " << change.name << ": the old ClusterIP Service, "
          << "replaced by the headless " << names::service(r.name)
          << " (a ClusterIP Service cannot become headless in place)\n";
    }
  }
  if (plan.networkPolicy) {
    out << prefix << "  create NetworkPolicy " << names::networkPolicy(r.name)
        << ": the StatefulSet's pod accepts connections only from the ingress controller\n";
  }
  out << prefix << "  delete Deployment " << r.name << " once the StatefulSet is "
      << (plan.replicas == 0 ? "STOPPED" : "RUNNING") << "\n";
  for (const auto& kept : plan.kept) {
    out << prefix << "  keep " << kept << "\n";
  }
  for (const auto& note : plan.changed) {
    out << prefix << "  changed " << note.field << ": " << note.reason << "\n";
  }
  for (const auto& note : plan.notCarried) {
    out << prefix << "  not carried over " << note.field << ": " << note.reason << "\n";
  }
  if (yaml) {
    std::vector<json> documents = {plan.statefulSet, plan.headlessService};
    if (plan.networkPolicy) {
      documents.push_back(*plan.networkPolicy);
    }
    out << toYamlDocuments(documents);
  }
  return out.str();
}

bool statefulSetSettled(const json& sts) {
  const json& meta = sts.contains("metadata") ? sts["metadata"] : json::object();
  const json spec = objectAt(sts, "spec");
  const json status = objectAt(sts, "status");
  int64_t generation = meta.value("generation", int64_t{0});
  int64_t observed = status.value("observedGeneration", int64_t{0});
  if (observed < generation) {
    return false;
  }
  int desired = spec.value("replicas", 1);
  if (desired == 0) {
    return status.value("replicas", 0) == 0;
  }
  return status.value("readyReplicas", 0) >= desired &&
         status.value("updatedReplicas", 0) >= desired;
}

}  // namespace sandboxd
