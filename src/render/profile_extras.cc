// The pod's affinity and the extra labels and annotations of a sandbox's profile.
#include "render/profile_extras.h"

#include "sandboxd/render/manifest_renderer.h"

namespace sandboxd {
namespace {

void addMissing(json& metadata, const char* field, const std::map<std::string, std::string>& extra) {
  if (extra.empty()) {
    return;
  }
  json& entries = metadata[field];
  if (!entries.is_object()) {
    entries = json::object();
  }
  for (const auto& [key, value] : extra) {
    if (!entries.contains(key)) {
      entries[key] = value;
    }
  }
}

}  // namespace

Status applyProfileExtras(const SandboxConfig& settings, json& statefulSet) {
  json& pod = statefulSet["spec"]["template"];
  if (!settings.affinity.empty()) {
    ASSIGN_OR_RETURN(json affinity, yamlToJson(settings.affinity, "sandbox affinity"));
    if (!affinity.is_object()) {
      return invalidArgument("sandbox affinity: expected a mapping");
    }
    pod["spec"]["affinity"] = std::move(affinity);
  }
  for (json* metadata : {&statefulSet["metadata"], &pod["metadata"]}) {
    addMissing(*metadata, "labels", settings.labels);
    addMissing(*metadata, "annotations", settings.annotations);
  }
  return Status::ok();
}

}  // namespace sandboxd
