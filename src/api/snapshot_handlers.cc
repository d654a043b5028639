// The snapshot routes of RouteHandlers (route_handlers.h): POST/GET
// /api/v1/sandboxes/{name}/snapshots and DELETE .../snapshots/{id}.
#include "api/request_parsing.h"
#include "api/route_handlers.h"
#include "api/snapshot_json.h"
#include "sandboxd/service/snapshot_objects.h"

namespace sandboxd::api {
namespace {

// The API error for a snapshot request's failure: snapshots_unavailable when the cluster
// cannot take snapshots (a 409, with its own code), else the usual mapping.
ApiError snapshotError(const Status& status) {
  ApiError error = fromStatus(status);
  if (isSnapshotsUnavailable(status)) {
    error.code = "snapshots_unavailable";
  }
  return error;
}

std::string paramOf(const RequestContext& ctx, const std::string& key) {
  const auto it = ctx.match.params.find(key);
  return it == ctx.match.params.end() ? std::string() : it->second;
}

}  // namespace

SnapshotManager* RouteHandlers::snapshotManager(const RequestContextPtr& ctx) {
  if (snapshots_ == nullptr) {
    responder_.replyError(ctx, serviceUnavailable("snapshots are not served here"));
    return nullptr;
  }
  return snapshots_.get();
}

void RouteHandlers::createSnapshot(const RequestContextPtr& ctx, const Route& route) {
  SnapshotManager* snapshots = snapshotManager(ctx);
  if (snapshots == nullptr) {
    return;
  }
  std::string label;
  if (!ctx->body.empty()) {  // the body is optional
    std::string error;
    auto body = parseJsonBody(ctx->body, &error);
    if (!body) {
      responder_.replyError(ctx, malformedJson(error));
      return;
    }
    auto parsed = parseSnapshotRequest(*body);
    if (!parsed.isOk()) {
      responder_.replyError(ctx, fromStatus(parsed.status()));
      return;
    }
    label = std::move(*parsed);
  }
  auto created = snapshots->create(*ctx->caller, paramOf(*ctx, "name"), label);
  if (!created.isOk()) {
    responder_.replyError(ctx, snapshotError(created.status()));
    return;
  }
  responder_.replyJson(ctx, route.successStatus, snapshotToJson(*created));
}

void RouteHandlers::listSnapshots(const RequestContextPtr& ctx, const Route& route) {
  SnapshotManager* snapshots = snapshotManager(ctx);
  if (snapshots == nullptr) {
    return;
  }
  auto listed = snapshots->list(*ctx->caller, paramOf(*ctx, "name"));
  if (!listed.isOk()) {
    responder_.replyError(ctx, snapshotError(listed.status()));
    return;
  }
  responder_.replyJson(ctx, route.successStatus, snapshotListToJson(*listed));
}

void RouteHandlers::deleteSnapshot(const RequestContextPtr& ctx, const Route& route) {
  SnapshotManager* snapshots = snapshotManager(ctx);
  if (snapshots == nullptr) {
    return;
  }
  auto removed = snapshots->remove(*ctx->caller, paramOf(*ctx, "name"), paramOf(*ctx, "id"));
  if (!removed.isOk()) {
    responder_.replyError(ctx, snapshotError(removed.status()));
    return;
  }
  responder_.replyJson(ctx, route.successStatus, snapshotToJson(*removed));
}

void RouteHandlers::restoreSandbox(const RequestContextPtr& ctx, const Route& route) {
  SnapshotManager* snapshots = snapshotManager(ctx);
  if (snapshots == nullptr) {
    return;
  }
  std::string error;
  auto body = parseJsonBody(ctx->body, &error);
  if (!body) {
    responder_.replyError(ctx, malformedJson(error));
    return;
  }
  auto id = parseRestoreRequest(*body);
  if (!id.isOk()) {
    responder_.replyError(ctx, fromStatus(id.status()));
    return;
  }
  auto accepted = snapshots->restore(*ctx->caller, paramOf(*ctx, "name"), *id);
  if (!accepted.isOk()) {
    responder_.replyError(ctx, snapshotError(accepted.status()));
    return;
  }
  responder_.replyJson(ctx, route.successStatus, restoreToJson(*accepted));
}

}  // namespace sandboxd::api
