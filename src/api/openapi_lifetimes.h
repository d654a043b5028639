// Idle auto-stop, expiry and volume growth in the OpenAPI document (openapi.cc): the Sandbox
// fields, the create request's, PATCH /api/v1/sandboxes/{name} and POST .../activity.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "api/router.h"

namespace sandboxd::api {

// Adds idleStopMinutes, expiresAt and lastActivityAt to Sandbox, idleStopMinutes and expiresAt
// to CreateSandboxRequest, and the SandboxUpdate schema.
void addLifetimeSchemas(nlohmann::json& schemas);

// Describes UpdateSandbox and RecordActivity; false (nothing added) for any other route.
bool describeLifetimeRoute(const Route& route, const std::string& ok, nlohmann::json& op,
                           nlohmann::json& responses);

}  // namespace sandboxd::api
