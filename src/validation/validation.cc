// The rules for everything a user can type. Messages name the field and state the rule, so a
// 422 tells the caller exactly what to fix.
#include "sandboxd/validation/validation.h"

#include "sandboxd/config/image_allowlist.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <set>

namespace sandboxd {
namespace {

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool isReserved(const std::string& name, const SandboxConfig& config) {
  return std::find(config.reservedEnv.begin(), config.reservedEnv.end(), name) !=
         config.reservedEnv.end();
}

}  // namespace

Status validateSandboxName(const std::string& name) {
  const std::string rule =
      "must be a DNS-1123 label: lowercase letters, digits and '-', starting with a letter, "
      "ending with a letter or digit, at most 40 characters";
  if (name.empty()) {
    return invalidArgument("name: is required; it " + rule);
  }
  if (name.size() > kMaxSandboxNameLength) {
    return invalidArgument("name: " + quoted(name) + " is " + std::to_string(name.size()) +
                           " characters; it " + rule);
  }
  bool ok = name[0] >= 'a' && name[0] <= 'z' && isLowerAlnum(name.back());
  for (char c : name) {
    ok = ok && (isLowerAlnum(c) || c == '-');
  }
  if (!ok) {
    return invalidArgument("name: " + quoted(name) + " is invalid; it " + rule);
  }
  return Status::ok();
}

Status validateUserName(const std::string& user) {
  const std::string rule =
      "must be 1-63 characters of lowercase letters, digits, '.', '_' or '-', starting and "
      "ending with a letter or digit";
  bool ok = !user.empty() && user.size() <= 63 && isLowerAlnum(user.front()) &&
            isLowerAlnum(user.back());
  for (char c : user) {
    ok = ok && (isLowerAlnum(c) || c == '-' || c == '_' || c == '.');
  }
  if (!ok) {
    return invalidArgument("user: " + quoted(user) + " is invalid; it " + rule);
  }
  return Status::ok();
}

Status validateEnvName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 256 &&
            (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (char c : name) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  }
  if (!ok) {
    return invalidArgument("env: name " + quoted(name) +
                           " is invalid; env names must match [A-Za-z_][A-Za-z0-9_]* "
                           "(at most 256 characters)");
  }
  return Status::ok();
}

namespace {

Status validateEnvEntries(const EnvMap& env, const std::string& field,
                          const SandboxConfig& config) {
  for (const auto& [name, value] : env) {
    RETURN_IF_ERROR(validateEnvName(name).withContext(field));
    if (isReserved(name, config)) {
      return invalidArgument(field + ": " + quoted(name) +
                             " is set by the platform and cannot be changed");
    }
    if (value.size() > static_cast<size_t>(config.maxEnvValueBytes)) {
      return invalidArgument(field + ": value of " + quoted(name) + " is " +
                             std::to_string(value.size()) + " bytes; the limit is " +
                             std::to_string(config.maxEnvValueBytes));
    }
    if (value.find('\0') != std::string::npos) {
      return invalidArgument(field + ": value of " + quoted(name) + " contains a NUL byte");
    }
  }
  return Status::ok();
}

}  // namespace

Status validateEnv(const EnvMap& env, const EnvMap& secretEnv, const SandboxConfig& config) {
  RETURN_IF_ERROR(validateEnvEntries(env, "env", config));
  RETURN_IF_ERROR(validateEnvEntries(secretEnv, "secretEnv", config));
  for (const auto& [name, value] : secretEnv) {
    if (env.count(name) != 0) {
      return invalidArgument("secretEnv: " + quoted(name) +
                             " is also in env; a variable is either plain or secret");
    }
  }
  if (env.size() + secretEnv.size() > static_cast<size_t>(config.maxEnvVars)) {
    return invalidArgument("env: " + std::to_string(env.size() + secretEnv.size()) +
                           " variables; the limit is " + std::to_string(config.maxEnvVars));
  }
  return Status::ok();
}

Status validateEnvChange(const EnvChange& change, const SandboxConfig& config) {
  if (change.empty()) {
    return invalidArgument("env: nothing to change; give set, setSecret or unset");
  }
  RETURN_IF_ERROR(validateEnvEntries(change.set, "set", config));
  RETURN_IF_ERROR(validateEnvEntries(change.setSecret, "setSecret", config));
  std::set<std::string> seen;
  for (const auto& [name, value] : change.set) {
    seen.insert(name);
  }
  for (const auto& [name, value] : change.setSecret) {
    if (!seen.insert(name).second) {
      return invalidArgument("setSecret: " + quoted(name) + " is also in set");
    }
  }
  for (const auto& name : change.unset) {
    RETURN_IF_ERROR(validateEnvName(name).withContext("unset"));
    if (isReserved(name, config)) {
      return invalidArgument("unset: " + quoted(name) +
                             " is set by the platform and cannot be changed");
    }
    if (seen.count(name) != 0) {
      return invalidArgument("unset: " + quoted(name) + " is also being set");
    }
  }
  if (change.set.size() + change.setSecret.size() > static_cast<size_t>(config.maxEnvVars)) {
    return invalidArgument("set: too many variables; the limit is " +
                           std::to_string(config.maxEnvVars));
  }
  return Status::ok();
}

