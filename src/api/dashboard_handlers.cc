// RouteHandlers for the web dashboard: GET / (web/index.html) and GET /web/{file} (its script
// and style), served from the files embedded in the binary at build time. Every answer carries
// a Content-Security-Policy that allows scripts, styles and connections from this origin only
// and no inline script, and no other origin may frame the page.
#include <string>

#include "api/errors.h"
#include "api/route_handlers.h"
#include "sandboxd/common/embedded_files.h"

namespace sandboxd::api {
namespace {

constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string contentTypeOf(const std::string& file) {
  auto endsWith = [&](const std::string& ext) {
    return file.size() >= ext.size() && file.compare(file.size() - ext.size(), ext.size(), ext) == 0;
  };
  if (endsWith(".html")) {
    return "text/html; charset=utf-8";
  }
  if (endsWith(".js")) {
    return "text/javascript; charset=utf-8";
  }
  if (endsWith(".css")) {
    return "text/css; charset=utf-8";
  }
  return "";
}

}  // namespace

void RouteHandlers::dashboard(const RequestContextPtr& ctx, const Route&) {
  ctx->match.params["file"] = "index.html";
  dashboardAsset(ctx, *ctx->match.route);
}

void RouteHandlers::dashboardAsset(const RequestContextPtr& ctx, const Route&) {
  const std::string file = ctx->match.params["file"];
  const std::string type = contentTypeOf(file);
  auto content = file.find('/') == std::string::npos && !type.empty()
                     ? embeddedFile("web/" + file)
                     : std::nullopt;
  if (!content) {
    responder_.replyError(ctx, routeNotFound("no such file: " + file));
    return;
  }
  web::http::http_response response(web::http::status_codes::OK);
  response.set_body(std::move(*content), type);
  response.headers().add("Content-Security-Policy", kContentSecurityPolicy);
  response.headers().add("X-Content-Type-Options", "nosniff");
  response.headers().add("Referrer-Policy", "no-referrer");
  response.headers().add("X-Frame-Options", "DENY");
  responder_.send(ctx, std::move(response));
}

}  // namespace sandboxd::api
