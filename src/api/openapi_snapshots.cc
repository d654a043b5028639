#include "api/openapi_snapshots.h"

namespace sandboxd::api {
using nlohmann::json;
using openapi_parts::errorResponse;
using openapi_parts::jsonResponse;
using openapi_parts::ref;

void addSnapshotSchemas(json& schemas) {
  schemas["Snapshot"] = {
      {"type", "object"},
      {"required", {"id", "sandbox", "label", "state", "createdAt"}},
      {"properties",
       {
           {"id", {{"type", "string"}}},
           {"sandbox", {{"type", "string"}}},
           {"label", {{"type", "string"}, {"description", "the user's label; \"\" = none"}}},
           {"state",
            {{"type", "string"},
             {"enum", {"pending", "ready", "failed"}},
             {"description",
              "pending: the storage is taking the copy; ready: restorable; failed: see error"}}},
           {"size",
            {{"type", "string"},
             {"description", "the size a volume restored from it needs (a quantity), once known"}}},
           {"createdAt", {{"type", "string"}, {"format", "date-time"}}},
           {"readyAt", {{"type", "string"}, {"format", "date-time"}}},
           {"error", {{"type", "string"}}},
       }}};
  schemas["SnapshotList"] = {
      {"type", "object"},
      {"required", {"items"}},
      {"properties", {{"items", {{"type", "array"}, {"items", ref("Snapshot")}}}}}};
  schemas["CreateSnapshotRequest"] = {
      {"type", "object"},
      {"additionalProperties", false},
      {"properties",
       {{"label",
         {{"type", "string"},
          {"maxLength", 63},
          {"description",
           "printable ASCII; labelled snapshots are kept until deleted, unlabelled ones only "
           "the newest snapshots.keep per sandbox"}}}}}};
}

bool describeSnapshotRoute(const Route& route, const std::string& ok, json& op, json& params,
                           json& responses) {
  const json unavailable = errorResponse(
      "conflict: the sandbox was purged or has no home volume; or, with the code "
      "snapshots_unavailable, the cluster has no snapshot API (snapshot.storage.k8s.io/v1) "
      "or no such VolumeSnapshotClass (snapshots.className, else the cluster's default)");
  switch (route.id) {
    case RouteId::CreateSnapshot:
      op["requestBody"] = {
          {"required", false},
          {"content", {{"application/json", {{"schema", ref("CreateSnapshotRequest")}}}}}};
      responses[ok] = jsonResponse(
          "accepted: the snapshot, pending until the storage has the copy (GET the list to "
          "follow it). A sandbox's snapshots outlive it: a purge keeps them",
          "Snapshot");
      responses["409"] = unavailable;
      return true;
    case RouteId::ListSnapshots:
      responses[ok] = jsonResponse(
          "the snapshots, newest first, their states read from the cluster; those of a "
          "purged sandbox stay listed under its name for their owner",
          "SnapshotList");
      responses["409"] = unavailable;
      return true;
    case RouteId::DeleteSnapshot:
      params.push_back({{"name", "id"},
                        {"in", "path"},
                        {"required", true},
                        {"schema", {{"type", "string"}}}});
      responses[ok] = jsonResponse("accepted: the snapshot as it was; the storage's copy goes",
                                   "Snapshot");
      responses["404"] = errorResponse("no such snapshot of this sandbox (or another user's)");
      return true;
    default:
      return false;
  }
}

}  // namespace sandboxd::api
