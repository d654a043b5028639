#include "api/router.h"

#include <algorithm>

namespace sandboxd::api {

const std::vector<Route>& routeTable() {
  static const std::vector<Route> routes = {
      {RouteId::CreateSandbox, "POST", "/api/v1/sandboxes", true, true, 201, "createSandbox",
       "Create a sandbox for the caller"},
      {RouteId::ListSandboxes, "GET", "/api/v1/sandboxes", true, false, 200, "listSandboxes",
       "List the caller's sandboxes (admins: all, or ?user=)"},
      {RouteId::GetSandbox, "GET", "/api/v1/sandboxes/{name}", true, false, 200, "getSandbox",
       "Show one sandbox"},
      {RouteId::DeleteSandbox, "DELETE", "/api/v1/sandboxes/{name}", true, false, 202,
       "deleteSandbox",
       "Delete a sandbox (keeps its home volume unless purge=true; its snapshots always)"},
      {RouteId::StopSandbox, "POST", "/api/v1/sandboxes/{name}/stop", true, false, 202,
       "stopSandbox", "Stop a sandbox (scale to 0, data kept)"},
      {RouteId::StartSandbox, "POST", "/api/v1/sandboxes/{name}/start", true, false, 202,
       "startSandbox", "Start a stopped sandbox"},
      {RouteId::UpdateEnv, "PATCH", "/api/v1/sandboxes/{name}/env", true, true, 200,
       "updateSandboxEnv", "Set or unset environment variables (the pod rolls)"},
      {RouteId::UpdateSandbox, "PATCH", "/api/v1/sandboxes/{name}", true, true, 200,
       "updateSandbox",
       "Grow the home volume, set the idle auto-stop period or the expiry"},
      {RouteId::RecordActivity, "POST", "/api/v1/sandboxes/{name}/activity", true, false, 204,
       "recordSandboxActivity",
       "Report that the user is working in the sandbox (idle auto-stop counts from it)"},
      {RouteId::ListOperations, "GET", "/api/v1/sandboxes/{name}/operations", true, false, 200,
       "listSandboxOperations",
       "The sandbox's operation record: what was asked, by whom, and how it ended"},
      {RouteId::CreateSnapshot, "POST", "/api/v1/sandboxes/{name}/snapshots", true, true, 202,
       "createSnapshot", "Snapshot the sandbox's home volume (a VolumeSnapshot)"},
      {RouteId::ListSnapshots, "GET", "/api/v1/sandboxes/{name}/snapshots", true, false, 200,
       "listSnapshots", "The sandbox's home-volume snapshots, newest first"},
      {RouteId::DeleteSnapshot, "DELETE", "/api/v1/sandboxes/{name}/snapshots/{id}", true, false,
       202, "deleteSnapshot", "Delete a snapshot (its VolumeSnapshot and the storage's copy)"},
      {RouteId::RestoreSandbox, "POST", "/api/v1/sandboxes/{name}/restore", true, true, 202,
       "restoreSandbox",
       "Restore a snapshot in place of the home volume (the current one is snapshotted first)"},
      {RouteId::ListTokens, "GET", "/api/v1/admin/tokens", true, false, 200, "listTokens",
       "Admin: list API tokens (all, or ?user=); never a token or its hash", true},
      {RouteId::CreateToken, "POST", "/api/v1/admin/tokens", true, true, 201, "createToken",
       "Admin: create an API token; the answer carries it, once", true},
      {RouteId::RevokeToken, "DELETE", "/api/v1/admin/tokens/{id}", true, false, 200,
       "revokeToken", "Admin: revoke an API token; a running server refuses it at once", true},
      {RouteId::GetQuota, "GET", "/api/v1/admin/quotas/{user}", true, false, 200, "getQuota",
       "Admin: a user's quota as it applies (configured, with the user's override) and what "
       "their sandboxes use of it",
       true},
      {RouteId::PutQuota, "PUT", "/api/v1/admin/quotas/{user}", true, true, 200, "putQuota",
       "Admin: set a user's quota override (replaces any); absent fields keep the configured "
       "limit, 0 or \"\" is unlimited",
       true},
      {RouteId::DeleteQuota, "DELETE", "/api/v1/admin/quotas/{user}", true, false, 200,
       "deleteQuota", "Admin: remove a user's quota override (the configured quota applies)",
       true},
      {RouteId::AuthCheck, "GET", "/auth/check", false, false, 200, "authCheck",
       "Forward auth (ingress-nginx auth-url): may this request reach the sandbox host it "
       "names? 200 owner or admin, 401 no valid session, 403 anyone else"},
      {RouteId::SignInPage, "GET", "/auth/signin", false, false, 200, "signInPage",
       "Forward auth sign-in page (ingress-nginx auth-signin): a form that posts a token"},
      {RouteId::SignIn, "POST", "/auth/signin", false, true, 303, "signIn",
       "Sign in with an API token (form field token, optional rd): sets the session cookie "
       "for the sandboxes' domain and returns to rd",
       false, true},
      {RouteId::Events, "GET", "/api/v1/events", true, false, 200, "streamEvents",
       "Server-sent events: every change to the caller's sandboxes (admins: all)"},
      {RouteId::SandboxEvents, "GET", "/api/v1/sandboxes/{name}/events", true, false, 200,
       "streamSandboxEvents", "Server-sent events of one sandbox"},
      {RouteId::CreateEventTicket, "POST", "/api/v1/events/tickets", true, false, 201,
       "createEventTicket",
       "A short-lived, single-use ticket that opens one event stream (?ticket=) for the caller"},
      {RouteId::Dashboard, "GET", "/", false, false, 200, "dashboard", "The web dashboard"},
      {RouteId::DashboardAsset, "GET", "/web/{file}", false, false, 200, "dashboardAsset",
       "The web dashboard's scripts and styles"},
      {RouteId::Healthz, "GET", "/healthz", false, false, 200, "healthz", "Liveness"},
      {RouteId::Readyz, "GET", "/readyz", false, false, 200, "readyz",
       "Readiness: database and cluster usable"},
      {RouteId::Metrics, "GET", "/metrics", false, false, 200, "metrics",
       "Prometheus metrics"},
      {RouteId::OpenApi, "GET", "/api/v1/openapi.json", false, false, 200, "openapi",
       "This document"},
  };
  return routes;
}

namespace {

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  if (!path.empty() && path[0] == '/') {
    i = 1;
  }
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) {
      j = path.size();
    }
    out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

std::string percentDecode(const std::string& s, bool plusAsSpace) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int hi = hexValue(s[i + 1]);
      int lo = hexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    if (c == '+' && plusAsSpace) {
      out.push_back(' ');
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parseQuery(const std::string& rawQuery) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  while (i < rawQuery.size()) {
    size_t j = rawQuery.find('&', i);
    if (j == std::string::npos) {
      j = rawQuery.size();
    }
    std::string part = rawQuery.substr(i, j - i);
    if (!part.empty()) {
      size_t eq = part.find('=');
      if (eq == std::string::npos) {
        out.emplace_back(percentDecode(part, true), "");
      } else {
        out.emplace_back(percentDecode(part.substr(0, eq), true),
                         percentDecode(part.substr(eq + 1), true));
      }
    }
    i = j + 1;
  }
  return out;
}

RouteMatch matchRoute(const std::string& method, const std::string& rawPath) {
  RouteMatch match;
  std::string path = rawPath.empty() ? "/" : rawPath;
  if (path.size() > 1 && path.back() == '/') {
    path.pop_back();
  }
  const std::vector<std::string> segments = splitPath(path);

  for (const Route& route : routeTable()) {
    const std::vector<std::string> pattern = splitPath(route.pattern);
    if (pattern.size() != segments.size()) {
      continue;
    }
    std::map<std::string, std::string> params;
    bool ok = true;
    for (size_t i = 0; i < pattern.size() && ok; ++i) {
      const std::string& p = pattern[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        std::string value = percentDecode(segments[i]);
        if (value.empty()) {
          ok = false;
        } else {
          params[p.substr(1, p.size() - 2)] = value;
        }
      } else if (p != segments[i]) {
        ok = false;
      }
    }
    if (!ok) {
      continue;
    }
    // Same path shape: this is a known path; record the method.
    if (match.pathTemplate.empty()) {
      match.pathTemplate = route.pattern;
    }
    if (route.pattern != match.pathTemplate) {
      continue;  // a different template of the same shape matched first; keep the first
    }
    if (std::find(match.allowedMethods.begin(), match.allowedMethods.end(), route.method) ==
        match.allowedMethods.end()) {
      match.allowedMethods.push_back(route.method);
    }
    if (route.method == method && match.route == nullptr) {
      match.route = &route;
      match.params = std::move(params);
    }
  }

  if (match.route != nullptr) {
    match.result = RouteMatch::Result::Found;
  } else if (!match.pathTemplate.empty()) {
    match.result = RouteMatch::Result::MethodNotAllowed;
  } else {
    match.result = RouteMatch::Result::PathNotFound;
  }
  return match;
}

}  // namespace sandboxd::api
