// The snapshot counters' part of /metrics (snapshot_metrics.h).
#include "api/snapshot_metrics.h"

#include <sstream>

namespace sandboxd::api {

std::string renderSnapshotStats(const SnapshotStats& stats) {
  std::ostringstream out;
  out << "# HELP sandboxd_snapshots_total Home-volume snapshots requested from the cluster "
         "(created) or that could not be (failed), by who asked: a user, or the schedule "
         "(snapshots.intervalHours).\n"
      << "# TYPE sandboxd_snapshots_total counter\n"
      << "sandboxd_snapshots_total{result=\"created\",trigger=\"user\"} " << stats.createdByUser
      << "\n"
      << "sandboxd_snapshots_total{result=\"created\",trigger=\"schedule\"} "
      << stats.createdBySchedule << "\n"
      << "sandboxd_snapshots_total{result=\"failed\",trigger=\"user\"} " << stats.failedByUser
      << "\n"
      << "sandboxd_snapshots_total{result=\"failed\",trigger=\"schedule\"} "
      << stats.failedBySchedule << "\n"
      << "# HELP sandboxd_snapshots_deleted_total Snapshots deleted, by reason: a user's "
         "DELETE, retention (snapshots.keep), a purge with purgeSnapshots=true.\n"
      << "# TYPE sandboxd_snapshots_deleted_total counter\n"
      << "sandboxd_snapshots_deleted_total{reason=\"user\"} " << stats.deletedByUser << "\n"
      << "sandboxd_snapshots_deleted_total{reason=\"retention\"} " << stats.deletedByRetention
      << "\n"
      << "sandboxd_snapshots_deleted_total{reason=\"purge\"} " << stats.deletedByPurge << "\n";
  return out.str();
}

}  // namespace sandboxd::api
