// Per-user quotas (config `quotas`, admins' overrides in the registry): the limits that apply
// to a user and the checks a create and a start pass. Pure functions over the user's registry
// rows; the manager runs them and the registry write they guard under the user's lock, so
// that concurrent requests of one user cannot pass a limit together.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sandboxd/common/status.h"
#include "sandboxd/config/config.h"
#include "sandboxd/model/sandbox.h"
#include "sandboxd/registry/registry.h"

namespace sandboxd {

// `configured` with each field `adminOverride` sets put over it.
QuotaConfig effectiveQuota(const QuotaConfig& configured,
                           const std::optional<UserQuota>& adminOverride);

// What a user's sandboxes use: those not deleted, those desired running, the sum of their
// storage. `except` (a name) is left out: the sandbox a request is about.
struct QuotaUsage {
  int64_t sandboxes = 0;
  int64_t running = 0;
  int64_t storageBytes = 0;
};
QuotaUsage quotaUsage(const std::vector<SandboxRecordPtr>& records, const std::string& except = "");

// A new (running) sandbox of `storage` on top of `usage`: QuotaExceeded naming the limit
// (maxSandboxes, maxRunning or maxStorage) it would pass.
Status checkCreateQuota(const QuotaConfig& limits, const QuotaUsage& usage,
                        const std::string& storage);
// A home volume of `storage` on top of `usage` (a create, or a sandbox's volume grown to it
// with that sandbox left out of `usage`): QuotaExceeded naming maxStorage.
Status checkStorageQuota(const QuotaConfig& limits, const QuotaUsage& usage,
                         const std::string& storage);
// One more running sandbox on top of `usage`.
Status checkStartQuota(const QuotaConfig& limits, const QuotaUsage& usage);

// An override as an admin sends it: counts not negative, storage a Mi/Gi/Ti quantity or "".
Status validateUserQuota(const UserQuota& quota);

}  // namespace sandboxd
