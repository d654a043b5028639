// Renders a sandbox's manifests from the parsed templates in yaml/sandbox/.
#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "render/network_policy.h"
#include "render/pod_security.h"
#include "render/probes.h"
#include "render/profile_extras.h"
#include "sandboxd/common/embedded_files.h"
#include "sandboxd/model/naming.h"
#include "sandboxd/render/manifest_renderer.h"
#include "sandboxd/validation/validation.h"

namespace sandboxd {

std::vector<json> RenderedManifests::all() const {
  std::vector<json> out;
  if (secret) {
    out.push_back(*secret);
  }
  // Before the pod exists, so it is never reachable without it.
  if (networkPolicy) {
    out.push_back(*networkPolicy);
  }
  out.push_back(service);
  out.push_back(statefulSet);
  for (const auto& ingress : ingresses) {
    out.push_back(ingress);
  }
  return out;
}

namespace {

using Vars = std::map<std::string, std::string>;

// Replaces every {{var}} in `text` in one left-to-right pass; inserted values are never
// scanned again, so a value containing "{{name}}" stays exactly that.
StatusOr<std::string> substitute(const std::string& text, const Vars& vars) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find("{{", pos);
    if (open == std::string::npos) {
      out.append(text, pos, std::string::npos);
      return out;
    }
    size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) {
      return invalidArgument("template: unterminated placeholder in \"" + text + "\"");
    }
    out.append(text, pos, open - pos);
    std::string var = text.substr(open + 2, close - open - 2);
    auto it = vars.find(var);
    if (it == vars.end()) {
      return invalidArgument("template: unknown placeholder {{" + var + "}}");
    }
    out += it->second;
    pos = close + 2;
  }
}

Status substituteTree(json& node, const Vars& vars) {
  if (node.is_string()) {
    ASSIGN_OR_RETURN(std::string value, substitute(node.get<std::string>(), vars));
    node = std::move(value);
  } else if (node.is_object() || node.is_array()) {
    for (auto& child : node) {
      RETURN_IF_ERROR(substituteTree(child, vars));
    }
  }
  return Status::ok();
}

// "5Gi" → "5"; the Sealos VCT `value` annotation is the size in Gi.
std::string storageValueGi(const std::string& storage) {
  auto bytes = parseStorageQuantity(storage);
  if (!bytes.isOk()) {
    return storage;
  }
  int64_t gi = int64_t{1} << 30;
  if (*bytes % gi == 0) {
    return std::to_string(*bytes / gi);
  }
  return storage;
}

class TemplateRenderer : public ManifestRenderer {
 public:
  TemplateRenderer(const Config& config, json statefulSet, json service, json ingress,
                   json secret, std::optional<json> networkPolicy)
      : config_(config.sandbox),
        forwardAuth_(config.server.forwardAuth),
        statefulSet_(std::move(statefulSet)),
        service_(std::move(service)),
        ingress_(std::move(ingress)),
        secret_(std::move(secret)),
        networkPolicy_(std::move(networkPolicy)) {}

  // ManifestRenderer
  StatusOr<RenderedManifests> render(const SandboxSpec& spec) const override {
    const SandboxConfig* settings = profileConfig(config_, spec.profile);
    if (settings == nullptr) {
      return invalidArgument("profile: \"" + spec.profile + "\" is not a configured profile");
    }
    return render(spec, *settings);
  }

