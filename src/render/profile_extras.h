// What a profile adds to the StatefulSet beyond resources, placement and probes: the pod's
// affinity and extra labels and annotations (sandbox.affinity, .labels, .annotations).
#pragma once

#include <nlohmann/json.hpp>

#include "sandboxd/common/status.h"
#include "sandboxd/config/config.h"

namespace sandboxd {

// Sets the pod's affinity (the operator's YAML as a parsed tree) and adds the extra labels
// and annotations to the StatefulSet's and its pod template's metadata. A key the template
// already sets keeps the template's value (config validation refuses those keys anyway).
Status applyProfileExtras(const SandboxConfig& settings, nlohmann::json& statefulSet);

}  // namespace sandboxd
