// Rendering a sandbox's Kubernetes manifests from the YAML templates in yaml/sandbox/.
// Templates are parsed first; values are substituted into the parsed tree (scalars only, one
// pass, so a value is never re-expanded) or added as structured nodes (env, VCT, ports,
// resources, node selector, tolerations). No user value is pasted into YAML text.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sandboxd/common/status.h"
#include "sandboxd/config/config.h"
#include "sandboxd/model/sandbox.h"

namespace sandboxd {

using json = nlohmann::json;

struct RenderedManifests {
  json statefulSet;
  json service;              // headless, {name}-service
  std::vector<json> ingresses;
  std::optional<json> secret;  // {name}-env, only when there are secret values
  // In apply order: Secret, Service, StatefulSet, Ingresses.
  std::vector<json> all() const;
};

// Names derived from a sandbox name (the naming rules, in one place).
namespace names {
std::string service(const std::string& sandbox);        // {name}-service
std::string envSecret(const std::string& sandbox);      // {name}-env
std::string ingress(const std::string& sandbox, const std::string& port);  // {name}-{port}-ingress
std::string pvc(const std::string& sandbox);            // vn-homevn-agent-{name}-0
std::string pod(const std::string& sandbox);            // {name}-0
std::string host(const std::string& sandbox, const std::string& port, const std::string& domain);
// {scheme}://{host}
std::string url(const std::string& scheme, const std::string& sandbox, const std::string& port,
                const std::string& domain);
inline constexpr const char* kVolumeClaimTemplate = "vn-homevn-agent";
inline constexpr const char* kMainContainer = "sandbox";
}  // namespace names

// Labels sandboxd puts on (and selects) its objects.
namespace labels {
inline constexpr const char* kApp = "app";
inline constexpr const char* kAppDeployManager = "cloud.sealos.io/app-deploy-manager";
inline constexpr const char* kAppDeployManagerDomain = "cloud.sealos.io/app-deploy-manager-domain";
inline constexpr const char* kManagedBy = "app.kubernetes.io/managed-by";
inline constexpr const char* kManagedByValue = "sandboxd";
inline constexpr const char* kSandboxId = "sandboxd.io/sandbox-id";
inline constexpr const char* kOwner = "sandboxd.io/owner";
// Selector for everything sandboxd manages.
std::string managedSelector();
}  // namespace labels

class ManifestRenderer {
 public:
  virtual ~ManifestRenderer() = default;
  // Renders all manifests of `spec` (already validated). Deterministic: same input, same output.
  virtual StatusOr<RenderedManifests> render(const SandboxSpec& spec) const = 0;
};

using ManifestRendererPtr = std::shared_ptr<const ManifestRenderer>;

// Loads templates from `config.server.templatesDir` or, when empty, the embedded copies.
// InvalidArgument if a template is missing or not valid YAML.
StatusOr<ManifestRendererPtr> makeTemplateRenderer(const Config& config);

// Multi-document YAML ("---" separated), keys sorted, strings quoted whenever a plain scalar
// would read back as anything else. Same input, same bytes.
std::string toYamlDocuments(const std::vector<json>& objects);

// YAML (yaml-cpp) → JSON with YAML typing: quoted scalars stay strings; plain scalars become
// int/float/bool/null where YAML 1.2 core schema says so.
StatusOr<json> yamlToJson(const std::string& yamlText, const std::string& sourceName);

}  // namespace sandboxd
