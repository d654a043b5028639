// The snapshot counters' part of /metrics (snapshot_metrics.h).
#include "api/snapshot_metrics.h"

#include <sstream>

namespace sandboxd::api {

std::string renderSnapshotStats(const SnapshotStats& stats) {
  std::ostringstream out;
  out << "# HELP sandboxd_snapshots_total Home-volume snapshots requested from the cluster "
         "(created) or that could not be (failed), by who asked: a user, the schedule "
         "(snapshots.intervalHours), or a restore (the copy of the volume it replaces).\n"
      << "# TYPE sandboxd_snapshots_total counter\n"
      << "sandboxd_snapshots_total{result=\"created\",trigger=\"user\"} " << stats.createdByUser
      << "\n"
      << "sandboxd_snapshots_total{result=\"created\",trigger=\"schedule\"} "
      << stats.createdBySchedule << "\n"
      << "sandboxd_snapshots_total{result=\"created\",trigger=\"restore\"} "
      << stats.createdByRestore << "\n"
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
      << "sandboxd_snapshots_deleted_total{reason=\"purge\"} " << stats.deletedByPurge << "\n"
      << "# HELP sandboxd_restores_total Restores of a snapshot in place of a home volume that "
         "ended, by result (failed: the sandbox deleted meanwhile, the snapshot gone, the copy "
         "of the current volume failed).\n"
      << "# TYPE sandboxd_restores_total counter\n"
      << "sandboxd_restores_total{result=\"done\"} " << stats.restoresDone << "\n"
      << "sandboxd_restores_total{result=\"failed\"} " << stats.restoresFailed << "\n";
  return out.str();
}

}  // namespace sandboxd::api
