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
  schemas["CreateSandboxRequest"]["properties"]["fromSnapshot"] = {
      {"type", "object"},
      {"additionalProperties", false},
      {"required", {"sandbox", "snapshot"}},
      {"properties",
       {{"sandbox", {{"type", "string"}, {"description", "the sandbox the snapshot is of"}}},
        {"snapshot", {{"type", "string"}, {"description", "its id"}}}}},
      {"description",
       "fork: the new sandbox's home volume is made from this ready snapshot (the caller's "
       "own; an admin's: anyone's; in the namespace the sandbox goes to) before its "
       "StatefulSet. storage, when given, must be at least the snapshot's size (else 422); "
       "omitted, the larger of the default and the snapshot's size. An unknown or another "
       "user's snapshot is 404; one not ready, or a name with a kept volume, 409"}};
  schemas["RestoreRequest"] = {
      {"type", "object"},
      {"additionalProperties", false},
      {"required", {"snapshot"}},
      {"properties",
       {{"snapshot", {{"type", "string"}, {"description", "the id of a ready snapshot"}}}}}};
  schemas["Restore"] = {
      {"type", "object"},
      {"required", {"sandbox", "snapshot", "preRestoreSnapshot", "operation", "resume"}},
      {"properties",
       {
           {"sandbox", {{"type", "string"}}},
           {"snapshot", {{"type", "string"}, {"description", "the id being restored"}}},
           {"preRestoreSnapshot",
            {{"type", "string"},
             {"description",
              "the id the snapshot of the current volume gets (label pre-restore), taken "
              "before the volume is replaced, so a restore never loses data"}}},
           {"operation",
            {{"type", "integer"},
             {"description", "the restore's operation record (GET .../operations)"}}},
           {"resume",
            {{"type", "boolean"},
             {"description", "the sandbox was running: it starts again when the restore ends"}}},
       }}};
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
    case RouteId::RestoreSandbox:
      op["requestBody"] = {
          {"required", true},
          {"content", {{"application/json", {{"schema", ref("RestoreRequest")}}}}}};
      responses[ok] = jsonResponse(
          "accepted: the sandbox is stopped (reason Restoring), its current volume snapshotted "
          "(label pre-restore), its home volume claim replaced by one made from the snapshot, "
          "and started again if it was running. Follow it on the sandbox (reason Restoring "
          "until done) or its operation record (kind restore). Carried on after a restart",
          "Restore");
      responses["404"] = errorResponse("no such sandbox or snapshot (or another user's)");
      responses["409"] = errorResponse(
          "conflict: the sandbox is deleted or a legacy Deployment, the snapshot is not ready, "
          "a restore is in progress; or, with the code snapshots_unavailable, the cluster "
          "cannot take the snapshot of the current volume");
      return true;
    default:
      return false;
  }
}

}  // namespace sandboxd::api
