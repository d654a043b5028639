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
  std::optional<json> networkPolicy;  // {name}-netpol, unless sandbox.networkPolicy is off
  // In apply order: Secret, NetworkPolicy, Service, StatefulSet, Ingresses.
  std::vector<json> all() const;
};

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
