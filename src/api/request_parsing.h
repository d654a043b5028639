// JSON request bodies → application requests, with type checks. Everything here answers
// InvalidArgument (422) with a message that names the field; semantic validation (name rules,
// env names, storage bounds) is the manager's.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sandboxd/common/status.h"
#include "sandboxd/model/sandbox.h"
#include "sandboxd/service/sandbox_manager.h"

namespace sandboxd::api {

// Parses body text. nullopt with `error` set when it is not JSON (400, not 422).
std::optional<nlohmann::json> parseJsonBody(const std::string& body, std::string* error);

// POST /api/v1/sandboxes: {"name", "image"?, "env"?, "secretEnv"?, "storage"?, "user"?}.
StatusOr<CreateRequest> parseCreateRequest(const nlohmann::json& body);

// PATCH /api/v1/sandboxes/{name}/env: {"set"?, "setSecret"?, "unset"?}.
StatusOr<EnvChange> parseEnvChange(const nlohmann::json& body);
// PATCH /api/v1/sandboxes/{name}: storage, idleStopMinutes (null: the profile's), expiresAt
// (RFC 3339; null: never). An empty change is a 422.
StatusOr<SandboxUpdate> parseSandboxUpdate(const nlohmann::json& body);

// POST /api/v1/admin/tokens: {"user", "admin"?, "ttl"?} (ttl as `token create --ttl`: "30d").
struct TokenRequest {
  std::string user;
  bool admin = false;
  std::optional<std::chrono::seconds> ttl;  // none: never expires
};
StatusOr<TokenRequest> parseTokenRequest(const nlohmann::json& body);

// PUT /api/v1/admin/quotas/{user}: {"maxSandboxes"?, "maxRunning"?: integer,
// "maxStorage"?: "50Gi"}; a field absent or null leaves the configured limit, 0 or "" is
// unlimited for this user.
StatusOr<UserQuota> parseQuotaRequest(const nlohmann::json& body, const std::string& user);

// DELETE ?purge=true|false (absent = false; anything else is InvalidArgument).
StatusOr<bool> parsePurge(const std::vector<std::pair<std::string, std::string>>& query);
// DELETE ?purgeSnapshots=true|false (absent = false; anything else is InvalidArgument).
StatusOr<bool> parsePurgeSnapshots(
    const std::vector<std::pair<std::string, std::string>>& query);

// GET /api/v1/sandboxes ?user=U (absent = nullopt; empty is InvalidArgument).
StatusOr<std::optional<std::string>> parseUserFilter(
    const std::vector<std::pair<std::string, std::string>>& query);

// GET /api/v1/sandboxes ?limit=N (1 … ListQuery::kMaxLimit, default kDefaultLimit)
// &continue=TOKEN (from the previous page, for the same filters) &status=PHASE (as shown, any
// case) &user=U &q=PREFIX (of the name: lowercase letters, digits, '-' and '.'). Any bad value
// is InvalidArgument naming the parameter. Access (user=) is the manager's.
StatusOr<ListQuery> parseListQuery(const std::vector<std::pair<std::string, std::string>>& query);

}  // namespace sandboxd::api
