// SandboxView → the API's Sandbox JSON (DESIGN §3 "Sandbox JSON"). Secret values never appear:
// only the names, as secretEnvKeys.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sandboxd/service/sandbox_manager.h"

namespace sandboxd::api {

// status, reason, message, replicas and workload come from view.observed (the manager merges
// the registry record with what the cluster shows into it); the rest from view.record.
nlohmann::json sandboxToJson(const SandboxView& view);

// {"items": [Sandbox...]} as the response body, with "continue": continueToken after the items
// when it is not empty: the same bytes as {"items": [sandboxToJson(view)...]}.dump() (compact, keys in order, invalid UTF-8 replaced),
// written directly, without building a JSON tree of every item (a 10,000-item list is ~5 MB).
std::string sandboxListText(const std::vector<SandboxView>& views,
                            const std::string& continueToken = "");

// {"id", "kind", "state", "user", "requestedAt", "finishedAt"?, "error"?}
nlohmann::json operationToJson(const OperationRecord& op);

// {"items": [{"id", "kind", "state", "user", "requestedAt", "finishedAt"?, "error"?}...]}
nlohmann::json operationListToJson(const std::vector<OperationRecord>& operations);

}  // namespace sandboxd::api
