// BearerTokenAuthenticator: the Authenticator for `Authorization: Bearer <token>` headers, the
// tokens checked against the registry (which stores only their hashes).
#pragma once

#include "sandboxd/api/authenticator.h"
#include "sandboxd/registry/registry.h"

namespace sandboxd::api {

class BearerTokenAuthenticator : public Authenticator {
 public:
  explicit BearerTokenAuthenticator(RegistryPtr registry) : registry_(std::move(registry)) {}

  // Authenticator
  // Unauthenticated when the header is missing, is not "Bearer <token>" (scheme in any case,
  // spaces or tabs around), or names no token the registry knows; the registry's own error
  // when it could not be asked.
  StatusOr<Caller> authenticate(const AuthRequest& request) override;

 private:
  const RegistryPtr registry_;
};

}  // namespace sandboxd::api
