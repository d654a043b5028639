// ForwardAuth: who may reach a sandbox's web endpoints ({name}-{port}.{domain}, served through
// the ingress controller). ingress-nginx asks GET /auth/check before every request to a
// sandbox's hosts (annotation nginx.ingress.kubernetes.io/auth-url) and sends the browser to
// the sign-in page on a 401 (auth-signin). Only the sandbox's owner and admins pass.
//
// A browser gets a session by signing in with an API token (a form POST: the token never
// appears in a URL, so never in an access log); the session cookie is scoped to the sandboxes'
// domain, Secure, HttpOnly, SameSite=Lax. Each check is answered from memory: the session
// store, the registry's token cache (so a revoked or expired token ends its sessions at once)
// and the registry's rows (owner) — no cluster call and no registry write.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/session_store.h"
#include "sandboxd/common/status.h"
#include "sandboxd/config/config.h"
#include "sandboxd/registry/registry.h"

namespace sandboxd::api {

inline constexpr const char* kSessionCookie = "sandboxd_session";

// What the check reads of the request ingress-nginx sends (views, valid during the call).
struct AuthCheckRequest {
  std::string_view cookie;          // the Cookie header
  std::string_view originalUrl;     // X-Original-URL: scheme://host/path?query
  std::string_view forwardedHost;   // X-Forwarded-Host
};

struct AuthDecision {
  int status = 403;     // 200 pass, 401 sign in, 403 refused, 503 cannot tell now
  std::string user;     // who passed (200)
  std::string reason;   // for the log and the 401/403 body; never a credential
};

struct SignIn {
  std::string setCookie;  // the Set-Cookie header's value
  std::string user;
};

class ForwardAuth {
 public:
  ForwardAuth(const Config& config, RegistryPtr registry, TimeSourcePtr time,
              RandomGeneratorPtr random);

  // The check for one request to a sandbox host.
  AuthDecision check(const AuthCheckRequest& request);

  // Signs in with an API token: a new session until the earlier of the session ttl and the
  // token's expiry. Unauthenticated for a token that is not valid.
  StatusOr<SignIn> signIn(const std::string& token);

  // Where a sign-in may send the browser back to: an https (or the configured scheme) URL on
  // one of the sandboxes' hosts. Anything else (another site, a relative or odd URL) is
  // refused, so the sign-in cannot be used to redirect anywhere else.
  bool isSafeReturnUrl(std::string_view url) const;
  // Login CSRF: may a sign-in form posted with this Origin header reach a server the browser
  // addressed as `host` (the Host header)? Only from the page's own origin; a request without
  // Origin (not a browser's cross-site form) passes, "null" and any other origin do not.
  static bool isSameOriginForm(std::string_view origin, std::string_view host);

  // The session id in a Cookie header (the last sandboxd_session value that is well formed),
  // if any.
  static std::optional<std::string> sessionIdOf(std::string_view cookieHeader);
  // The host of an absolute URL (scheme://host[:port]/...), lowercase; empty if none.
  static std::string hostOfUrl(std::string_view url, std::string_view* scheme = nullptr);

  SessionStore& sessions() { return sessions_; }

 private:
  const std::string domain_;
  const std::string scheme_;
  std::vector<std::string> ports_;  // port names with an ingress
  const std::chrono::seconds sessionTtl_;
  const RegistryPtr registry_;
  const TimeSourcePtr time_;
  SessionStore sessions_;
};

}  // namespace sandboxd::api
