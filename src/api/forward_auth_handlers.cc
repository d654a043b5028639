// The forward-auth routes of RouteHandlers (route_handlers.h): /auth/check for ingress-nginx,
// and the sign-in page and form post for browsers (forward_auth.h says how they fit).
#include <spdlog/spdlog.h>

#include "api/errors.h"
#include "api/route_handlers.h"
#include "api/router.h"

namespace sandboxd::api {
namespace {

using web::http::http_response;

std::string header(const web::http::http_request& request, const char* name) {
  auto it = request.headers().find(name);
  return it == request.headers().end() ? std::string() : it->second;
}

std::string htmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

// The headers of the sign-in page and its answers: no framing (clickjacking), no referrer (the
// return URL stays private), nothing loaded from anywhere.
void addPageHeaders(http_response& response) {
  response.headers().add("Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                         "frame-ancestors 'none'");
  response.headers().add("X-Frame-Options", "DENY");
  response.headers().add("Referrer-Policy", "no-referrer");
}

}  // namespace

bool RouteHandlers::forwardAuthReady(const RequestContextPtr& ctx) {
  if (forwardAuth_ == nullptr) {
    responder_.replyError(ctx, serviceUnavailable("forward auth is not configured"));
    return false;
  }
  return true;
}

void RouteHandlers::authCheck(const RequestContextPtr& ctx, const Route&) {
  if (!forwardAuthReady(ctx)) {
    return;
  }
  const std::string cookie = header(ctx->request, "Cookie");
  const std::string originalUrl = header(ctx->request, "X-Original-URL");
  const std::string forwardedHost = header(ctx->request, "X-Forwarded-Host");
  const AuthDecision decision =
      forwardAuth_->check(AuthCheckRequest{cookie, originalUrl, forwardedHost});
  if (!decision.user.empty()) {
    ctx->caller = Caller{decision.user, false};  // for the access log
  }
  switch (decision.status) {
    case 200: {
      http_response response(web::http::status_codes::OK);
      response.headers().add("X-Auth-Request-User", decision.user);
      responder_.send(ctx, std::move(response));
      return;
    }
    case 401:
      responder_.replyError(ctx, unauthenticatedError("sign in: " + decision.reason));
      return;
    case 403:
      responder_.replyError(ctx, forbidden(decision.reason));
      return;
    default:
      responder_.replyError(ctx, serviceUnavailable(decision.reason));
      return;
  }
}

void RouteHandlers::replySignInPage(const RequestContextPtr& ctx, int status,
                                    const std::string& returnTo, const std::string& problem) {
  std::string page =
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign in to your sandbox"
      "</title><style>body{font-family:sans-serif;max-width:28em;margin:4em auto}"
      "input{width:100%;padding:.4em;margin:.4em 0}</style></head><body>"
      "<h1>Sign in</h1>";
  if (!problem.empty()) {
    page += "<p role=\"alert\"><strong>" + htmlEscape(problem) + "</strong></p>";
  }
  page +=
      "<form method=\"post\" action=\"/auth/signin\">"
      "<label for=\"token\">API token</label>"
      "<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" required "
      "autofocus>";
  if (!returnTo.empty()) {
    page += "<input type=\"hidden\" name=\"rd\" value=\"" + htmlEscape(returnTo) + "\">";
  }
  page += "<input type=\"submit\" value=\"Sign in\"></form></body></html>";
  http_response response(static_cast<web::http::status_code>(status));
  response.set_body(page, "text/html; charset=utf-8");
  addPageHeaders(response);
  responder_.send(ctx, std::move(response));
}

void RouteHandlers::signInPage(const RequestContextPtr& ctx, const Route&) {
  if (!forwardAuthReady(ctx)) {
    return;
  }
  std::string returnTo;
  for (const auto& [key, value] : parseQuery(ctx->rawQuery)) {
    if (key == "rd" && forwardAuth_->isSafeReturnUrl(value)) {
      returnTo = value;
    }
  }
  replySignInPage(ctx, 200, returnTo, "");
}

void RouteHandlers::signIn(const RequestContextPtr& ctx, const Route& route) {
  if (!forwardAuthReady(ctx)) {
    return;
  }
  if (!ForwardAuth::isSameOriginForm(header(ctx->request, "Origin"),
                                     header(ctx->request, "Host"))) {
    // Another site's form would sign this browser in as someone else (login CSRF).
    responder_.replyError(ctx, forbidden("sign in from the sign-in page itself"));
    return;
  }
  std::string token;
  std::string returnTo;
  for (const auto& [key, value] : parseQuery(ctx->body)) {
    if (key == "token") {
      token = value;
    } else if (key == "rd" && forwardAuth_->isSafeReturnUrl(value)) {
      returnTo = value;
    }
  }
  auto signedIn = forwardAuth_->signIn(token);
  if (!signedIn.isOk()) {
    if (signedIn.status().kind() == ErrorKind::Unauthenticated) {
      replySignInPage(ctx, 401, returnTo, "That token is not valid (revoked or expired?).");
    } else {
      spdlog::error("request {}: sign-in failed: {}", ctx->requestId,
                    signedIn.status().toString());
      responder_.replyError(ctx, fromStatus(signedIn.status()));
    }
    return;
  }
  ctx->caller = Caller{signedIn->user, false};  // for the access log
  http_response response(static_cast<web::http::status_code>(
      returnTo.empty() ? 200 : route.successStatus));
  response.headers().add("Set-Cookie", signedIn->setCookie);
  addPageHeaders(response);
  if (returnTo.empty()) {
    response.set_body("<!doctype html><html><head><meta charset=\"utf-8\"><title>Signed in"
                      "</title></head><body><p>Signed in as " +
                          htmlEscape(signedIn->user) + ".</p></body></html>",
                      "text/html; charset=utf-8");
  } else {
    response.headers().add("Location", returnTo);
  }
  responder_.send(ctx, std::move(response));
}

}  // namespace sandboxd::api
