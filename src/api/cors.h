// Cors: cross-origin requests from the configured origins (DESIGN §3): which Origin headers
// are allowed, the answer to OPTIONS (a preflight's included), and the headers every answer
// carries for them. Other origins get no CORS headers at all.
#pragma once

#include <string>
#include <vector>

#include <cpprest/http_msg.h>

namespace sandboxd::api {

class Cors {
 public:
  // `allowedOrigins` as configured (server.corsOrigins); "*" allows every origin.
  explicit Cors(std::vector<std::string> allowedOrigins)
      : allowedOrigins_(std::move(allowedOrigins)) {}

  // The request's Origin header when it is an allowed origin; empty when it is not, or absent.
  std::string allowedOrigin(const web::http::http_request& request) const;

  // The answer to OPTIONS on a known path: 204 with Allow (`allowedMethods`, then OPTIONS).
  // For a preflight (an allowed `origin` that sent Access-Control-Request-Method) also the
  // Access-Control-Allow-Methods/-Headers and -Max-Age headers.
  web::http::http_response optionsAnswer(const web::http::http_request& request,
                                         const std::string& origin,
                                         const std::vector<std::string>& allowedMethods) const;

  // Adds to any answer: Access-Control-Allow-Origin and -Expose-Headers for an allowed
  // `origin` (empty: none), and "Vary: Origin" whenever origins are configured.
  void addResponseHeaders(web::http::http_headers& headers, const std::string& origin) const;

 private:
  const std::vector<std::string> allowedOrigins_;
};

}  // namespace sandboxd::api
