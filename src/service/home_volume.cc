#include "service/home_volume.h"

#include "sandboxd/model/naming.h"
#include "sandboxd/validation/validation.h"

namespace sandboxd {
namespace {

// spec.resources.requests.storage, or "".
std::string requestedSize(const json& pvc) {
  const json* node = &pvc;
  for (const char* key : {"spec", "resources", "requests", "storage"}) {
    if (!node->is_object()) {
      return "";
    }
    const auto it = node->find(key);
    if (it == node->end()) {
      return "";
    }
    node = &*it;
  }
  return node->is_string() ? node->get<std::string>() : "";
}

}  // namespace

StatusOr<std::string> fitKeptHomeVolume(KubeClient& client, const std::string& ns,
                                        const std::string& name, const std::string& requested,
                                        const std::string& fallback) {
  const std::string claim = names::pvc(name);
  auto pvc = client.get(resources::persistentVolumeClaims(), ns, claim);
  if (!pvc.isOk() && pvc.status().kind() != ErrorKind::NotFound) {
    return pvc.status().withContext("reading the home volume claim " + claim);
  }
  const std::string kept = pvc.isOk() ? requestedSize(*pvc) : "";
  if (kept.empty()) {
    return requested.empty() ? fallback : requested;
  }
  if (requested.empty()) {
    return kept;
  }
  auto keptBytes = parseStorageQuantity(kept);
  auto wantBytes = parseStorageQuantity(requested);
  if (keptBytes.isOk() && wantBytes.isOk() && *keptBytes == *wantBytes) {
    return kept;
  }
  return failedPrecondition("storage: sandbox " + name + " re-attaches its kept home volume " +
                            claim + ", which is " + kept + ", not " + requested +
                            "; re-create it with storage " + kept +
                            " (or none), or delete it with purge first for a new volume");
}

}  // namespace sandboxd
