#include "config/hardening_checks.h"

#include <arpa/inet.h>

#include <algorithm>
#include <string>
#include <utility>

namespace sandboxd {
namespace {

// An IPv4 or IPv6 address with a prefix length that fits it ("10.0.0.0/8", "fd00::/8").
bool isCidr(const std::string& s) {
  const auto slash = s.find('/');
  if (slash == std::string::npos || slash + 1 == s.size() || s.size() - slash > 4 ||
      s.find_first_not_of("0123456789", slash + 1) != std::string::npos) {
    return false;
  }
  const std::string address = s.substr(0, slash);
  const bool v6 = address.find(':') != std::string::npos;
  unsigned char bytes[16];
  if (inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), bytes) != 1) {
    return false;
  }
  return std::stoi(s.substr(slash + 1)) <= (v6 ? 128 : 32);
}

}  // namespace

Status validateSecurity(const SecurityConfig& s) {
  const auto bad = [](const std::string& key, const std::string& what) {
    return invalidArgument("sandbox.security." + key + ": " + what);
  };
  const std::pair<const char*, const std::optional<int64_t>*> ids[] = {
      {"runAsUser", &s.runAsUser}, {"runAsGroup", &s.runAsGroup}, {"fsGroup", &s.fsGroup}};
  for (const auto& [key, id] : ids) {
    if (id->has_value() && (**id < 0 || **id > 2147483647)) {
      return bad(key, "must be between 0 and 2147483647 (or null: not set)");
    }
  }
  if (s.runAsNonRoot && s.runAsUser == 0) {
    return bad("runAsUser", "0 (root) contradicts runAsNonRoot: true");
  }
  if (s.seccompProfile != "RuntimeDefault" && s.seccompProfile != "Unconfined" &&
      !s.seccompProfile.empty()) {
    return bad("seccompProfile", "must be RuntimeDefault, Unconfined or \"\" (not set), got \"" +
                                     s.seccompProfile + "\"");
  }
  return Status::ok();
}

Status validateNetworkPolicy(const NetworkPolicyConfig& n) {
  const auto bad = [](const std::string& key, const std::string& what) {
    return invalidArgument("sandbox.networkPolicy." + key + ": " + what);
  };
  if (n.egress != "open" && n.egress != "restricted") {
    return bad("egress", "must be open or restricted, got \"" + n.egress + "\"");
  }
  if (n.egress == "open" && (!n.egressAllowCidrs.empty() || !n.egressExceptCidrs.empty())) {
    return bad("egressAllowCidrs", "only meaningful with egress: restricted");
  }
  for (const auto* list : {&n.egressAllowCidrs, &n.egressExceptCidrs}) {
    for (const auto& cidr : *list) {
      if (!isCidr(cidr)) {
        return bad(list == &n.egressAllowCidrs ? "egressAllowCidrs" : "egressExceptCidrs",
                   "expected CIDRs like 10.0.0.0/8, got \"" + cidr + "\"");
      }
    }
  }
  return Status::ok();
}

Status validateProbes(const ProbesConfig& probes, const std::vector<PortConfig>& ports) {
  if (!probes.port.empty() &&
      std::none_of(ports.begin(), ports.end(),
                   [&](const PortConfig& p) { return p.name == probes.port; })) {
    return invalidArgument("sandbox.probes.port: \"" + probes.port +
                           "\" is not the name of a port in sandbox.ports (\"\" = no probes)");
  }
  const std::pair<const char*, const ProbeConfig*> each[] = {
      {"startup", &probes.startup}, {"readiness", &probes.readiness},
      {"liveness", &probes.liveness}};
  for (const auto& [name, probe] : each) {
    const std::string key = std::string("sandbox.probes.") + name;
    if (probe->periodSeconds < 1 || probe->timeoutSeconds < 1 || probe->failureThreshold < 1) {
      return invalidArgument(key + ": periodSeconds, timeoutSeconds and failureThreshold must "
                                   "be at least 1");
    }
  }
  return Status::ok();
}

}  // namespace sandboxd
