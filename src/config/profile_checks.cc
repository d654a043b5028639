// Checks of profiles, quotas and the settings a profile carries.
#include "config/profile_checks.h"

#include <regex>

#include "sandboxd/config/quantity.h"

namespace sandboxd {
namespace {

Status bad(const std::string& key, const std::string& what) {
  return invalidArgument(key + ": " + what);
}

// A label or annotation key: [prefix/]name, the prefix a DNS subdomain, the name at most 63
// characters of alphanumerics, '-', '_' and '.', starting and ending alphanumeric.
bool isQualifiedName(const std::string& key) {
  static const std::regex kName("[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?");
  static const std::regex kPrefix("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  const auto slash = key.find('/');
  const std::string name = slash == std::string::npos ? key : key.substr(slash + 1);
  if (slash != std::string::npos) {
    const std::string prefix = key.substr(0, slash);
    if (prefix.empty() || prefix.size() > 253 || !std::regex_match(prefix, kPrefix)) {
      return false;
    }
  }
  return !name.empty() && name.size() <= 63 && std::regex_match(name, kName);
}

bool isLabelValue(const std::string& value) {
  static const std::regex kValue("([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?");
  return value.size() <= 63 && std::regex_match(value, kValue);
}

// Keys the templates and sandboxd set: a profile must not replace them (ownership, selectors
// and the platform's metadata depend on them).
bool isReservedKey(const std::string& key) {
  static const char* kExact[] = {"app", "originImageName"};
  static const char* kPrefixes[] = {"sandboxd.io/", "cloud.sealos.io/",
                                    "deploy.cloud.sealos.io/", "app.kubernetes.io/managed-by"};
  for (const char* exact : kExact) {
    if (key == exact) {
      return true;
    }
  }
  for (const char* prefix : kPrefixes) {
    if (key.rfind(prefix, 0) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

Status validateStorageBounds(const SandboxConfig& s, const std::string& prefix) {
  const std::pair<const char*, const std::string*> each[] = {
      {"minStorage", &s.minStorage}, {"storage", &s.storage}, {"maxStorage", &s.maxStorage}};
  int64_t bytes[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    auto parsed = parseStorageQuantity(*each[i].second);
    if (!parsed.isOk()) {
      return bad(prefix + "." + each[i].first, quoted(*each[i].second) +
                                                   " must be a whole number with a Mi, Gi or "
                                                   "Ti suffix, e.g. \"5Gi\"");
    }
    bytes[i] = *parsed;
  }
  if (bytes[1] < bytes[0]) {
    return bad(prefix + ".storage", s.storage + " is below minStorage " + s.minStorage);
  }
  if (bytes[2] < bytes[1]) {
    return bad(prefix + ".maxStorage", s.maxStorage + " is below the default storage " + s.storage);
  }
  return Status::ok();
}

Status validateResourceQuantities(const ResourcesConfig& r, const std::string& prefix) {
  const std::pair<const char*, const std::string*> each[] = {
      {"cpuRequest", &r.cpuRequest},
      {"memoryRequest", &r.memoryRequest},
      {"cpuLimit", &r.cpuLimit},
      {"memoryLimit", &r.memoryLimit},
      {"ephemeralStorageRequest", &r.ephemeralStorageRequest},
      {"ephemeralStorageLimit", &r.ephemeralStorageLimit}};
  for (const auto& [key, value] : each) {
    if (!value->empty() && !isResourceQuantity(*value)) {
      return bad(prefix + ".resources." + key,
                 quoted(*value) + " is not a Kubernetes quantity (e.g. \"500m\", \"2\", \"4Gi\")");
    }
  }
  return Status::ok();
}

Status validateExtraMetadata(const SandboxConfig& s, const std::string& prefix) {
  for (const auto& [field, entries] :
       {std::pair<const char*, const std::map<std::string, std::string>*>{"labels", &s.labels},
        {"annotations", &s.annotations}}) {
    const bool labels = std::string(field) == "labels";
    for (const auto& [key, value] : *entries) {
      const std::string where = prefix + "." + field + "." + key;
      if (!isQualifiedName(key)) {
        return bad(where, "not a valid key ([prefix/]name, the name at most 63 alphanumerics, "
                          "'-', '_' or '.')");
      }
      if (isReservedKey(key)) {
        return bad(where, "set by sandboxd itself (app, originImageName, sandboxd.io/, "
                          "cloud.sealos.io/, deploy.cloud.sealos.io/, "
                          "app.kubernetes.io/managed-by)");
      }
      if (labels && !isLabelValue(value)) {
        return bad(where, quoted(value) + " is not a valid label value (at most 63 "
                                          "alphanumerics, '-', '_' or '.')");
      }
    }
  }
  return Status::ok();
}

Status validateProfiles(const SandboxConfig& base) {
  static const std::regex kDnsLabel("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  std::string names;
  for (const auto& [name, settings] : base.profiles) {
    const std::string prefix = "sandbox.profiles." + name;
    if (name.size() > 63 || !std::regex_match(name, kDnsLabel)) {
      return bad(prefix, "a profile name must be a DNS label (lowercase letters, digits, '-')");
    }
    RETURN_IF_ERROR(validateSandboxSettings(*settings, prefix));
    names += (names.empty() ? "" : ", ") + name;
  }
  if (profileConfig(base, base.defaultProfile) == nullptr) {
    return bad("sandbox.defaultProfile",
               quoted(base.defaultProfile) + " is not a configured profile (sandbox.profiles: " +
                   names + ")");
  }
  if (!base.profiles.empty() && base.profiles.count(base.defaultProfile) == 0) {
    return bad("sandbox.defaultProfile",
               "must name one of sandbox.profiles (" + names + "), got " +
                   quoted(base.defaultProfile));
  }
  return Status::ok();
}

Status validateQuotas(const QuotaConfig& q) {
  if (q.maxSandboxes < 0 || q.maxRunning < 0) {
    return bad("quotas", "maxSandboxes and maxRunning must not be negative (0: no limit)");
  }
  if (!q.maxStorage.empty() && !parseStorageQuantity(q.maxStorage).isOk()) {
    return bad("quotas.maxStorage", quoted(q.maxStorage) +
                                        " must be a whole number with a Mi, Gi or Ti suffix "
                                        "(empty: no limit)");
  }
  return Status::ok();
}

}  // namespace sandboxd
