// The error envelope of the HTTP API: {"error": {"code": "<slug>", "message": "<text>",
// "requestId": "<id>"}}. This file is the one place that builds it; the server only sends it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "sandboxd/common/status.h"

namespace sandboxd::api {

// An error answer: HTTP status, machine-readable slug and human message.
struct ApiError {
  int httpStatus = 500;
  std::string code;     // slug, e.g. not_found
  std::string message;
  int retryAfterSeconds = 0;  // > 0: sent as Retry-After (429, 503)
};

// The slug for an error kind (not_found, invalid_argument, conflict, ...).
const char* errorCodeFor(ErrorKind kind);

// Maps a non-OK Status from the application layer to an API error. The status code comes from
// toHttpStatus(); Internal errors get a generic message (the details go to the log only).
ApiError fromStatus(const Status& status);

// Errors the HTTP layer itself produces.
ApiError badRequest(std::string message);                 // 400 bad_request
ApiError malformedJson(std::string message);              // 400 malformed_json
ApiError unauthenticatedError(std::string message);       // 401 unauthenticated
ApiError forbidden(std::string message);                  // 403 permission_denied
ApiError routeNotFound(std::string message);              // 404 not_found
ApiError methodNotAllowed(std::string message);           // 405 method_not_allowed
ApiError requestTimeout(std::string message);             // 408 request_timeout
ApiError payloadTooLarge(std::string message);            // 413 payload_too_large
ApiError unsupportedMediaType(std::string message);       // 415 unsupported_media_type
ApiError invalidField(std::string message);               // 422 invalid_argument
ApiError headersTooLarge(std::string message);            // 431 headers_too_large
ApiError throttled(std::string message);                  // 429 throttled
ApiError serviceUnavailable(std::string message);         // 503 unavailable
ApiError internal(std::string message);                   // 500 internal

// The JSON body for `error`; `requestId` is included when not empty.
nlohmann::json errorBody(const ApiError& error, const std::string& requestId);

}  // namespace sandboxd::api
