// The hardened pod: the security settings of sandbox.security and the ephemeral-storage
// bounds of sandbox.resources, put into a rendered StatefulSet's pod spec.
#pragma once

#include <nlohmann/json.hpp>

#include "sandboxd/config/config.h"

namespace sandboxd {

// Sets (merging into what the template already has) the pod's securityContext
// (runAsNonRoot, runAsUser, runAsGroup, fsGroup, seccompProfile), automountServiceAccountToken
// and enableServiceLinks on `podSpec`, and the container's securityContext
// (allowPrivilegeEscalation, capabilities.drop ALL, runAsNonRoot) on `container`.
void applyPodSecurity(const SecurityConfig& security, nlohmann::json& podSpec,
                      nlohmann::json& container);

// The container's resources: cpu, memory and ephemeral-storage requests and limits; an empty
// value leaves its entry out.
nlohmann::json containerResources(const ResourcesConfig& resources);

}  // namespace sandboxd
