#include "sandboxd/service/drift.h"

#include <algorithm>
#include <memory>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "sandboxd/model/naming.h"

namespace sandboxd {

const char* toString(DriftItem::Kind kind) {
  switch (kind) {
    case DriftItem::Kind::Orphan: return "orphan";
    case DriftItem::Kind::Missing: return "missing";
    case DriftItem::Kind::Lingering: return "lingering";
  }
  return "unknown";
}

bool DriftItem::operator==(const DriftItem& o) const {
  return std::tie(kind, objectKind, nameSpace, name, sandbox, detail) ==
         std::tie(o.kind, o.objectKind, o.nameSpace, o.name, o.sandbox, o.detail);
}

int DriftReport::count(DriftItem::Kind kind) const {
  return static_cast<int>(std::count_if(items.begin(), items.end(),
                                        [kind](const DriftItem& i) { return i.kind == kind; }));
}

std::string DriftReport::format() const {
  std::ostringstream out;
  for (const auto& i : items) {
    out << toString(i.kind) << " " << i.objectKind << " " << i.nameSpace << "/" << i.name
        << " (sandbox " << i.sandbox << "): " << i.detail << "\n";
  }
  out << "orphans " << count(DriftItem::Kind::Orphan) << ", missing "
      << count(DriftItem::Kind::Missing) << ", lingering " << count(DriftItem::Kind::Lingering)
      << "\n";
  return out.str();
}

namespace {

constexpr const char* kPvcPrefix = "vn-homevn-agent-";
constexpr const char* kPvcSuffix = "-0";

std::string metaString(const json& object, const char* key) {
  if (!object.contains("metadata") || !object["metadata"].is_object()) {
    return "";
  }
  const json& meta = object["metadata"];
  return meta.contains(key) && meta[key].is_string() ? meta[key].get<std::string>() : "";
}

bool beingDeleted(const json& object) {
  return object.contains("metadata") && object["metadata"].contains("deletionTimestamp") &&
         !object["metadata"]["deletionTimestamp"].is_null();
}

// The sandbox a home-volume claim belongs to: vn-homevn-agent-{name}-0, or "".
std::string sandboxOfPvc(const std::string& pvc) {
  const std::string prefix = kPvcPrefix;
  const std::string suffix = kPvcSuffix;
  if (pvc.size() <= prefix.size() + suffix.size() || pvc.compare(0, prefix.size(), prefix) != 0 ||
      pvc.compare(pvc.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return "";
  }
  return pvc.substr(prefix.size(), pvc.size() - prefix.size() - suffix.size());
}

using ObjectKey = std::tuple<std::string, std::string, std::string>;  // kind, namespace, name

// The objects a live sandbox needs, as (kind, name).
std::vector<std::pair<std::string, std::string>> expectedObjects(const SandboxRecord& r,
                                                                 const SandboxConfig& config) {
  std::vector<std::pair<std::string, std::string>> out;
  if (r.workload == WorkloadKind::Deployment) {
    out.emplace_back("Deployment", r.name);  // legacy: its other objects predate our labels
    return out;
  }
  out.emplace_back("StatefulSet", r.name);
  out.emplace_back("Service", names::service(r.name));
  const SandboxConfig* settings = profileConfig(config, r.profile);
  for (const auto& port : (settings != nullptr ? *settings : config).ports) {
    if (port.ingress) {
      out.emplace_back("Ingress", names::ingress(r.name, port.name));
    }
  }
  if (!r.secretEnvKeys.empty()) {
    out.emplace_back("Secret", names::envSecret(r.name));
  }
  if (config.networkPolicy.enabled) {
    // Also how sandboxes made before NetworkPolicies existed get theirs: the reconciler
    // repairs the missing object.
    out.emplace_back("NetworkPolicy", names::networkPolicy(r.name));
  }
  return out;
}

}  // namespace

DriftReport computeDrift(const std::vector<SandboxRecordPtr>& records,
                         const std::vector<json>& objects, const SandboxConfig& config) {
  std::map<std::pair<std::string, std::string>, const SandboxRecord*> byName;  // (ns, name)
  for (const auto& r : records) {
    byName[{r->nameSpace, r->name}] = r.get();
  }
  std::set<ObjectKey> present;
  DriftReport report;
  for (const auto& object : objects) {
    const std::string kind = object.value("kind", "");
    const std::string ns = metaString(object, "namespace");
    const std::string name = metaString(object, "name");
    present.insert({kind, ns, name});
    if (beingDeleted(object)) {
      continue;
    }
    if (kind == "PersistentVolumeClaim") {
      const std::string sandbox = sandboxOfPvc(name);
      if (!sandbox.empty() && byName.count({ns, sandbox}) == 0) {
        report.items.push_back({DriftItem::Kind::Orphan, kind, ns, name, sandbox,
                                "a home volume no registry entry accounts for (kept: sandboxd "
                                "never deletes a volume it does not know)"});
      }
      continue;
    }
    const bool legacy = kind == "Deployment";
    const std::string sandbox =
        legacy ? labelOf(object, labels::kAppDeployManager) : labelOf(object, labels::kApp);
    auto it = byName.find({ns, sandbox});
    if (it == byName.end()) {
      report.items.push_back(
          {DriftItem::Kind::Orphan, kind, ns, name, sandbox,
           legacy ? "a legacy Deployment sandbox the registry does not know (sandboxd migrate "
                    "imports and converts it)"
                  : "carries sandboxd's labels but no registry entry has this sandbox"});
      continue;
    }
    const SandboxRecord& r = *it->second;
    if (legacy && r.workload == WorkloadKind::StatefulSet && r.desired != DesiredState::Deleted) {
      report.items.push_back({DriftItem::Kind::Lingering, kind, ns, name, sandbox,
                              "the sandbox runs as a StatefulSet but its old Deployment remains "
                              "(an interrupted migration: run sandboxd migrate again)"});
      continue;
    }
    const std::string id = labelOf(object, labels::kSandboxId);
    if (!id.empty() && !r.sandboxId.empty() && id != r.sandboxId) {
      report.items.push_back({DriftItem::Kind::Orphan, kind, ns, name, sandbox,
                              "belongs to sandbox id " + id + ", the registry's is " +
                                  r.sandboxId});
      continue;
    }
    if (r.desired == DesiredState::Deleted) {
      report.items.push_back({DriftItem::Kind::Lingering, kind, ns, name, sandbox,
                              "the sandbox is deleted but this object remains"});
    }
  }
  for (const auto& record : records) {
    const SandboxRecord& r = *record;
    if (r.desired == DesiredState::Deleted) {
      continue;
    }
    for (const auto& [kind, name] : expectedObjects(r, config)) {
      if (present.count({kind, r.nameSpace, name}) == 0) {
        report.items.push_back({DriftItem::Kind::Missing, kind, r.nameSpace, name, r.name,
                                std::string("the sandbox is ") + toString(r.desired) +
                                    " in the registry but this object does not exist"});
      }
    }
  }
  std::sort(report.items.begin(), report.items.end(), [](const DriftItem& a, const DriftItem& b) {
    return std::tie(a.nameSpace, a.sandbox, a.kind, a.objectKind, a.name) <
           std::tie(b.nameSpace, b.sandbox, b.kind, b.objectKind, b.name);
  });
  return report;
}

std::vector<std::string> namespacesOf(const std::vector<SandboxRecordPtr>& records,
                                      const SandboxConfig& config) {
  std::set<std::string> namespaces = {config.nameSpace};
  for (const auto& r : records) {
    namespaces.insert(r->nameSpace);
  }
  return {namespaces.begin(), namespaces.end()};
}

const std::shared_ptr<const FieldMask>& driftFields() {
  static const auto fields = std::make_shared<const FieldMask>(FieldMask{
      {"metadata",
       FieldMask{{"name", {}},
                 {"namespace", {}},
                 {"deletionTimestamp", {}},
                 {"labels",
                  FieldMask::keys({labels::kApp, labels::kAppDeployManager, labels::kSandboxId})}}},
      {"spec", FieldMask::keys({"replicas"})}});
  return fields;
}

json compactForDrift(const ResourceType& type, json& item) {
  applyFieldMask(item, *driftFields());
  json compact = {{"apiVersion", type.apiVersion},  // list items may omit them
                  {"kind", type.kind}};
  const auto meta = item.find("metadata");
  json& kept = compact["metadata"] =
      meta != item.end() && meta->is_object() ? std::move(*meta) : json::object();
  if (kept.contains("labels") && !kept["labels"].is_object()) {
    kept.erase("labels");
  }
  const auto spec = item.find("spec");
  if (spec != item.end() && spec->is_object() && spec->contains("replicas")) {
    compact["spec"] = std::move(*spec);
  }
  return compact;
}

StatusOr<std::vector<json>> listSandboxObjects(KubeClient& client,
                                               const std::vector<std::string>& namespaces) {
  ListOptions managed;
  managed.labelSelector = labels::managedSelector();
  ListOptions legacy;  // Deployments predate our labels: select them by the platform's
  legacy.labelSelector = labels::kAppDeployManager;
  std::vector<json> objects;
  auto collect = [&](const ResourceType& type, const std::string& ns,
                     const ListOptions& options, bool homeVolumesOnly) -> Status {
    std::string continueToken;
    do {
      ListOptions page = options;
      page.limit = 500;
      page.itemFields = driftFields();  // the client parses no more than compactForDrift keeps
      page.continueToken = continueToken;
      ASSIGN_OR_RETURN(json list, client.list(type, ns, page));
      for (json& item : list["items"]) {
        if (homeVolumesOnly && sandboxOfPvc(metaString(item, "name")).empty()) {
          continue;
        }
        objects.push_back(compactForDrift(type, item));
      }
      continueToken = list.contains("metadata") ? list["metadata"].value("continue", "") : "";
    } while (!continueToken.empty());
    return Status::ok();
  };
  for (const auto& ns : namespaces) {
    for (const ResourceType* type :
         {&resources::statefulSets(), &resources::services(), &resources::ingresses(),
          &resources::networkPolicies(), &resources::secrets()}) {
      RETURN_IF_ERROR(collect(*type, ns, managed, false).withContext("listing " + type->plural));
    }
    RETURN_IF_ERROR(collect(resources::deployments(), ns, legacy, false)
                        .withContext("listing deployments"));
    RETURN_IF_ERROR(collect(resources::persistentVolumeClaims(), ns, ListOptions{}, true)
                        .withContext("listing persistentvolumeclaims"));
  }
  return objects;
}

StatusOr<DriftReport> inspectDrift(KubeClient& client, Registry& registry,
                                   const SandboxConfig& config) {
  ASSIGN_OR_RETURN(std::vector<SandboxRecordPtr> records, registry.listSandboxes());
  ASSIGN_OR_RETURN(std::vector<json> objects,
                   listSandboxObjects(client, namespacesOf(records, config)));
  return computeDrift(records, objects, config);
}

}  // namespace sandboxd
