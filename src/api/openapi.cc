#include "api/openapi.h"

#include <cctype>
#include <string>

#include "api/openapi_lifetimes.h"
#include "api/openapi_snapshots.h"
#include "api/router.h"
#include "sandboxd/service/sandbox_manager.h"

namespace sandboxd::api {

using nlohmann::json;

namespace openapi_parts {

json ref(const std::string& name) { return json{{"$ref", "#/components/schemas/" + name}}; }

json errorResponse(const std::string& description) {
  return json{{"description", description},
              {"content", {{"application/json", {{"schema", ref("Error")}}}}}};
}

json jsonResponse(const std::string& description, const std::string& schema) {
  return json{{"description", description},
              {"content", {{"application/json", {{"schema", ref(schema)}}}}}};
}

}  // namespace openapi_parts

namespace {

using openapi_parts::errorResponse;
using openapi_parts::jsonResponse;
using openapi_parts::ref;

json stringMap() {
  return json{{"type", "object"}, {"additionalProperties", {{"type", "string"}}}};
}

json schemas() {
  json sandbox = {
      {"type", "object"},
      {"required",
       {"name", "user", "namespace", "image", "env", "secretEnvKeys", "storage", "publicPorts",
        "profile", "status", "reason", "message", "replicas", "workload", "urls", "createdAt", "updatedAt"}},
      {"properties",
       {
           {"name", {{"type", "string"}}},
           {"user", {{"type", "string"}}},
           {"namespace", {{"type", "string"}}},
           {"image", {{"type", "string"}}},
           {"env", stringMap()},
           {"secretEnvKeys", {{"type", "array"}, {"items", {{"type", "string"}}}}},
           {"storage", {{"type", "string"}, {"example", "5Gi"}}},
           {"publicPorts",
            {{"type", "array"},
             {"items", {{"type", "string"}}},
             {"description",
              "ports whose URL anyone may open; every other port is owner-only when the "
              "server has forward auth"}}},
           {"profile",
            {{"type", "string"},
             {"example", "default"},
             {"description", "the profile (operator-defined settings) the sandbox was made with"}}},
           {"status",
            {{"type", "string"},
             {"enum",
              {"CREATING", "STARTING", "RUNNING", "STOPPING", "STOPPED", "UPDATING",
               "DELETING", "TERMINATED", "ERROR"}}}},
           {"reason", {{"type", "string"}}},
           {"message", {{"type", "string"}}},
           {"replicas",
            {{"type", "object"},
             {"properties",
              {{"desired", {{"type", "integer"}}}, {"ready", {{"type", "integer"}}}}}}},
           {"workload", {{"type", "string"}, {"enum", {"StatefulSet", "Deployment"}}}},
           {"urls", stringMap()},
           {"createdAt", {{"type", "string"}, {"format", "date-time"}}},
           {"updatedAt", {{"type", "string"}, {"format", "date-time"}}},
       }},
  };
  json createRequest = {
      {"type", "object"},
      {"required", {"name"}},
      {"additionalProperties", false},
      {"properties",
       {
           {"name",
            {{"type", "string"},
             {"maxLength", 40},
             {"pattern", "^[a-z]([-a-z0-9]*[a-z0-9])?$"}}},
           {"image",
            {{"type", "string"},
             {"description",
              "empty = the configured default; must match sandbox.allowedImages when the "
              "server sets it (else 422)"}}},
           {"env", stringMap()},
           {"secretEnv", stringMap()},
           {"storage", {{"type", "string"}, {"example", "5Gi"}}},
           {"publicPorts",
            {{"type", "array"},
             {"items", {{"type", "string"}}},
             {"example", json::array({"app"})},
             {"description",
              "names of ports (sandbox.ports with allowPublic) whose Ingress has no forward "
              "auth; default none: owner-only. Anything else is 422"}}},
           {"user",
            {{"type", "string"},
             {"description", "admin tokens only: create on behalf of this user"}}},
           {"profile",
            {{"type", "string"},
             {"example", "large"},
             {"description",
              "a profile the operator configured (sandbox.profiles: resources, placement, "
              "storage bounds, ports, probes); empty = sandbox.defaultProfile. Unknown: 422"}}},
       }},
  };
  json envChange = {
      {"type", "object"},
      {"additionalProperties", false},
      {"properties",
       {
           {"set", stringMap()},
           {"setSecret", stringMap()},
           {"unset", {{"type", "array"}, {"items", {{"type", "string"}}}}},
       }},
  };
  json list = {
      {"type", "object"},
      {"required", {"items"}},
      {"properties",
       {{"items", {{"type", "array"}, {"items", ref("Sandbox")}}},
        {"continue",
         {{"type", "string"},
          {"description",
           "present when more sandboxes may remain: pass it as `continue` (with the same "
           "filters) for the next page"}}}}}};
  json error = {
      {"type", "object"},
      {"required", {"error"}},
      {"properties",
       {{"error",
         {{"type", "object"},
          {"required", {"code", "message"}},
          {"properties",
           {{"code", {{"type", "string"}}},
            {"message", {{"type", "string"}}},
            {"requestId", {{"type", "string"}}}}}}}}}};
  json operationSchema = {
      {"type", "object"},
      {"required", {"id", "kind", "state", "user", "requestedAt"}},
      {"properties",
       {
           {"id", {{"type", "integer"}}},
           {"kind",
            {{"type", "string"},
             {"enum",
              {"create", "stop", "start", "update_env", "delete", "snapshot", "idle_stop",
               "expire", "resize", "restore"}}}},
           {"state",
            {{"type", "string"},
             {"enum", {"pending", "done", "failed", "superseded"}},
             {"description",
              "pending: recorded, not carried out yet; done: the cluster has the change; "
              "failed: given up (see error); superseded: a newer request replaced it"}}},
           {"user", {{"type", "string"}, {"description", "who asked"}}},
           {"requestedAt", {{"type", "string"}, {"format", "date-time"}}},
           {"finishedAt", {{"type", "string"}, {"format", "date-time"}}},
           {"error", {{"type", "string"}}},
       }},
  };
  json operationList = {
      {"type", "object"},
      {"required", {"items"}},
      {"properties", {{"items", {{"type", "array"}, {"items", ref("Operation")}}}}}};
  json token = {
      {"type", "object"},
      {"required", {"id", "user", "admin", "createdAt"}},
      {"properties",
       {
           {"id", {{"type", "string"}, {"description", "public identifier, for revoking"}}},
           {"user", {{"type", "string"}}},
           {"admin", {{"type", "boolean"}}},
           {"createdAt", {{"type", "string"}, {"format", "date-time"}}},
           {"expiresAt",
            {{"type", "string"}, {"format", "date-time"}, {"description", "absent: never"}}},
           {"revokedAt",
            {{"type", "string"}, {"format", "date-time"}, {"description", "absent: not revoked"}}},
       }},
  };
  json createdToken = token;
  createdToken["required"].push_back("token");
  createdToken["properties"]["token"] = {
      {"type", "string"},
      {"description", "the bearer token; in this answer only (stored hashed)"}};
  json tokenList = {{"type", "object"},
                    {"required", {"items"}},
                    {"properties", {{"items", {{"type", "array"}, {"items", ref("Token")}}}}}};
  json tokenRequest = {
      {"type", "object"},
      {"required", {"user"}},
      {"additionalProperties", false},
      {"properties",
       {
           {"user", {{"type", "string"}}},
           {"admin", {{"type", "boolean"}, {"default", false}}},
           {"ttl",
            {{"type", "string"},
             {"pattern", "^[0-9]+[smhd]$"},
             {"example", "30d"},
             {"description", "expire after this long (s, m, h, d; at most 3660d); absent: never"}}},
       }},
  };
  const json limitFields = {
      {"maxSandboxes", {{"type", "integer"}, {"minimum", 0}, {"description", "0 = unlimited"}}},
      {"maxRunning", {{"type", "integer"}, {"minimum", 0}, {"description", "0 = unlimited"}}},
      {"maxStorage",
       {{"type", "string"}, {"example", "50Gi"}, {"description", "\"\" = unlimited"}}}};
  json quotaRequest = {{"type", "object"},
                       {"additionalProperties", false},
                       {"description", "absent or null: the configured limit applies"},
                       {"properties", limitFields}};
  json quota = {
      {"type", "object"},
      {"required", {"user", "limits", "usage"}},
      {"properties",
       {{"user", {{"type", "string"}}},
        {"limits", {{"type", "object"}, {"properties", limitFields}}},
        {"override",
         {{"type", "object"},
          {"properties", limitFields},
          {"description", "the admin's override, when set"}}},
        {"usage",
         {{"type", "object"},
          {"properties",
           {{"sandboxes", {{"type", "integer"}}},
            {"running", {{"type", "integer"}}},
            {"storageBytes", {{"type", "integer"}}}}}}}}}};
  json all = {{"Sandbox", sandbox},
              {"Quota", quota},
              {"QuotaRequest", quotaRequest},
              {"Token", token},
              {"CreatedToken", createdToken},
              {"TokenList", tokenList},
              {"CreateTokenRequest", tokenRequest},
              {"SandboxList", list},
              {"Operation", operationSchema},
              {"OperationList", operationList},
              {"CreateSandboxRequest", createRequest},
              {"EnvChange", envChange},
              {"Error", error}};
  addSnapshotSchemas(all);
  addLifetimeSchemas(all);
  return all;
}

json operation(const Route& route) {
  json op = {{"operationId", route.operationId}, {"summary", route.summary}};
  json params = json::array();
  if (route.pattern.find("{name}") != std::string::npos) {
    params.push_back({{"name", "name"},
                      {"in", "path"},
                      {"required", true},
                      {"schema", {{"type", "string"}}}});
  }
  json responses = json::object();
  const std::string ok = std::to_string(route.successStatus);

  switch (route.id) {
    case RouteId::CreateSandbox:
      op["requestBody"] = {
          {"required", true},
          {"content", {{"application/json", {{"schema", ref("CreateSandboxRequest")}}}}}};
      responses[ok] = jsonResponse("created", "Sandbox");
      responses["409"] = errorResponse(
          "the name is taken (conflict), or the user's quota would be passed "
          "(quota_exceeded, naming the limit; nothing is made)");
      break;
    case RouteId::ListSandboxes:
      params.push_back({{"name", "limit"},
                        {"in", "query"},
                        {"required", false},
                        {"description", "at most this many sandboxes in the page"},
                        {"schema",
                         {{"type", "integer"},
                          {"minimum", 1},
                          {"maximum", ListQuery::kMaxLimit},
                          {"default", ListQuery::kDefaultLimit}}}});
      params.push_back(
          {{"name", "continue"},
           {"in", "query"},
           {"required", false},
           {"description",
            "the previous page's `continue`, to list the sandboxes after it (in name order); "
            "the filters must be the same. A sandbox that exists throughout a walk is in "
            "exactly one of its pages. A page may hold fewer than `limit` and still carry "
            "`continue`"},
           {"schema", {{"type", "string"}}}});
      params.push_back({{"name", "status"},
                        {"in", "query"},
                        {"required", false},
                        {"description", "only sandboxes with this status (any case)"},
                        {"schema", {{"type", "string"}}}});
      params.push_back({{"name", "user"},
                        {"in", "query"},
                        {"required", false},
                        {"description", "admin tokens only: this user's sandboxes"},
                        {"schema", {{"type", "string"}}}});
      params.push_back({{"name", "q"},
                        {"in", "query"},
                        {"required", false},
                        {"description", "only sandboxes whose name starts with this"},
                        {"schema", {{"type", "string"}, {"pattern", "^[a-z0-9.-]*$"}}}});
      responses[ok] = jsonResponse("a page of the sandboxes, in name order", "SandboxList");
      responses["403"] = errorResponse("only admins may list other users' sandboxes");
      break;
    case RouteId::GetSandbox:
      responses[ok] = jsonResponse("the sandbox", "Sandbox");
      break;
    case RouteId::CreateSnapshot:
    case RouteId::ListSnapshots:
    case RouteId::DeleteSnapshot:
    case RouteId::RestoreSandbox:
      describeSnapshotRoute(route, ok, op, params, responses);
      break;
    case RouteId::UpdateSandbox:
    case RouteId::RecordActivity:
      describeLifetimeRoute(route, ok, op, responses);
      break;
    case RouteId::ListOperations:
      responses[ok] = jsonResponse("the operations, newest first", "OperationList");
      break;
    case RouteId::StopSandbox:
    case RouteId::StartSandbox:
      responses[ok] = jsonResponse("accepted", "Sandbox");
      responses["409"] = errorResponse(
          route.id == RouteId::StartSandbox
              ? "the sandbox is being deleted, or the owner's maxRunning quota would be passed "
                "(quota_exceeded)"
              : "the sandbox is being deleted");
      break;
    case RouteId::GetQuota:
    case RouteId::PutQuota:
    case RouteId::DeleteQuota:
      params.push_back({{"name", "user"},
                        {"in", "path"},
                        {"required", true},
                        {"schema", {{"type", "string"}}}});
      if (route.id == RouteId::PutQuota) {
        op["requestBody"] = {
            {"required", true},
            {"content", {{"application/json", {{"schema", ref("QuotaRequest")}}}}}};
      }
      responses[ok] = jsonResponse("the user's quota as it now applies, and their usage", "Quota");
      if (route.id == RouteId::DeleteQuota) {
        responses["404"] = errorResponse("the user has no override");
      }
      break;
    case RouteId::UpdateEnv:
      op["requestBody"] = {{"required", true},
                           {"content", {{"application/json", {{"schema", ref("EnvChange")}}}}}};
      responses[ok] = jsonResponse("the new desired env", "Sandbox");
      responses["409"] = errorResponse("the sandbox is being deleted");
      break;
    case RouteId::DeleteSandbox:
      params.push_back({{"name", "purge"},
                        {"in", "query"},
                        {"required", false},
                        {"description", "also delete the home volume (its snapshots stay)"},
                        {"schema", {{"type", "boolean"}, {"default", false}}}});
      params.push_back(
          {{"name", "purgeSnapshots"},
           {"in", "query"},
           {"required", false},
           {"description",
            "with purge=true: also delete every snapshot listed under the sandbox's name (the "
            "VolumeSnapshots, then their rows), after the purge is accepted; without "
            "purge=true a 422 that changes nothing"},
           {"schema", {{"type", "boolean"}, {"default", false}}}});
      responses[ok] = jsonResponse("accepted", "Sandbox");
      break;
    case RouteId::ListTokens:
      params.push_back({{"name", "user"},
                        {"in", "query"},
                        {"required", false},
                        {"description", "only this user's tokens"},
                        {"schema", {{"type", "string"}}}});
      responses[ok] = jsonResponse("every token, revoked and expired ones too, oldest first",
                                   "TokenList");
      break;
    case RouteId::CreateToken:
      op["requestBody"] = {
          {"required", true},
          {"content", {{"application/json", {{"schema", ref("CreateTokenRequest")}}}}}};
      responses[ok] = jsonResponse("created", "CreatedToken");
      break;
    case RouteId::RevokeToken:
      params.push_back({{"name", "id"},
                        {"in", "path"},
                        {"required", true},
                        {"schema", {{"type", "string"}}}});
      responses[ok] = jsonResponse("revoked (revoking again changes nothing)", "Token");
      responses["404"] = errorResponse("no such token");
      break;
    case RouteId::AuthCheck:
      params.push_back({{"name", "X-Original-URL"},
                        {"in", "header"},
                        {"required", false},
                        {"description", "the URL of the request being checked (ingress-nginx)"},
                        {"schema", {{"type", "string"}}}});
      params.push_back({{"name", "X-Forwarded-Host"},
                        {"in", "header"},
                        {"required", false},
                        {"description", "its host; must agree with X-Original-URL when both"},
                        {"schema", {{"type", "string"}}}});
      op["security"] = json::array({{{"sessionCookie", json::array()}}});
      responses[ok] = {{"description", "the owner or an admin: let the request through"},
                       {"headers",
                        {{"X-Auth-Request-User",
                          {{"schema", {{"type", "string"}}}, {"description", "who"}}}}}};
      responses["401"] = errorResponse("no valid session (sign in)");
      responses["403"] = errorResponse("not this sandbox's owner, or not a sandbox host");
      responses["503"] = errorResponse("cannot tell now");
      break;
    case RouteId::SignInPage:
      params.push_back({{"name", "rd"},
                        {"in", "query"},
                        {"required", false},
                        {"description", "where to return after signing in (a sandbox URL)"},
                        {"schema", {{"type", "string"}}}});
      responses[ok] = {{"description", "the sign-in form"},
                       {"content", {{"text/html", {{"schema", {{"type", "string"}}}}}}}};
      break;
    case RouteId::SignIn:
      op["requestBody"] = {
          {"required", true},
          {"content",
           {{"application/x-www-form-urlencoded",
             {{"schema",
               {{"type", "object"},
                {"required", {"token"}},
                {"properties",
                 {{"token", {{"type", "string"}}}, {"rd", {{"type", "string"}}}}}}}}}}}};
      responses[ok] = {{"description", "signed in (session cookie set); back to rd"}};
      responses["200"] = {{"description", "signed in (session cookie set); no rd"}};
      responses["401"] = {{"description", "invalid token: the form again"}};
      responses["415"] = errorResponse("body not a form");
      break;
    case RouteId::Events:
    case RouteId::SandboxEvents: {
      params.push_back({{"name", "ticket"},
                        {"in", "query"},
                        {"required", false},
                        {"description",
                         "a stream ticket (POST /api/v1/events/tickets) instead of the "
                         "Authorization header, for EventSource; single use"},
                        {"schema", {{"type", "string"}}}});
      params.push_back({{"name", "lastEventId"},
                        {"in", "query"},
                        {"required", false},
                        {"description", "resume after this event id (as the Last-Event-ID header)"},
                        {"schema", {{"type", "string"}}}});
      params.push_back({{"name", "Last-Event-ID"},
                        {"in", "header"},
                        {"required", false},
                        {"description", "resume after this event id"},
                        {"schema", {{"type", "string"}}}});
      params.push_back({{"name", "user"},
                        {"in", "query"},
                        {"required", false},
                        {"description",
                         "only this user's sandboxes: admin tokens may name anyone, other "
                         "tokens only their own user (403 otherwise)"},
                        {"schema", {{"type", "string"}}}});
      responses["403"] = errorResponse("only admins may watch other users' sandboxes");
      responses[ok] = {
          {"description",
           "text/event-stream. Events: `reset` (forget what you have; the current state "
           "follows), `sandbox` (data: the Sandbox JSON, as GET answers it), `deleted` "
           "(data: {\"name\"}), `operation` (data: an Operation with \"sandbox\"). Every "
           "event has an id; a comment line is sent every server.events.heartbeatMs. A stream "
           "starts with `reset` and the current state, or with the events after the "
           "Last-Event-ID when the server still has them. A client too slow to read gets "
           "`reset` with an empty id and the stream ends."},
          {"content", {{"text/event-stream", {{"schema", {{"type", "string"}}}}}}}};
      break;
    }
    case RouteId::CreateEventTicket:
      responses[ok] = {
          {"description", "a ticket"},
          {"content",
           {{"application/json",
             {{"schema",
               {{"type", "object"},
                {"required", {"ticket", "expiresInMs"}},
                {"properties",
                 {{"ticket", {{"type", "string"}}},
                  {"expiresInMs", {{"type", "integer"}}}}}}}}}}}};
      break;
    case RouteId::Dashboard:
    case RouteId::DashboardAsset:
      if (route.id == RouteId::DashboardAsset) {
        params.push_back({{"name", "file"},
                          {"in", "path"},
                          {"required", true},
                          {"schema", {{"type", "string"}}}});
        responses["404"] = errorResponse("no such file");
      }
      responses[ok] = {{"description", "the dashboard (HTML, script or style)"}};
      break;
    case RouteId::Healthz:
      responses[ok] = {{"description", "alive"}};
      break;
    case RouteId::Readyz:
      responses[ok] = {{"description", "ready"}};
      responses["503"] = errorResponse("database or cluster not usable");
      break;
    case RouteId::Metrics:
      responses[ok] = {{"description", "Prometheus text format"},
                       {"content", {{"text/plain", {{"schema", {{"type", "string"}}}}}}}};
      break;
    case RouteId::OpenApi:
      responses[ok] = {{"description", "this document"},
                       {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}};
      break;
  }

  if (route.authenticated) {
    op["security"] = json::array({{{"bearerAuth", json::array()}}});
    responses["401"] = errorResponse("no or bad token");
    if (route.pattern.find("{name}") != std::string::npos) {
      responses["404"] = errorResponse("no such sandbox (or another user's)");
    }
    if (route.acceptsBody) {
      responses["400"] = errorResponse("malformed JSON");
      responses["413"] = errorResponse("body over the limit");
      responses["415"] = errorResponse("body not JSON");
    }
    if (route.adminOnly) {
      responses["403"] = errorResponse("not an admin token");
    }
    responses["422"] = errorResponse("invalid field");
    responses["429"] = errorResponse("throttled");
    responses["503"] = errorResponse("cluster unreachable");
  }
  responses["default"] = errorResponse("error");
  if (!params.empty()) {
    op["parameters"] = params;
  }
  op["responses"] = responses;
  return op;
}

}  // namespace

nlohmann::json buildOpenApiDocument() {
  json paths = json::object();
  for (const Route& route : routeTable()) {
    std::string method = route.method;
    for (char& c : method) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    paths[route.pattern][method] = operation(route);
  }
  return json{
      {"openapi", "3.0.3"},
      {"info",
       {{"title", "sandboxd API"},
        {"version", "1.0.0"},
        {"description",
         "Long-lived per-user development sandboxes on Kubernetes. Errors use "
         "{\"error\": {\"code\", \"message\", \"requestId\"}}."}}},
      {"servers", json::array({{{"url", "/"}}})},
      {"paths", paths},
      {"components",
       {{"schemas", schemas()},
        {"securitySchemes",
         {{"bearerAuth", {{"type", "http"}, {"scheme", "bearer"}}},
          {"sessionCookie",
           {{"type", "apiKey"}, {"in", "cookie"}, {"name", "sandboxd_session"}}}}}}},
  };
}

}  // namespace sandboxd::api
