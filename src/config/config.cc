// Configuration loading: YAML over defaults, then SANDBOXD_* environment overrides.
//
// Every mapping is checked key by key against a table of known fields, so a typo fails with
// an error naming it ("sandboxd.yaml:4: server.listn: unknown key") instead of being ignored.
// yaml-cpp throws; every exception is caught here and returned as InvalidArgument.
#include "sandboxd/config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <utility>

#include "config/config_validation.h"

namespace sandboxd {
namespace {

constexpr const char* kDefaultConfigPath = "config/sandboxd.yaml";

// Reads YAML nodes into config fields; each error names the source, line and key path.
class Parser {
 public:
  using Field = std::function<Status(const YAML::Node& value, const std::string& path)>;
  using Fields = std::vector<std::pair<std::string, Field>>;

  explicit Parser(std::string source) : source_(std::move(source)) {}

  Status error(const YAML::Node& node, const std::string& path, const std::string& what) const {
    std::string where = source_;
    const YAML::Mark mark = node.Mark();
    if (mark.line >= 0) {
      where += ":" + std::to_string(mark.line + 1);
    }
    return invalidArgument(where + ": " + path + ": " + what);
  }

  // A mapping whose keys must all be in `fields`; null (an empty section) sets nothing.
  Status mapping(const YAML::Node& node, const std::string& path, const Fields& fields) const {
    if (node.IsNull()) {
      return Status::ok();
    }
    if (!node.IsMap()) {
      return error(node, path.empty() ? "(top level)" : path, "expected a mapping");
    }
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        return error(kv.first, path, "keys must be plain strings");
      }
      const std::string key = kv.first.Scalar();
      const std::string keyPath = path.empty() ? key : path + "." + key;
      if (!seen.insert(key).second) {
        return error(kv.first, keyPath, "duplicate key");
      }
      const Field* field = nullptr;
      for (const auto& [name, f] : fields) {
        if (name == key) {
          field = &f;
        }
      }
      if (field == nullptr) {
        std::string known;
        for (const auto& [name, f] : fields) {
          known += (known.empty() ? "" : ", ") + name;
        }
        return error(kv.first, keyPath, "unknown key (known keys: " + known + ")");
      }
      RETURN_IF_ERROR((*field)(kv.second, keyPath));
    }
    return Status::ok();
  }

  Field str(std::string& out) const {
    return [this, &out](const YAML::Node& n, const std::string& path) -> Status {
      if (n.IsNull()) {
        out.clear();  // `storageClass:` with no value means empty
        return Status::ok();
      }
      if (!n.IsScalar()) {
        return error(n, path, "expected a string");
      }
      out = n.Scalar();
      return Status::ok();
    };
  }

