#include "api/errors.h"

#include <utility>

namespace sandboxd::api {

const char* errorCodeFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Ok: return "ok";
    case ErrorKind::InvalidArgument: return "invalid_argument";
    case ErrorKind::Unauthenticated: return "unauthenticated";
    case ErrorKind::PermissionDenied: return "permission_denied";
    case ErrorKind::NotFound: return "not_found";
    case ErrorKind::AlreadyExists: return "conflict";
    case ErrorKind::Aborted: return "conflict";
    case ErrorKind::FailedPrecondition: return "conflict";
    case ErrorKind::QuotaExceeded: return "quota_exceeded";
    case ErrorKind::ResourceExhausted: return "throttled";
    case ErrorKind::Unavailable: return "unavailable";
    case ErrorKind::DeadlineExceeded: return "deadline_exceeded";
    case ErrorKind::Internal: return "internal";
  }
  return "internal";
}

ApiError fromStatus(const Status& status) {
  ApiError e;
  e.httpStatus = toHttpStatus(status.kind());
  e.code = errorCodeFor(status.kind());
  e.message = status.message();
  if (status.kind() == ErrorKind::Internal || status.kind() == ErrorKind::Ok) {
    // Internal details stay in the log, keyed by the request id.
    e.httpStatus = 500;
    e.code = "internal";
    e.message = "internal error";
  }
  if (e.message.empty()) {
    e.message = toString(status.kind());
  }
  return e;
}

namespace {
ApiError make(int status, const char* code, std::string message) {
  return ApiError{status, code, std::move(message)};
}
}  // namespace

ApiError badRequest(std::string m) { return make(400, "bad_request", std::move(m)); }
ApiError malformedJson(std::string m) { return make(400, "malformed_json", std::move(m)); }
ApiError unauthenticatedError(std::string m) {
  return make(401, "unauthenticated", std::move(m));
}
ApiError forbidden(std::string m) { return make(403, "permission_denied", std::move(m)); }
ApiError routeNotFound(std::string m) { return make(404, "not_found", std::move(m)); }
ApiError methodNotAllowed(std::string m) {
  return make(405, "method_not_allowed", std::move(m));
}
ApiError requestTimeout(std::string m) { return make(408, "request_timeout", std::move(m)); }
ApiError payloadTooLarge(std::string m) { return make(413, "payload_too_large", std::move(m)); }
ApiError unsupportedMediaType(std::string m) {
  return make(415, "unsupported_media_type", std::move(m));
}
ApiError invalidField(std::string m) { return make(422, "invalid_argument", std::move(m)); }
ApiError headersTooLarge(std::string m) {
  return make(431, "headers_too_large", std::move(m));
}
ApiError throttled(std::string m) { return make(429, "throttled", std::move(m)); }
ApiError serviceUnavailable(std::string m) { return make(503, "unavailable", std::move(m)); }
ApiError internal(std::string m) { return make(500, "internal", std::move(m)); }

nlohmann::json errorBody(const ApiError& error, const std::string& requestId) {
  nlohmann::json inner = {{"code", error.code}, {"message", error.message}};
  if (!requestId.empty()) {
    inner["requestId"] = requestId;
  }
  return nlohmann::json{{"error", std::move(inner)}};
}

}  // namespace sandboxd::api
