// The checks of what profiles and quotas add to a configuration (sandbox.profiles,
// sandbox.defaultProfile, quotas) and of the settings any profile carries: storage bounds,
// resource quantities, extra labels and annotations. `prefix` names the settings in errors
// ("sandbox" or "sandbox.profiles.NAME").
#pragma once

#include <string>

#include "sandboxd/common/status.h"
#include "sandboxd/config/config.h"

namespace sandboxd {

// minStorage <= storage <= maxStorage, each a Mi/Gi/Ti quantity.
Status validateStorageBounds(const SandboxConfig& settings, const std::string& prefix);
// Each CPU, memory and ephemeral-storage value empty or a Kubernetes quantity.
Status validateResourceQuantities(const ResourcesConfig& resources, const std::string& prefix);
// Label keys and values as Kubernetes takes them; none of the keys the templates set.
Status validateExtraMetadata(const SandboxConfig& settings, const std::string& prefix);
// Profile names are DNS labels, each profile's settings pass (validateSandboxSettings), and
// defaultProfile names one of them (or "default" when there are none).
Status validateProfiles(const SandboxConfig& base);
Status validateQuotas(const QuotaConfig& quotas);

// In config_validation.cc: every check of one sandbox's settings.
Status validateSandboxSettings(const SandboxConfig& settings, const std::string& prefix);

}  // namespace sandboxd
