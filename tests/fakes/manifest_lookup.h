// Finding things inside rendered or fetched Kubernetes objects in tests.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace sandboxd::testing {

// The env entry `name` of the first container of a pod spec, or nullptr.
inline const nlohmann::json* findEnv(const nlohmann::json& podSpec, const std::string& name) {
  if (!podSpec.contains("containers") || podSpec["containers"].empty() ||
      !podSpec["containers"][0].contains("env")) {
    return nullptr;
  }
  for (const auto& entry : podSpec["containers"][0]["env"]) {
    if (entry.value("name", "") == name) {
      return &entry;
    }
  }
  return nullptr;
}

}  // namespace sandboxd::testing
