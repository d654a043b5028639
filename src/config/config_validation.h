// The checks a configuration passes whatever its source (file, environment, defaults):
// loadConfig and applyConfigYaml run them on what they read. Errors are InvalidArgument naming
// the key.
#pragma once

#include "sandboxd/common/status.h"
#include "sandboxd/config/config.h"

namespace sandboxd {

Status validateConfig(const Config& c);
// The snapshots section (part of validateConfig).
Status validateSnapshots(const SnapshotConfig& snapshots);

}  // namespace sandboxd
