// The checks of the hardening sections of the sandbox configuration (sandbox.security,
// sandbox.networkPolicy, sandbox.probes). Errors are InvalidArgument naming the key.
#pragma once

#include <vector>

#include "sandboxd/common/status.h"
#include "sandboxd/config/config.h"

namespace sandboxd {

Status validateSecurity(const SecurityConfig& security);
Status validateNetworkPolicy(const NetworkPolicyConfig& networkPolicy);
Status validateProbes(const ProbesConfig& probes, const std::vector<PortConfig>& ports);

}  // namespace sandboxd