 private:
  // Renders `spec` with the settings of its profile.
  StatusOr<RenderedManifests> render(const SandboxSpec& spec, const SandboxConfig& settings) const {
    const std::string image = spec.image.empty() ? settings.image : spec.image;
    const std::string storage = spec.storage.empty() ? settings.storage : spec.storage;
    const std::string ns = spec.nameSpace.empty() ? settings.nameSpace : spec.nameSpace;
    Vars vars = {
        {"name", spec.name},
        {"namespace", ns},
        {"user", spec.user},
        {"sandboxId", spec.sandboxId},
        {"image", image},
        {"storage", storage},
        {"storageValue", storageValueGi(storage)},
        {"serviceName", names::service(spec.name)},
        {"secretName", names::envSecret(spec.name)},
        {"networkPolicyName", names::networkPolicy(spec.name)},
        {"mountPath", settings.mountPath},
        {"ingressClass", settings.ingressClass},
        {"tlsSecret", settings.tlsSecret},
    };

    RenderedManifests out;
    out.statefulSet = statefulSet_;
    RETURN_IF_ERROR(substituteTree(out.statefulSet, vars).withContext("statefulset.yaml"));
    RETURN_IF_ERROR(completeStatefulSet(out.statefulSet, spec, settings));

    out.service = service_;
    RETURN_IF_ERROR(substituteTree(out.service, vars).withContext("service.yaml"));
    json& servicePorts = out.service["spec"]["ports"] = json::array();
    for (const auto& port : settings.ports) {
      servicePorts.push_back(
          {{"name", port.name}, {"port", port.port}, {"targetPort", port.port},
           {"protocol", "TCP"}});
    }

    if (networkPolicy_) {
      json policy = *networkPolicy_;
      RETURN_IF_ERROR(substituteTree(policy, vars).withContext("networkpolicy.yaml"));
      completeNetworkPolicy(settings, policy);
      out.networkPolicy = std::move(policy);
    }

    for (const auto& port : settings.ports) {
      if (!port.ingress) {
        continue;
      }
      Vars ingressVars = vars;
      ingressVars["ingressName"] = names::ingress(spec.name, port.name);
      ingressVars["host"] = names::host(spec.name, port.name, settings.domain);
      ingressVars["hostPrefix"] = spec.name + "-" + port.name;
      // A port the sandbox made public has no forward auth in front of it.
      const bool isPublic = std::find(spec.publicPorts.begin(), spec.publicPorts.end(),
                                      port.name) != spec.publicPorts.end();
      ingressVars["authUrl"] = isPublic ? "" : forwardAuth_.checkUrl;
      ingressVars["authSignin"] = isPublic ? "" : forwardAuth_.signinUrl;
      json ingress = ingress_;
      RETURN_IF_ERROR(substituteTree(ingress, ingressVars).withContext("ingress.yaml"));
      dropEmptyAuthAnnotations(ingress);
      for (auto& rule : ingress["spec"]["rules"]) {
        for (auto& path : rule["http"]["paths"]) {
          path["backend"]["service"]["port"] = {{"number", port.port}};
        }
      }
      out.ingresses.push_back(std::move(ingress));
    }

    if (!spec.secretEnv.empty()) {
      json secret = secret_;
      RETURN_IF_ERROR(substituteTree(secret, vars).withContext("secret.yaml"));
      json data = json::object();
      for (const auto& [key, value] : spec.secretEnv) {
        data[key] = value;
      }
      secret["stringData"] = std::move(data);
      out.secret = std::move(secret);
    }
    return out;
  }

  // Forward auth not configured (server.forwardAuth): the ingress-nginx auth annotations the
  // template has are left out rather than rendered empty.
  static void dropEmptyAuthAnnotations(json& ingress) {
    auto metadata = ingress.find("metadata");
    if (metadata == ingress.end() || !metadata->contains("annotations") ||
        !(*metadata)["annotations"].is_object()) {
      return;
    }
    json& annotations = (*metadata)["annotations"];
    for (auto it = annotations.begin(); it != annotations.end();) {
      if (it.key().rfind("nginx.ingress.kubernetes.io/auth-", 0) == 0 && it->is_string() &&
          it->get<std::string>().empty()) {
        it = annotations.erase(it);
      } else {
        ++it;
      }
    }
  }

