#include "kube/rest/http_error.h"

namespace sandboxd::rest {

std::string truncated(const std::string& s, size_t max) {
  return s.size() <= max ? s : s.substr(0, max) + "...";
}

std::string stringOf(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Status mapHttpError(int code, const std::string& body, const std::string& what) {
  std::string reason;
  std::string message;
  std::string causes;
  json status = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (status.is_object()) {
    reason = stringOf(status, "reason");
    message = stringOf(status, "message");
    const json* details = status.contains("details") ? &status["details"] : nullptr;
    if (details != nullptr && details->is_object() && details->contains("causes") &&
        (*details)["causes"].is_array()) {
      for (const json& cause : (*details)["causes"]) {
        if (!cause.is_object()) {
          continue;
        }
        const std::string field = stringOf(cause, "field");
        std::string text = stringOf(cause, "message");
        if (text.empty()) {
          text = stringOf(cause, "reason");
        }
        causes += causes.empty() ? "" : "; ";
        causes += field.empty() ? text : field + ": " + text;
      }
    }
  } else if (!body.empty()) {
    message = truncated(body, 300);
  }
  if (message.empty()) {
    message = "no details from the server";
  }
  std::string text = what + ": " + message;
  if (!causes.empty() && message.find(causes) == std::string::npos) {
    text += " [" + causes + "]";
  }
  text += " (HTTP " + std::to_string(code) + (reason.empty() ? "" : " " + reason) + ")";

  switch (code) {
    case 400:
    case 413:
    case 415:
    case 422:
      return invalidArgument(text);
    case 401:
      return unauthenticated(text);
    case 403:
      return permissionDenied(text);
    case 404:
      return notFound(text);
    case 409:
      if (reason == "AlreadyExists") {
        return alreadyExists(text);
      }
      return aborted(text);
    case 410:
      return aborted("Gone: " + text);
    case 429:
      return resourceExhausted(text);
    default:
      break;
  }
  if (code >= 500) {
    return unavailable(text);
  }
  return internalError("unexpected answer to " + text);
}

}  // namespace sandboxd::rest