Status validateStorage(const std::string& quantity, const SandboxConfig& config) {
  ASSIGN_OR_RETURN(int64_t bytes, parseStorageQuantity(quantity));
  auto min = parseStorageQuantity(config.minStorage);
  auto max = parseStorageQuantity(config.maxStorage);
  if (min.isOk() && bytes < *min) {
    return invalidArgument("storage: " + quoted(quantity) + " is below the minimum " +
                           config.minStorage);
  }
  if (max.isOk() && bytes > *max) {
    return invalidArgument("storage: " + quoted(quantity) + " is above the maximum " +
                           config.maxStorage);
  }
  return Status::ok();
}

Status validateImage(const std::string& image) {
  const std::string rule =
      "must be a container image reference like registry.example.com/team/image:tag "
      "(lowercase path, optional tag and @sha256 digest, no spaces)";
  if (image.empty() || image.size() > 512) {
    return invalidArgument("image: " + quoted(image) + " is invalid; it " + rule);
  }
  std::string ref = image;
  std::string digest;
  auto at = ref.find('@');
  if (at != std::string::npos) {
    digest = ref.substr(at + 1);
    ref = ref.substr(0, at);
    bool ok = digest.rfind("sha256:", 0) == 0 && digest.size() == 7 + 64;
    for (size_t k = 7; ok && k < digest.size(); ++k) {
      ok = std::isxdigit(static_cast<unsigned char>(digest[k])) && !std::isupper(digest[k]);
    }
    if (!ok) {
      return invalidArgument("image: " + quoted(image) + " has an invalid digest; it " + rule);
    }
  }
  // Split an optional tag: the last ':' after the last '/'.
  auto slash = ref.rfind('/');
  auto colon = ref.rfind(':');
  std::string path = ref;
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    std::string tag = ref.substr(colon + 1);
    path = ref.substr(0, colon);
    bool ok = !tag.empty() && tag.size() <= 128 &&
              (std::isalnum(static_cast<unsigned char>(tag[0])) || tag[0] == '_');
    for (char c : tag) {
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
    }
    if (!ok) {
      return invalidArgument("image: " + quoted(image) + " has an invalid tag; it " + rule);
    }
  }
  if (path.empty() || path.front() == '/' || path.back() == '/' ||
      path.find("//") != std::string::npos) {
    return invalidArgument("image: " + quoted(image) + " is invalid; it " + rule);
  }
  // The first component may be a registry host (may hold uppercase, ':port').
  size_t firstSlash = path.find('/');
  std::string first = path.substr(0, firstSlash);
  bool firstIsHost = firstSlash != std::string::npos &&
                     (first.find('.') != std::string::npos ||
                      first.find(':') != std::string::npos || first == "localhost");
  for (size_t k = 0; k < path.size(); ++k) {
    char c = path[k];
    bool inHost = firstIsHost && k < first.size();
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || c == '/' || (inHost && (std::isalnum(static_cast<unsigned char>(c)) ||
                                                  c == ':'));
    if (!ok) {
      return invalidArgument("image: " + quoted(image) + " is invalid; it " + rule);
    }
  }
  return Status::ok();
}

Status validatePublicPorts(const std::vector<std::string>& ports, const SandboxConfig& config) {
  for (const auto& name : ports) {
    const auto port = std::find_if(config.ports.begin(), config.ports.end(),
                                   [&](const PortConfig& p) { return p.name == name; });
    if (port == config.ports.end()) {
      return invalidArgument("publicPorts: " + quoted(name) + " is not a port of this service");
    }
    if (!port->allowPublic) {
      return invalidArgument("publicPorts: port " + quoted(name) +
                             " cannot be public here; it stays owner-only");
    }
  }
  return Status::ok();
}

Status validateSpec(const SandboxSpec& spec, const SandboxConfig& config) {
  RETURN_IF_ERROR(validateSandboxName(spec.name));
  if (!spec.user.empty()) {
    RETURN_IF_ERROR(validateUserName(spec.user));
  }
  if (!spec.image.empty()) {
    RETURN_IF_ERROR(validateImage(spec.image));
    if (!imageAllowed(spec.image, config.allowedImages)) {
      std::string allowed;
      for (const auto& pattern : config.allowedImages) {
        allowed += (allowed.empty() ? "" : ", ") + pattern;
      }
      return invalidArgument("image: " + quoted(spec.image) +
                             " is not allowed here; allowed images: " + allowed);
    }
  }
  if (!spec.storage.empty()) {
    RETURN_IF_ERROR(validateStorage(spec.storage, config));
  }
  RETURN_IF_ERROR(validatePublicPorts(spec.publicPorts, config));
  return validateEnv(spec.env, spec.secretEnv, config);
}

}  // namespace sandboxd
