// The admin's side of per-user quotas (SandboxManager::quota, setQuota, clearQuota): read,
// set and clear a user's override, answered with the quota as it then applies and what the
// user's sandboxes use of it. Admins only.
#pragma once

#include <string>

#include "sandboxd/registry/registry.h"
#include "sandboxd/service/sandbox_manager.h"

namespace sandboxd {

StatusOr<QuotaView> readQuota(Registry& registry, const QuotaConfig& configured,
                              const Caller& caller, const std::string& user);
StatusOr<QuotaView> writeQuota(Registry& registry, const QuotaConfig& configured,
                               const Caller& caller, const UserQuota& quota);
Status removeQuota(Registry& registry, const Caller& caller, const std::string& user);

}  // namespace sandboxd
