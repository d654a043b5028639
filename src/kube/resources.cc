#include <cctype>
#include <string>

#include "sandboxd/kube/kube_client.h"

namespace sandboxd {
namespace resources {

const ResourceType& statefulSets() {
  static const ResourceType t{"/apis/apps/v1", "statefulsets", "StatefulSet", "apps/v1", true};
  return t;
}
const ResourceType& deployments() {
  static const ResourceType t{"/apis/apps/v1", "deployments", "Deployment", "apps/v1", true};
  return t;
}
const ResourceType& services() {
  static const ResourceType t{"/api/v1", "services", "Service", "v1", true};
  return t;
}
const ResourceType& ingresses() {
  static const ResourceType t{"/apis/networking.k8s.io/v1", "ingresses", "Ingress",
                              "networking.k8s.io/v1", true};
  return t;
}
const ResourceType& networkPolicies() {
  static const ResourceType t{"/apis/networking.k8s.io/v1", "networkpolicies", "NetworkPolicy",
                              "networking.k8s.io/v1", true};
  return t;
}
const ResourceType& secrets() {
  static const ResourceType t{"/api/v1", "secrets", "Secret", "v1", true};
  return t;
}
const ResourceType& pods() {
  static const ResourceType t{"/api/v1", "pods", "Pod", "v1", true};
  return t;
}
const ResourceType& persistentVolumeClaims() {
  static const ResourceType t{"/api/v1", "persistentvolumeclaims", "PersistentVolumeClaim", "v1",
                              true};
  return t;
}
const ResourceType& events() {
  static const ResourceType t{"/api/v1", "events", "Event", "v1", true};
  return t;
}
const ResourceType& namespaces() {
  static const ResourceType t{"/api/v1", "namespaces", "Namespace", "v1", false};
  return t;
}

const ResourceType& volumeSnapshots() {
  static const ResourceType t{"/apis/snapshot.storage.k8s.io/v1", "volumesnapshots",
                              "VolumeSnapshot", "snapshot.storage.k8s.io/v1", true};
  return t;
}
const ResourceType& volumeSnapshotClasses() {
  static const ResourceType t{"/apis/snapshot.storage.k8s.io/v1", "volumesnapshotclasses",
                              "VolumeSnapshotClass", "snapshot.storage.k8s.io/v1", false};
  return t;
}

const ResourceType* forKind(const std::string& apiVersion, const std::string& kind) {
  for (const ResourceType* t :
       {&statefulSets(), &deployments(), &services(), &ingresses(), &networkPolicies(),
        &secrets(), &pods(), &persistentVolumeClaims(), &events(), &namespaces(),
        &volumeSnapshots(), &volumeSnapshotClasses()}) {
    if (t->apiVersion == apiVersion && t->kind == kind) {
      return t;
    }
  }
  return nullptr;
}

}  // namespace resources

std::string percentEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string resourcePath(const ResourceType& type, const std::string& ns, const std::string& name,
                         const std::string& subresource) {
  std::string path = type.apiPath;
  if (type.namespaced && !ns.empty()) {
    path += "/namespaces/" + percentEncode(ns);
  }
  path += "/" + type.plural;
  if (!name.empty()) {
    path += "/" + percentEncode(name);
    if (!subresource.empty()) {
      path += "/" + percentEncode(subresource);
    }
  }
  return path;
}

const char* contentTypeOf(PatchType type) {
  switch (type) {
    case PatchType::Merge: return "application/merge-patch+json";
    case PatchType::StrategicMerge: return "application/strategic-merge-patch+json";
    case PatchType::Json: return "application/json-patch+json";
  }
  return "application/merge-patch+json";
}

const std::string* findLabel(const json& object, const std::string& key) {
  if (!object.is_object()) {
    return nullptr;
  }
  const auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) {
    return nullptr;
  }
  const auto labels = meta->find("labels");
  if (labels == meta->end() || !labels->is_object()) {
    return nullptr;
  }
  const auto value = labels->find(key);
  return value != labels->end() && value->is_string() ? &value->get_ref<const std::string&>()
                                                      : nullptr;
}

std::string labelOf(const json& object, const std::string& key) {
  const std::string* value = findLabel(object, key);
  return value != nullptr ? *value : std::string();
}

}  // namespace sandboxd
