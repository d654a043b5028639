#include "api/sandbox_json.h"

#include <algorithm>

namespace sandboxd::api {

nlohmann::json sandboxToJson(const SandboxView& view) {
  const SandboxRecord& r = view.record;
  const ObservedStatus& o = view.observed;

  nlohmann::json env = nlohmann::json::object();
  for (const auto& [key, value] : r.env) {
    env[key] = value;
  }
  std::vector<std::string> secretKeys = r.secretEnvKeys;
  std::sort(secretKeys.begin(), secretKeys.end());
  secretKeys.erase(std::unique(secretKeys.begin(), secretKeys.end()), secretKeys.end());
  nlohmann::json urls = nlohmann::json::object();
  for (const auto& [port, url] : view.urls) {
    urls[port] = url;
  }

  return nlohmann::json{
      {"name", r.name},
      {"user", r.user},
      {"namespace", r.nameSpace},
      {"image", r.image},
      {"env", std::move(env)},
      {"secretEnvKeys", secretKeys},
      {"storage", r.storage},
      {"status", toString(o.phase)},
      {"reason", o.reason},
      {"message", o.message},
      {"replicas", {{"desired", o.desiredReplicas}, {"ready", o.readyReplicas}}},
      {"workload", toString(o.workload)},
      {"urls", std::move(urls)},
      {"createdAt", formatRfc3339(r.createdAt)},
      {"updatedAt", formatRfc3339(r.updatedAt)},
  };
}

nlohmann::json sandboxListToJson(const std::vector<SandboxView>& views) {
  nlohmann::json items = nlohmann::json::array();
  for (const SandboxView& v : views) {
    items.push_back(sandboxToJson(v));
  }
  return nlohmann::json{{"items", std::move(items)}};
}

nlohmann::json operationListToJson(const std::vector<OperationRecord>& operations) {
  nlohmann::json items = nlohmann::json::array();
  for (const OperationRecord& op : operations) {
    nlohmann::json item = {{"id", op.id},
                           {"kind", toString(op.kind)},
                           {"state", toString(op.state)},
                           {"user", op.user},
                           {"requestedAt", formatRfc3339(op.requestedAt)}};
    if (op.finishedAt) {
      item["finishedAt"] = formatRfc3339(*op.finishedAt);
    }
    if (!op.error.empty()) {
      item["error"] = op.error;
    }
    items.push_back(std::move(item));
  }
  return nlohmann::json{{"items", std::move(items)}};
}

}  // namespace sandboxd::api
