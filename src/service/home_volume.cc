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

Status growHomeVolume(KubeClient& client, const std::string& ns, const std::string& name,
                      const std::string& size) {
  const std::string claim = names::pvc(name);
  auto pvc = client.get(resources::persistentVolumeClaims(), ns, claim);
  if (!pvc.isOk()) {
    if (pvc.status().kind() == ErrorKind::NotFound) {
      return failedPrecondition("storage: sandbox " + name + " has no home volume yet (" +
                                claim + " is made when its pod first starts); start it once, "
                                "then grow it");
    }
    return pvc.status().withContext("reading the home volume claim " + claim);
  }
  ASSIGN_OR_RETURN(int64_t want, parseStorageQuantity(size));
  auto have = parseStorageQuantity(requestedSize(*pvc));
  if (have.isOk() && *have >= want) {
    return Status::ok();
  }
  if (pvc->value("status", json::object()).value("phase", "") != "Bound") {
    return failedPrecondition("storage: the home volume claim " + claim +
                              " is not bound to a volume yet; grow it once the sandbox runs");
  }
  json patch = {{"spec", {{"resources", {{"requests", {{"storage", size}}}}}}}};
  auto patched = client.patch(resources::persistentVolumeClaims(), ns, claim, PatchType::Merge,
                              patch);
  if (patched.isOk()) {
    return Status::ok();
  }
  const Status& refused = patched.status();
  // The PersistentVolumeClaimResize admission answers 403 for a class without
  // allowVolumeExpansion; RBAC's 403 says "cannot patch resource" and stays a 403 of ours.
  if (refused.kind() == ErrorKind::PermissionDenied &&
      refused.message().find("cannot patch resource") == std::string::npos) {
    const std::string storageClass = pvc->value("spec", json::object())
                                         .value("storageClassName", "");
    return failedPrecondition(
        "storage: the home volume " + claim + " cannot grow: its StorageClass " +
        (storageClass.empty() ? std::string("(none)") : quoted(storageClass)) +
        " does not allow volume expansion (the API server said: " + refused.message() + ")");
  }
  return refused.withContext("growing the home volume claim " + claim);
}

}  // namespace sandboxd
