// The OpenAPI 3.0 document of the HTTP API, generated from the route table (router.h) so that
// it lists exactly the routes the server dispatches on.
#pragma once

#include <nlohmann/json.hpp>

namespace sandboxd::api {

nlohmann::json buildOpenApiDocument();

}  // namespace sandboxd::api
