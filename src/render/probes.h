// The sandbox container's probes (sandbox.probes): TCP connections to one of its ports.
#pragma once

#include <nlohmann/json.hpp>

#include "sandboxd/config/config.h"

namespace sandboxd {

// Sets startupProbe, readinessProbe and livenessProbe on `container`, each when enabled, as
// a tcpSocket check of the number of the port named `probes.port`. No port name (or one not among
// `ports`, which config validation refuses) sets none.
void applyProbes(const ProbesConfig& probes, const std::vector<PortConfig>& ports,
                 nlohmann::json& container);

}  // namespace sandboxd
