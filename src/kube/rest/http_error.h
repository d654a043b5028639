// The one place that maps a Kubernetes API server's non-2xx answer to an error kind (the
// mapping kube_client.h documents), and the small text helpers its messages share with the
// REST client.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "sandboxd/common/status.h"

namespace sandboxd {

using json = nlohmann::json;

namespace rest {

// The one place that maps a non-2xx Kubernetes answer to an error kind. Reads the Status
// body's reason, message and details.causes (other text is quoted, shortened); `what` names
// the request in the message. 404 → NotFound; 409 AlreadyExists → AlreadyExists, other 409s →
// Aborted; 410 → Aborted with "Gone"; 400/413/415/422 → InvalidArgument; 401 →
// Unauthenticated; 403 → PermissionDenied; 429 → ResourceExhausted; 5xx → Unavailable;
// anything else → Internal.
Status mapHttpError(int code, const std::string& body, const std::string& what);

// `s` cut to `max` characters, with "..." when it was longer.
std::string truncated(const std::string& s, size_t max);

// The string at `key` of `object`; "" when absent or not a string.
std::string stringOf(const json& object, const char* key);

}  // namespace rest
}  // namespace sandboxd
