// Per-user quotas: limits and checks (sandboxd/service/quotas.h).
#include "sandboxd/service/quotas.h"

#include "sandboxd/config/quantity.h"

namespace sandboxd {

QuotaConfig effectiveQuota(const QuotaConfig& configured,
                           const std::optional<UserQuota>& adminOverride) {
  QuotaConfig out = configured;
  if (adminOverride) {
    out.maxSandboxes = adminOverride->maxSandboxes.value_or(out.maxSandboxes);
    out.maxRunning = adminOverride->maxRunning.value_or(out.maxRunning);
    out.maxStorage = adminOverride->maxStorage.value_or(out.maxStorage);
  }
  return out;
}

QuotaUsage quotaUsage(const std::vector<SandboxRecordPtr>& records, const std::string& except) {
  QuotaUsage usage;
  for (const auto& r : records) {
    if (r->desired == DesiredState::Deleted || r->name == except) {
      continue;
    }
    ++usage.sandboxes;
    if (r->desired == DesiredState::Running) {
      ++usage.running;
    }
    auto bytes = parseStorageQuantity(r->storage);
    usage.storageBytes += bytes.isOk() ? *bytes : 0;
  }
  return usage;
}

Status checkStartQuota(const QuotaConfig& limits, const QuotaUsage& usage) {
  if (limits.maxRunning > 0 && usage.running + 1 > limits.maxRunning) {
    return quotaExceeded("quota exceeded: maxRunning: at most " +
                         std::to_string(limits.maxRunning) +
                         " running sandboxes per user; stop one first");
  }
  return Status::ok();
}

Status checkCreateQuota(const QuotaConfig& limits, const QuotaUsage& usage,
                        const std::string& storage) {
  if (limits.maxSandboxes > 0 && usage.sandboxes + 1 > limits.maxSandboxes) {
    return quotaExceeded("quota exceeded: maxSandboxes: at most " +
                         std::to_string(limits.maxSandboxes) +
                         " sandboxes per user; delete one first");
  }
  RETURN_IF_ERROR(checkStartQuota(limits, usage));
  return checkStorageQuota(limits, usage, storage);
}

Status checkStorageQuota(const QuotaConfig& limits, const QuotaUsage& usage,
                         const std::string& storage) {
  if (!limits.maxStorage.empty()) {
    auto max = parseStorageQuantity(limits.maxStorage);
    auto wanted = parseStorageQuantity(storage);
    if (max.isOk() && wanted.isOk() && usage.storageBytes + *wanted > *max) {
      return quotaExceeded("quota exceeded: maxStorage: at most " + limits.maxStorage +
                           " of home volumes per user; " + storage + " more would pass it");
    }
  }
  return Status::ok();
}

Status validateUserQuota(const UserQuota& quota) {
  if (quota.maxSandboxes.value_or(0) < 0 || quota.maxRunning.value_or(0) < 0) {
    return invalidArgument("maxSandboxes and maxRunning must not be negative (0: unlimited)");
  }
  if (quota.maxStorage && !quota.maxStorage->empty() &&
      !parseStorageQuantity(*quota.maxStorage).isOk()) {
    return invalidArgument("maxStorage: " + quoted(*quota.maxStorage) +
                           " must be a whole number with a Mi, Gi or Ti suffix (\"\": unlimited)");
  }
  return Status::ok();
}

}  // namespace sandboxd
