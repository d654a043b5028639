#include "render/pod_security.h"

namespace sandboxd {
namespace {

using json = nlohmann::json;

// `node[key]` as an object (created, or replaced when the template had a non-object there).
json& objectAt(json& node, const char* key) {
  json& child = node[key];
  if (!child.is_object()) {
    child = json::object();
  }
  return child;
}

}  // namespace

void applyPodSecurity(const SecurityConfig& security, json& podSpec, json& container) {
  podSpec["automountServiceAccountToken"] = security.automountServiceAccountToken;
  podSpec["enableServiceLinks"] = security.enableServiceLinks;

  json& pod = objectAt(podSpec, "securityContext");
  if (security.runAsNonRoot) {
    pod["runAsNonRoot"] = true;
  }
  if (security.runAsUser) pod["runAsUser"] = *security.runAsUser;
  if (security.runAsGroup) pod["runAsGroup"] = *security.runAsGroup;
  if (security.fsGroup) pod["fsGroup"] = *security.fsGroup;
  if (!security.seccompProfile.empty()) {
    pod["seccompProfile"] = {{"type", security.seccompProfile}};
  }

  json& box = objectAt(container, "securityContext");
  box["allowPrivilegeEscalation"] = security.allowPrivilegeEscalation;
  if (security.dropAllCapabilities) {
    objectAt(box, "capabilities")["drop"] = json::array({"ALL"});
  }
  if (security.runAsNonRoot) {
    // Also on the container: admission policies that look at containers only see it there.
    box["runAsNonRoot"] = true;
  }
}

json containerResources(const ResourcesConfig& r) {
  json resources = json::object();
  const std::pair<const char*, const std::string*> requests[] = {
      {"cpu", &r.cpuRequest}, {"memory", &r.memoryRequest},
      {"ephemeral-storage", &r.ephemeralStorageRequest}};
  const std::pair<const char*, const std::string*> limits[] = {
      {"cpu", &r.cpuLimit}, {"memory", &r.memoryLimit},
      {"ephemeral-storage", &r.ephemeralStorageLimit}};
  for (const auto& [name, value] : requests) {
    if (!value->empty()) resources["requests"][name] = *value;
  }
  for (const auto& [name, value] : limits) {
    if (!value->empty()) resources["limits"][name] = *value;
  }
  return resources;
}

}  // namespace sandboxd
