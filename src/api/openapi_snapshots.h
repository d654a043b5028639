// The snapshot routes' part of the OpenAPI document (openapi.cc): their schemas and how each
// route is described.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "api/router.h"

namespace sandboxd::api {

// The document's building blocks (openapi.cc): a $ref to a schema, an error answer, a JSON
// answer of a schema.
namespace openapi_parts {
nlohmann::json ref(const std::string& name);
nlohmann::json errorResponse(const std::string& description);
nlohmann::json jsonResponse(const std::string& description, const std::string& schema);
}  // namespace openapi_parts

// Adds Snapshot, SnapshotList and CreateSnapshotRequest to `schemas`.
void addSnapshotSchemas(nlohmann::json& schemas);

// Describes a snapshot route (request body, parameters beyond {name}, responses) into `op`,
// `params` and `responses`; false (nothing added) for any other route. `ok` is the success status's key.
bool describeSnapshotRoute(const Route& route, const std::string& ok, nlohmann::json& op,
                           nlohmann::json& params, nlohmann::json& responses);

}  // namespace sandboxd::api
