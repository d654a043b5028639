#include "api/bearer_token_authenticator.h"

#include <string>

#include "api/request_headers.h"

namespace sandboxd::api {

StatusOr<Caller> BearerTokenAuthenticator::authenticate(const AuthRequest& request) {
  if (request.authorization.empty()) {
    return unauthenticated("missing bearer token (Authorization: Bearer <token>)");
  }
  const std::string_view trimmed = trim(request.authorization);
  const auto space = trimmed.find(' ');
  const std::string_view token =
      space == std::string_view::npos ? std::string_view() : trim(trimmed.substr(space + 1));
  if (space == std::string_view::npos || !equalsLowerCase(trimmed.substr(0, space), "bearer") ||
      token.empty() || token.find_first_of(" \t") != std::string_view::npos) {
    return unauthenticated("malformed Authorization header, expected \"Bearer <token>\"");
  }
  auto info = registry_->authenticate(std::string(token));
  if (!info.isOk()) {
    const ErrorKind kind = info.status().kind();
    if (kind == ErrorKind::Unauthenticated || kind == ErrorKind::NotFound ||
        kind == ErrorKind::InvalidArgument || kind == ErrorKind::PermissionDenied) {
      return unauthenticated("invalid token");
    }
    return info.status();  // the registry could not be asked: not the caller's fault
  }
  return Caller{info->user, info->admin};
}

}  // namespace sandboxd::api
