// Authenticator: who an HTTP API request acts as. The server asks it once per request on a
// route that needs a caller (every route but the probes, /metrics and the OpenAPI document),
// before anything else about the request is looked at (DESIGN §3: 401 comes first).
// Bearer tokens checked against the registry are the default (src/api/
// bearer_token_authenticator.h); session cookies, forward auth or stream tickets plug in here.
#pragma once

#include <memory>
#include <string_view>

#include "sandboxd/common/status.h"
#include "sandboxd/model/sandbox.h"

namespace sandboxd {

// The credentials a request carries, as the HTTP layer read them: views into the request,
// valid for the duration of the authenticate() call only. An authenticator that needs more of
// the request (a cookie, a forwarded identity, a query ticket) gets a field here, filled by the
// server.
struct AuthRequest {
  std::string_view authorization{};  // the Authorization header's value; empty when absent
  // The `ticket` query parameter of an event stream request (src/api/stream_tickets.h); empty
  // on every other route.
  std::string_view streamTicket{};
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;

  // Who `request` acts as.
  // Returns the Caller; Unauthenticated (answered 401) when the request carries no credentials
  // this authenticator accepts, with a message that says what was wrong and never repeats the
  // credential; any other kind when the check itself could not be made (e.g. Unavailable while
  // the token store cannot be read), which the server logs and answers as toHttpStatus maps it.
  // Called on the server's request threads, for many requests at once: must be thread-safe; it
  // may block (it runs on a worker step).
  virtual StatusOr<Caller> authenticate(const AuthRequest& request) = 0;
};

using AuthenticatorPtr = std::shared_ptr<Authenticator>;

}  // namespace sandboxd
