// The NetworkPolicy of a sandbox: the rules sandbox.networkPolicy describes, put into the
// parsed networkpolicy.yaml template.
#pragma once

#include <nlohmann/json.hpp>

#include "sandboxd/config/config.h"

namespace sandboxd {

// Adds to `policy` (the template, its placeholders already substituted) the ingress rule (from
// pods of the namespaces ingressNamespaceSelector selects, narrowed by ingressPodSelector, to
// the ports of `config.ports` that have an Ingress; none: no ingress at all) and, with egress
// "restricted", the Egress policy type with DNS and the allowed CIDRs.
void completeNetworkPolicy(const SandboxConfig& config, nlohmann::json& policy);

}  // namespace sandboxd