  Status completeStatefulSet(json& sts, const SandboxSpec& spec,
                             const SandboxConfig& settings) const {
    json& podSpec = sts["spec"]["template"]["spec"];
    json* main = nullptr;
    for (auto& c : podSpec["containers"]) {
      if (c.value("name", "") == names::kMainContainer) {
        main = &c;
      }
    }
    if (main == nullptr) {
      return invalidArgument("statefulset.yaml: no container named \"sandbox\"");
    }
    json& env = (*main)["env"];
    if (!env.is_array()) {
      env = json::array();
    }
    // User variables in name order (plain and secret together), after the platform ones.
    std::map<std::string, json> entries;
    for (const auto& [key, value] : spec.env) {
      entries[key] = {{"name", key}, {"value", value}};
    }
    for (const auto& [key, value] : spec.secretEnv) {
      entries[key] = {{"name", key},
                      {"valueFrom",
                       {{"secretKeyRef",
                         {{"name", names::envSecret(spec.name)}, {"key", key}}}}}};
    }
    for (auto& [key, entry] : entries) {
      env.push_back(std::move(entry));
    }

    json ports = json::array();
    for (const auto& port : settings.ports) {
      ports.push_back({{"name", port.name}, {"containerPort", port.port}, {"protocol", "TCP"}});
    }
    (*main)["ports"] = std::move(ports);

    (*main)["resources"] = containerResources(settings.resources);
    applyPodSecurity(settings.security, podSpec, *main);
    applyProbes(settings.probes, settings.ports, *main);

    if (!settings.nodeSelector.empty()) {
      podSpec["nodeSelector"] = settings.nodeSelector;
    }
    if (!settings.tolerations.empty()) {
      json tolerations = json::array();
      for (const auto& t : settings.tolerations) {
        json tol = {{"operator", t.op}};
        if (!t.key.empty()) tol["key"] = t.key;
        if (!t.value.empty()) tol["value"] = t.value;
        if (!t.effect.empty()) tol["effect"] = t.effect;
        tolerations.push_back(std::move(tol));
      }
      podSpec["tolerations"] = std::move(tolerations);
    }
    if (!settings.storageClass.empty()) {
      for (auto& vct : sts["spec"]["volumeClaimTemplates"]) {
        vct["spec"]["storageClassName"] = settings.storageClass;
      }
    }
    return applyProfileExtras(settings, sts);
  }

  SandboxConfig config_;
  ForwardAuthConfig forwardAuth_;  // the Ingresses' auth-url and auth-signin
  json statefulSet_;
  json service_;
  json ingress_;
  json secret_;
  std::optional<json> networkPolicy_;  // with sandbox.networkPolicy.enabled
};

StatusOr<std::string> readTemplate(const Config& config, const std::string& file) {
  if (config.server.templatesDir.empty()) {
    auto text = embeddedFile("yaml/sandbox/" + file);
    if (!text) {
      return invalidArgument("template yaml/sandbox/" + file + " is not embedded");
    }
    return *text;
  }
  std::string path = config.server.templatesDir + "/" + file;
  std::ifstream in(path);
  if (!in) {
    return invalidArgument("cannot read template " + path);
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

StatusOr<json> loadTemplate(const Config& config, const std::string& file,
                            const std::string& kind) {
  ASSIGN_OR_RETURN(std::string text, readTemplate(config, file));
  ASSIGN_OR_RETURN(json tree, yamlToJson(text, file));
  if (!tree.is_object() || tree.value("kind", "") != kind) {
    return invalidArgument("template " + file + " must be one " + kind + " object");
  }
  return tree;
}

}  // namespace

StatusOr<ManifestRendererPtr> makeTemplateRenderer(const Config& config) {
  ASSIGN_OR_RETURN(json sts, loadTemplate(config, "statefulset.yaml", "StatefulSet"));
  ASSIGN_OR_RETURN(json svc, loadTemplate(config, "service.yaml", "Service"));
  ASSIGN_OR_RETURN(json ing, loadTemplate(config, "ingress.yaml", "Ingress"));
  ASSIGN_OR_RETURN(json sec, loadTemplate(config, "secret.yaml", "Secret"));
  std::optional<json> netpol;
  if (config.sandbox.networkPolicy.enabled) {
    ASSIGN_OR_RETURN(netpol, loadTemplate(config, "networkpolicy.yaml", "NetworkPolicy"));
  }
  return ManifestRendererPtr(std::make_shared<TemplateRenderer>(
      config, std::move(sts), std::move(svc), std::move(ing), std::move(sec), std::move(netpol)));
}

}  // namespace sandboxd
