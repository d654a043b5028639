// The snapshot counters' part of /metrics (SnapshotManager::stats).
#pragma once

#include <string>

#include "sandboxd/service/snapshot_stats.h"

namespace sandboxd::api {

// sandboxd_snapshots_total{result="created"|"failed",trigger="user"|"schedule"} and
// sandboxd_snapshots_deleted_total{reason="user"|"retention"|"purge"}, in the text format.
std::string renderSnapshotStats(const SnapshotStats& stats);

}  // namespace sandboxd::api
