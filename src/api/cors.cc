#include "api/cors.h"

#include "api/request_headers.h"

namespace sandboxd::api {

std::string Cors::allowedOrigin(const web::http::http_request& request) const {
  std::string origin = header(request, "Origin");
  if (!origin.empty()) {
    for (const auto& o : allowedOrigins_) {
      if (o == "*" || o == origin) {
        return origin;
      }
    }
  }
  return std::string();
}

web::http::http_response Cors::optionsAnswer(
    const web::http::http_request& request, const std::string& origin,
    const std::vector<std::string>& allowedMethods) const {
  std::string allow;
  for (const auto& method : allowedMethods) {
    allow += method + ", ";
  }
  allow += "OPTIONS";
  web::http::http_response response(204);
  response.headers().add("Allow", allow);
  const bool preflight = !origin.empty() && hasHeader(request, "Access-Control-Request-Method");
  if (preflight) {
    response.headers().add("Access-Control-Allow-Methods", allow);
    response.headers().add("Access-Control-Allow-Headers",
                           "Authorization, Content-Type, X-Request-Id");
    response.headers().add("Access-Control-Max-Age", "600");
  }
  return response;
}

void Cors::addResponseHeaders(web::http::http_headers& headers, const std::string& origin) const {
  if (!origin.empty()) {
    headers.add("Access-Control-Allow-Origin", origin);
    headers.add("Access-Control-Expose-Headers", "X-Request-Id");
  }
  if (!allowedOrigins_.empty()) {
    headers.add("Vary", "Origin");
  }
}

}  // namespace sandboxd::api
