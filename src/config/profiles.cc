// Profiles (sandbox.profiles): finding a sandbox's settings by its profile's name.
#include <set>

#include "sandboxd/config/config.h"

namespace sandboxd {

const SandboxConfig* profileConfig(const SandboxConfig& base, const std::string& name) {
  auto it = base.profiles.find(name);
  if (it != base.profiles.end()) {
    return it->second.get();
  }
  if (name.empty() || name == kImplicitProfile) {
    return &base;
  }
  return nullptr;
}

std::vector<std::string> profileNames(const SandboxConfig& base) {
  if (base.profiles.empty()) {
    return {kImplicitProfile};
  }
  std::vector<std::string> out;
  for (const auto& [name, settings] : base.profiles) {
    out.push_back(name);
  }
  return out;
}

std::vector<PortConfig> portsOfAllProfiles(const SandboxConfig& base) {
  std::vector<PortConfig> out = base.ports;
  std::set<std::string> seen;
  for (const auto& port : out) {
    seen.insert(port.name);
  }
  for (const auto& [name, settings] : base.profiles) {
    for (const auto& port : settings->ports) {
      if (seen.insert(port.name).second) {
        out.push_back(port);
      }
    }
  }
  return out;
}

}  // namespace sandboxd
