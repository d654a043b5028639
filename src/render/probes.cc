#include "render/probes.h"

#include <algorithm>

namespace sandboxd {

void applyProbes(const ProbesConfig& probes, const std::vector<PortConfig>& ports,
                 nlohmann::json& container) {
  const auto port = std::find_if(ports.begin(), ports.end(),
                                 [&](const PortConfig& p) { return p.name == probes.port; });
  if (probes.port.empty() || port == ports.end()) {
    return;
  }
  const std::pair<const char*, const ProbeConfig*> each[] = {
      {"startupProbe", &probes.startup},
      {"readinessProbe", &probes.readiness},
      {"livenessProbe", &probes.liveness}};
  for (const auto& [field, probe] : each) {
    if (!probe->enabled) {
      container.erase(field);
      continue;
    }
    // By number, not name: a migrated container keeps its own port names.
    container[field] = {{"tcpSocket", {{"port", port->port}}},
                        {"periodSeconds", probe->periodSeconds},
                        {"timeoutSeconds", probe->timeoutSeconds},
                        {"failureThreshold", probe->failureThreshold},
                        {"successThreshold", 1}};
  }
}

}  // namespace sandboxd
