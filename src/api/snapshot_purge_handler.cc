// DELETE /api/v1/sandboxes/{name}?purge=true&purgeSnapshots=true (RouteHandlers::deleteSandbox
// hands it here once the query is valid): the purge, then every snapshot the caller sees under
// the name (SnapshotManager::removeAll). Without purgeSnapshots a purge keeps the snapshots.
#include <spdlog/spdlog.h>

#include "api/route_handlers.h"
#include "sandboxd/service/snapshot_objects.h"

namespace sandboxd::api {

void RouteHandlers::deleteSandboxWithSnapshots(const RequestContextPtr& ctx, const Route& route) {
  // Without a snapshot manager: 503 before anything changes.
  SnapshotManager* snapshots = snapshotManager(ctx);
  if (snapshots == nullptr) {
    return;
  }
  const auto it = ctx->match.params.find("name");
  const std::string name = it == ctx->match.params.end() ? std::string() : it->second;
  auto removed = manager_->remove(*ctx->caller, name, /*purge=*/true);
  if (removed.isOk()) {
    auto deleted = snapshots->removeAll(*ctx->caller, name);
    if (!deleted.isOk() && deleted.status().kind() != ErrorKind::NotFound) {
      // The purge stands; the snapshots left are still listed under the name and can be
      // deleted one by one (or by repeating this request).
      spdlog::warn("request {}: sandbox {} purged, but not all its snapshots deleted: {}",
                   ctx->requestId, name, deleted.status().toString());
      ApiError error = fromStatus(deleted.status().withContext(
          "sandbox \"" + name + "\" is being purged, but its snapshots were not all deleted"));
      if (isSnapshotsUnavailable(deleted.status())) {
        error.code = "snapshots_unavailable";
      }
      responder_.replyError(ctx, error);
      return;
    }
    if (deleted.isOk() && *deleted > 0) {
      spdlog::info("sandbox {}: purge deleted {} snapshot(s)", name, *deleted);
    }
  }
  replyView(ctx, route, "delete", removed);
}

}  // namespace sandboxd::api