  template <typename Int>
  Field integer(Int& out) const {
    return [this, &out](const YAML::Node& n, const std::string& path) -> Status {
      int64_t v = 0;
      if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, v) ||
          v < std::numeric_limits<Int>::min() || v > std::numeric_limits<Int>::max()) {
        return error(n, path, "expected an integer");
      }
      out = static_cast<Int>(v);
      return Status::ok();
    };
  }

  // An integer, or null (`runAsUser:` / `runAsUser: null`) for "not set".
  Field optionalInteger(std::optional<int64_t>& out) const {
    return [this, &out](const YAML::Node& n, const std::string& path) -> Status {
      if (n.IsNull()) {
        out.reset();
        return Status::ok();
      }
      int64_t v = 0;
      RETURN_IF_ERROR(integer(v)(n, path));
      out = v;
      return Status::ok();
    };
  }

  Field boolean(bool& out) const {
    return [this, &out](const YAML::Node& n, const std::string& path) -> Status {
      if (!n.IsScalar() || !YAML::convert<bool>::decode(n, out)) {
        return error(n, path, "expected true or false");
      }
      return Status::ok();
    };
  }

  // A list given in YAML replaces the default list; it is not merged.
  Field strList(std::vector<std::string>& out) const {
    return [this, &out](const YAML::Node& n, const std::string& path) -> Status {
      std::vector<std::string> items;
      RETURN_IF_ERROR(sequence(n, path, [&](const YAML::Node& item, const std::string& p) {
        std::string s;
        RETURN_IF_ERROR(str(s)(item, p));
        items.push_back(std::move(s));
        return Status::ok();
      }));
      out = std::move(items);
      return Status::ok();
    };
  }

  Field strMap(std::map<std::string, std::string>& out) const {
    return [this, &out](const YAML::Node& n, const std::string& path) -> Status {
      if (n.IsNull()) {
        out.clear();
        return Status::ok();
      }
      if (!n.IsMap()) {
        return error(n, path, "expected a mapping of strings");
      }
      std::map<std::string, std::string> items;
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) {
          return error(kv.first, path, "keys must be plain strings");
        }
        const std::string keyPath = path + "." + kv.first.Scalar();
        if (!kv.second.IsScalar()) {
          return error(kv.second, keyPath, "expected a string");
        }
        if (!items.emplace(kv.first.Scalar(), kv.second.Scalar()).second) {
          return error(kv.first, keyPath, "duplicate key");
        }
      }
      out = std::move(items);
      return Status::ok();
    };
  }

  Status sequence(const YAML::Node& n, const std::string& path, const Field& each) const {
    if (n.IsNull()) {
      return Status::ok();
    }
    if (!n.IsSequence()) {
      return error(n, path, "expected a list");
    }
    for (size_t i = 0; i < n.size(); ++i) {
      RETURN_IF_ERROR(each(n[i], path + "[" + std::to_string(i) + "]"));
    }
    return Status::ok();
  }

  Status root(const YAML::Node& node, Config& c) const {
    return mapping(node, "", {
        {"server", [&](const YAML::Node& n, const std::string& p) { return server(n, p, c.server); }},
        {"sandbox", [&](const YAML::Node& n, const std::string& p) { return sandbox(n, p, c.sandbox); }},
        {"quotas", [&](const YAML::Node& n, const std::string& p) {
           return mapping(n, p, {
               {"maxSandboxes", integer(c.quotas.maxSandboxes)},
               {"maxRunning", integer(c.quotas.maxRunning)},
               {"maxStorage", str(c.quotas.maxStorage)},
           });
         }},
        {"snapshots", [&](const YAML::Node& n, const std::string& p) {
           return mapping(n, p, {
               {"className", str(c.snapshots.className)},
               {"keep", integer(c.snapshots.keep)},
               {"intervalHours", integer(c.snapshots.intervalHours)},
           });
         }},
    });
  }

  Status server(const YAML::Node& node, const std::string& path, ServerConfig& s) const {
    return mapping(node, path, {
        {"listen", str(s.listen)},
        {"db", str(s.db)},
        {"kube", str(s.kube)},
        {"kubeContext", str(s.kubeContext)},
        {"corsOrigins", strList(s.corsOrigins)},
        {"maxBodyBytes", integer(s.maxBodyBytes)},
        {"maxHeaderBytes", integer(s.maxHeaderBytes)},
        {"threads", integer(s.threads)},
        {"ioThreads", integer(s.ioThreads)},
        {"logFormat", str(s.logFormat)},
        {"logLevel", str(s.logLevel)},
        {"memoryReadyDelayMs", integer(s.memoryReadyDelayMs)},
        {"reconcileIntervalMs", integer(s.reconcileIntervalMs)},
        {"templatesDir", str(s.templatesDir)},
        {"rateLimit", [&](const YAML::Node& n, const std::string& p) {
           return mapping(n, p, {
               {"requestsPerSecond", integer(s.rateLimit.requestsPerSecond)},
               {"burst", integer(s.rateLimit.burst)},
               {"adminsExempt", boolean(s.rateLimit.adminsExempt)},
           });
         }},
        {"forwardAuth", [&](const YAML::Node& n, const std::string& p) {
           return mapping(n, p, {
               {"sessionTtlSeconds", integer(s.forwardAuth.sessionTtlSeconds)},
               {"checkUrl", str(s.forwardAuth.checkUrl)},
               {"signinUrl", str(s.forwardAuth.signinUrl)},
           });
         }},
        {"events", [&](const YAML::Node& n, const std::string& p) {
           return mapping(n, p, {
               {"maxStreams", integer(s.events.maxStreams)},
               {"maxStreamsPerUser", integer(s.events.maxStreamsPerUser)},
               {"heartbeatMs", integer(s.events.heartbeatMs)},
               {"bufferEvents", integer(s.events.bufferEvents)},
               {"queueBytes", integer(s.events.queueBytes)},
               {"ticketTtlMs", integer(s.events.ticketTtlMs)},
               {"applyStamps", boolean(s.events.applyStamps)},
           });
         }},
    });
  }

  // sandbox: its settings, then each of its profiles resolved over them (whatever the order
  // of the keys in the file).
  Status sandbox(const YAML::Node& node, const std::string& path, SandboxConfig& s) const {
    std::optional<YAML::Node> profilesNode;
    Fields fields = sandboxFields(s);
    fields.push_back({"defaultProfile", str(s.defaultProfile)});
    fields.push_back({"profiles", [&](const YAML::Node& n, const std::string& p) -> Status {
                        if (!n.IsNull() && !n.IsMap()) {
                          return error(n, p, "expected a mapping of profile names to settings");
                        }
                        profilesNode = n;
                        return Status::ok();
                      }});
    RETURN_IF_ERROR(mapping(node, path, fields));
    if (!profilesNode) {
      return Status::ok();
    }
    s.profiles.clear();
    if (profilesNode->IsNull()) {
      return Status::ok();
    }
    std::map<std::string, std::shared_ptr<const SandboxConfig>> resolved;
    for (const auto& kv : *profilesNode) {
      if (!kv.first.IsScalar()) {
        return error(kv.first, path + ".profiles", "profile names must be plain strings");
      }
      const std::string name = kv.first.Scalar();
      const std::string profilePath = path + ".profiles." + name;
      SandboxConfig settings = s;
      settings.profiles.clear();
      RETURN_IF_ERROR(profile(kv.second, profilePath, settings));
      if (!resolved.emplace(name, std::make_shared<const SandboxConfig>(std::move(settings)))
               .second) {
        return error(kv.first, profilePath, "duplicate profile");
      }
    }
    s.profiles = std::move(resolved);
    return Status::ok();
  }

  // The keys a profile may set: those of sandbox.* that shape one sandbox's pod and volume.
  // Its ports are added to sandbox.ports; every other key replaces the setting it names.
  Status profile(const YAML::Node& node, const std::string& path, SandboxConfig& s) const {
    static const std::set<std::string> kProfileKeys = {
        "resources", "nodeSelector", "tolerations", "affinity",  "storageClass", "storage",
        "minStorage", "maxStorage",  "probes",      "security",  "labels",       "annotations",
        "idleStopMinutes", "maxIdleStopMinutes"};
    Fields fields;
    for (auto& field : sandboxFields(s)) {
      if (kProfileKeys.count(field.first) != 0) {
        fields.push_back(std::move(field));
      }
    }
    fields.push_back({"ports", [&](const YAML::Node& n, const std::string& p) -> Status {
                        std::vector<PortConfig> extra;
                        RETURN_IF_ERROR(ports(n, p, extra));
                        s.ports.insert(s.ports.end(), extra.begin(), extra.end());
                        return Status::ok();
                      }});
    if (node.IsNull()) {
      return Status::ok();  // a profile of the sandbox.* settings as they are
    }
    return mapping(node, path, fields);
  }

  Fields sandboxFields(SandboxConfig& s) const {
    return {
        {"namespace", str(s.nameSpace)},
        {"image", str(s.image)},
        {"allowedImages", strList(s.allowedImages)},
        {"storage", str(s.storage)},
        {"minStorage", str(s.minStorage)},
        {"maxStorage", str(s.maxStorage)},
        {"storageClass", str(s.storageClass)},
        {"mountPath", str(s.mountPath)},
        {"resources", [&](const YAML::Node& n, const std::string& p) {
           return mapping(n, p, {
               {"cpuRequest", str(s.resources.cpuRequest)},
               {"memoryRequest", str(s.resources.memoryRequest)},
               {"cpuLimit", str(s.resources.cpuLimit)},
               {"memoryLimit", str(s.resources.memoryLimit)},
               {"ephemeralStorageRequest", str(s.resources.ephemeralStorageRequest)},
               {"ephemeralStorageLimit", str(s.resources.ephemeralStorageLimit)},
           });
         }},
        {"ports", [&](const YAML::Node& n, const std::string& p) { return ports(n, p, s.ports); }},
        {"nodeSelector", strMap(s.nodeSelector)},
        {"tolerations",
         [&](const YAML::Node& n, const std::string& p) { return tolerations(n, p, s.tolerations); }},
        {"domain", str(s.domain)},
        {"ingressClass", str(s.ingressClass)},
        {"tlsSecret", str(s.tlsSecret)},
        {"urlScheme", str(s.urlScheme)},
        {"reservedEnv", strList(s.reservedEnv)},
        {"maxEnvVars", integer(s.maxEnvVars)},
        {"maxEnvValueBytes", integer(s.maxEnvValueBytes)},
        {"idleStopMinutes", integer(s.idleStopMinutes)},
        {"maxIdleStopMinutes", integer(s.maxIdleStopMinutes)},
        {"security", [&](const YAML::Node& n, const std::string& p) {
           return security(n, p, s.security);
         }},
        {"networkPolicy", [&](const YAML::Node& n, const std::string& p) {
           return networkPolicy(n, p, s.networkPolicy);
         }},
        {"probes", [&](const YAML::Node& n, const std::string& p) {
           return mapping(n, p, {
               {"port", str(s.probes.port)},
               {"startup", probe(s.probes.startup)},
               {"readiness", probe(s.probes.readiness)},
               {"liveness", probe(s.probes.liveness)},
           });
         }},
        {"affinity", [&](const YAML::Node& n, const std::string& p) -> Status {
           if (n.IsNull() || (n.IsMap() && n.size() == 0)) {
             s.affinity.clear();
             return Status::ok();
           }
           if (!n.IsMap()) {
             return error(n, p, "expected a mapping (nodeAffinity, podAffinity, podAntiAffinity)");
           }
           YAML::Emitter out;
           out << n;
           s.affinity = out.c_str();
           return Status::ok();
         }},
        {"labels", strMap(s.labels)},
        {"annotations", strMap(s.annotations)},
    };
  }

  Field probe(ProbeConfig& out) const {
    return [this, &out](const YAML::Node& n, const std::string& path) -> Status {
      return mapping(n, path, {
          {"enabled", boolean(out.enabled)},
          {"periodSeconds", integer(out.periodSeconds)},
          {"timeoutSeconds", integer(out.timeoutSeconds)},
          {"failureThreshold", integer(out.failureThreshold)},
      });
    };
  }

  Status security(const YAML::Node& node, const std::string& path, SecurityConfig& s) const {
    return mapping(node, path, {
        {"runAsNonRoot", boolean(s.runAsNonRoot)},
        {"runAsUser", optionalInteger(s.runAsUser)},
        {"runAsGroup", optionalInteger(s.runAsGroup)},
        {"fsGroup", optionalInteger(s.fsGroup)},
        {"allowPrivilegeEscalation", boolean(s.allowPrivilegeEscalation)},
        {"dropAllCapabilities", boolean(s.dropAllCapabilities)},
        {"seccompProfile", str(s.seccompProfile)},
        {"automountServiceAccountToken", boolean(s.automountServiceAccountToken)},
        {"enableServiceLinks", boolean(s.enableServiceLinks)},
    });
  }

  Status networkPolicy(const YAML::Node& node, const std::string& path,
                       NetworkPolicyConfig& n) const {
    return mapping(node, path, {
        {"enabled", boolean(n.enabled)},
        {"ingressNamespaceSelector", strMap(n.ingressNamespaceSelector)},
        {"ingressPodSelector", strMap(n.ingressPodSelector)},
        {"egress", str(n.egress)},
        {"egressAllowCidrs", strList(n.egressAllowCidrs)},
        {"egressExceptCidrs", strList(n.egressExceptCidrs)},
    });
  }

  Status ports(const YAML::Node& node, const std::string& path, std::vector<PortConfig>& out) const {
    std::vector<PortConfig> items;
    RETURN_IF_ERROR(sequence(node, path, [&](const YAML::Node& item, const std::string& p) {
      PortConfig port;
      port.ingress = true;
      bool hasName = false;
      bool hasPort = false;
      RETURN_IF_ERROR(mapping(item, p, {
          {"name", [&](const YAML::Node& n, const std::string& kp) {
             hasName = true;
             return str(port.name)(n, kp);
           }},
          {"port", [&](const YAML::Node& n, const std::string& kp) {
             hasPort = true;
             return integer(port.port)(n, kp);
           }},
          {"ingress", boolean(port.ingress)},
          {"allowPublic", boolean(port.allowPublic)},
      }));
      if (!item.IsMap() || !hasName || !hasPort) {
        return error(item, p, "a port needs name and port");
      }
      items.push_back(std::move(port));
      return Status::ok();
    }));
    out = std::move(items);
    return Status::ok();
  }

  Status tolerations(const YAML::Node& node, const std::string& path,
                     std::vector<TolerationConfig>& out) const {
    std::vector<TolerationConfig> items;
    RETURN_IF_ERROR(sequence(node, path, [&](const YAML::Node& item, const std::string& p) {
      TolerationConfig t;
      RETURN_IF_ERROR(mapping(item, p, {
          {"key", str(t.key)},
          {"operator", str(t.op)},
          {"value", str(t.value)},
          {"effect", str(t.effect)},
      }));
      if (!item.IsMap()) {
        return error(item, p, "expected a mapping");
      }
      items.push_back(std::move(t));
      return Status::ok();
    }));
    out = std::move(items);
    return Status::ok();
  }

 private:
  std::string source_;
};


