// Kubernetes quantities: home volume sizes (Mi/Gi/Ti, what sandboxd accepts for storage) and
// resource quantities (CPU and memory in config), checked before they reach the cluster.
#pragma once

#include <cstdint>
#include <string>

#include "sandboxd/common/status.h"

namespace sandboxd {

// Parses a Kubernetes binary quantity with Mi/Gi/Ti suffix (e.g. "5Gi") into bytes.
StatusOr<int64_t> parseStorageQuantity(const std::string& quantity);

// A Kubernetes resource quantity: "100m", "2", "0.5", "256Mi", "1G", "1e3".
bool isResourceQuantity(const std::string& quantity);

// `s` in double quotes for an error message: at most 64 characters, control characters as ?.
std::string quoted(const std::string& s);

}  // namespace sandboxd
