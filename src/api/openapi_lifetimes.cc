#include "api/openapi_lifetimes.h"

#include "api/openapi_snapshots.h"

namespace sandboxd::api {

using nlohmann::json;
using openapi_parts::errorResponse;
using openapi_parts::jsonResponse;
using openapi_parts::ref;

namespace {

json idleStopMinutes(const char* description) {
  return {{"type", "integer"}, {"minimum", 0}, {"maximum", 65535}, {"description", description}};
}

json expiresAt(const char* description) {
  return {{"type", {"string", "null"}}, {"format", "date-time"}, {"description", description}};
}

}  // namespace

void addLifetimeSchemas(json& schemas) {
  json& sandbox = schemas["Sandbox"];
  sandbox["properties"]["idleStopMinutes"] = idleStopMinutes(
      "the idle auto-stop period as it applies (the sandbox's own, else its profile's): the "
      "reconciler stops a running sandbox with no activity for this long; 0 = never");
  sandbox["properties"]["expiresAt"] =
      expiresAt("when the reconciler deletes the sandbox (its home volume kept); null = never");
  sandbox["properties"]["lastActivityAt"] = {
      {"type", "string"},
      {"format", "date-time"},
      {"description",
       "the last lifecycle request or reported activity (POST .../activity; shown within a "
       "second of the report)"}};
  for (const char* field : {"idleStopMinutes", "expiresAt", "lastActivityAt"}) {
    sandbox["required"].push_back(field);
  }
  json& create = schemas["CreateSandboxRequest"]["properties"];
  create["idleStopMinutes"] = idleStopMinutes(
      "the sandbox's own idle period; omitted: the profile's idleStopMinutes. With the "
      "profile's maxIdleStopMinutes set, from 1 to it (else 422)");
  create["expiresAt"] = expiresAt("an RFC 3339 time in the future; omitted or null: never");
  schemas["SandboxUpdate"] = {
      {"type", "object"},
      {"additionalProperties", false},
      {"minProperties", 1},
      {"properties",
       {{"storage",
         {{"type", "string"},
          {"example", "10Gi"},
          {"description",
           "grow the home volume (the claim is patched; its StorageClass must allow "
           "expansion, else 409) within the profile's maxStorage and the owner's maxStorage "
           "quota; a smaller size is 422"}}},
        {"idleStopMinutes",
         {{"type", {"integer", "null"}},
          {"minimum", 0},
          {"maximum", 65535},
          {"description", "the sandbox's own idle period; null: back to the profile's"}}},
        {"expiresAt", expiresAt("an RFC 3339 time in the future; null: never")}}}};
}

bool describeLifetimeRoute(const Route& route, const std::string& ok, json& op,
                           json& responses) {
  switch (route.id) {
    case RouteId::UpdateSandbox:
      op["requestBody"] = {{"required", true},
                           {"content", {{"application/json", {{"schema", ref("SandboxUpdate")}}}}}};
      responses[ok] = jsonResponse("the sandbox with the change", "Sandbox");
      responses["409"] = errorResponse(
          "the sandbox is being deleted; its home volume cannot grow (no claim yet, not bound, "
          "or a StorageClass without allowVolumeExpansion); or the owner's maxStorage quota "
          "would be passed (quota_exceeded). Nothing is changed");
      return true;
    case RouteId::RecordActivity:
      responses[ok] = {{"description",
                        "noted: idle auto-stop counts from now (no cluster call; stored within "
                        "a second)"}};
      responses["409"] = errorResponse("the sandbox is being deleted");
      return true;
    default:
      return false;
  }
}

}  // namespace sandboxd::api