StatusOr<std::string> readTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return invalidArgument("cannot read config file " + path);
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

const char* envOrNull(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

}  // namespace

StatusOr<Config> applyConfigYaml(const Config& base, const std::string& yamlText,
                                 const std::string& sourceName) {
  Config config = base;
  try {
    const YAML::Node root = YAML::Load(yamlText);
    RETURN_IF_ERROR(Parser(sourceName).root(root, config));
  } catch (const YAML::Exception& e) {
    std::string where = sourceName;
    if (e.mark.line >= 0) {
      where += ":" + std::to_string(e.mark.line + 1);
    }
    return invalidArgument(where + ": invalid YAML: " + e.msg);
  } catch (const std::exception& e) {
    return invalidArgument(sourceName + ": " + e.what());
  }
  Status valid = validateConfig(config);
  if (!valid.isOk()) {
    return valid.withContext(sourceName);
  }
  return config;
}

StatusOr<Config> loadConfig(const std::string& path) {
  Config config;

  std::string file = path;
  if (file.empty()) {
    if (const char* env = envOrNull("SANDBOXD_CONFIG")) {
      file = env;
    }
  }
  const bool explicitFile = !file.empty();
  if (!explicitFile) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(kDefaultConfigPath, ec)) {
      file = kDefaultConfigPath;
    }
  }
  if (!file.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
      return notFound("config file " + file + " does not exist");
    }
    ASSIGN_OR_RETURN(std::string text, readTextFile(file));
    ASSIGN_OR_RETURN(config, applyConfigYaml(config, text, file));
  }

  // Environment overrides, applied after the file.
  const std::pair<const char*, std::string*> overrides[] = {
      {"SANDBOXD_LISTEN", &config.server.listen},
      {"SANDBOXD_DB", &config.server.db},
      {"SANDBOXD_KUBE", &config.server.kube},
      {"SANDBOXD_NAMESPACE", &config.sandbox.nameSpace},
      {"SANDBOXD_LOG_FORMAT", &config.server.logFormat},
      {"SANDBOXD_LOG_LEVEL", &config.server.logLevel},
  };
  std::string applied;
  for (const auto& [name, field] : overrides) {
    if (const char* value = envOrNull(name)) {
      *field = value;
      applied += (applied.empty() ? "" : ", ") + std::string(name);
    }
  }
  if (!applied.empty()) {
    // A profile is the sandbox.* settings with its own keys over them: the namespace too.
    for (auto& [name, settings] : config.sandbox.profiles) {
      auto copy = std::make_shared<SandboxConfig>(*settings);
      copy->nameSpace = config.sandbox.nameSpace;
      settings = std::move(copy);
    }
    Status valid = validateConfig(config);
    if (!valid.isOk()) {
      return valid.withContext("environment (" + applied + ")");
    }
  }
  return config;
}

int ioThreadsFor(const ServerConfig& server, unsigned cores) {
  if (server.ioThreads > 0) {
    return server.ioThreads;
  }
  return std::max(2, static_cast<int>(std::min(cores, 256u)));
}

}  // namespace sandboxd
