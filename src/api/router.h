// The route table of the HTTP API (DESIGN §3) and matching of method + path against it. The
// table is the single list of what the API serves: the server dispatches on it, the OpenAPI
// document is generated from it, and the tests walk it.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace sandboxd::api {

// What a route does; the server dispatches on this.
enum class RouteId {
  CreateSandbox,
  ListSandboxes,
  GetSandbox,
  StopSandbox,
  StartSandbox,
  UpdateEnv,
  UpdateSandbox,   // PATCH: storage, idle period, expiry
  RecordActivity,  // POST .../activity: the user is working in it
  DeleteSandbox,
  ListOperations,
  CreateSnapshot,
  ListSnapshots,
  DeleteSnapshot,
  RestoreSandbox,  // POST .../restore: a snapshot in place of the home volume
  ListTokens,
  CreateToken,
  RevokeToken,
  GetQuota,     // admin: a user's quota (quota_handlers.cc)
  PutQuota,
  DeleteQuota,
  AuthCheck,
  SignInPage,
  SignIn,
  Events,             // text/event-stream (event_streams.h)
  SandboxEvents,      // text/event-stream, one sandbox
  CreateEventTicket,  // stream tickets (stream_tickets.h)
  Dashboard,          // the web dashboard (web/)
  DashboardAsset,
  Healthz,
  Readyz,
  Metrics,
  OpenApi,  // keep last (kRouteIdCount)
};
// How many RouteIds there are; every one has a handler (route_handlers.cc checks its table).
inline constexpr size_t kRouteIdCount = static_cast<size_t>(RouteId::OpenApi) + 1;

struct Route {
  RouteId id;
  std::string method;        // GET, POST, PATCH, DELETE
  std::string pattern;       // e.g. /api/v1/sandboxes/{name}/stop
  bool authenticated;        // needs a bearer token
  bool acceptsBody;          // the route reads a JSON body
  int successStatus;         // 200, 201, 202
  std::string operationId;   // OpenAPI operationId, also used in logs
  std::string summary;       // one line for the OpenAPI document
  bool adminOnly = false;    // a non-admin caller gets 403 (after 401, 404/405)
  bool formBody = false;     // the body is a form (application/x-www-form-urlencoded), not JSON
};

// Every route the API serves, in a stable order.
const std::vector<Route>& routeTable();

struct RouteMatch {
  enum class Result { Found, PathNotFound, MethodNotAllowed };
  Result result = Result::PathNotFound;
  const Route* route = nullptr;                  // set when Found
  std::map<std::string, std::string> params;     // {name} → decoded segment
  std::vector<std::string> allowedMethods;       // for a known path (Found or 405)
  std::string pathTemplate;                      // the matched pattern, for logs/metrics
};

// Matches `method` (upper case) and a raw (still percent-encoded) path without the query.
// A single trailing slash is ignored.
RouteMatch matchRoute(const std::string& method, const std::string& rawPath);

// Percent-decodes one path segment or query component ('+' is kept as is in paths).
std::string percentDecode(const std::string& s, bool plusAsSpace = false);

// Splits a query string into decoded key/value pairs (later duplicates are kept in order).
std::vector<std::pair<std::string, std::string>> parseQuery(const std::string& rawQuery);

}  // namespace sandboxd::api
