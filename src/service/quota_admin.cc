// Reading, setting and clearing a user's quota override (service/quota_admin.h).
#include "service/quota_admin.h"

#include "sandboxd/service/quotas.h"
#include "sandboxd/validation/validation.h"

namespace sandboxd {
namespace {

Status adminOnly(const Caller& caller, const std::string& user) {
  if (!caller.admin) {
    return permissionDenied("only admins manage quotas");
  }
  return validateUserName(user);
}

}  // namespace

StatusOr<QuotaView> readQuota(Registry& registry, const QuotaConfig& configured,
                              const Caller& caller, const std::string& user) {
  RETURN_IF_ERROR(adminOnly(caller, user));
  QuotaView view;
  view.user = user;
  ASSIGN_OR_RETURN(view.adminOverride, registry.getUserQuota(user));
  view.limits = effectiveQuota(configured, view.adminOverride);
  ASSIGN_OR_RETURN(auto records, registry.listSandboxes(user));
  const QuotaUsage usage = quotaUsage(records);
  view.sandboxes = usage.sandboxes;
  view.running = usage.running;
  view.storageBytes = usage.storageBytes;
  return view;
}

StatusOr<QuotaView> writeQuota(Registry& registry, const QuotaConfig& configured,
                               const Caller& caller, const UserQuota& quota) {
  RETURN_IF_ERROR(adminOnly(caller, quota.user));
  RETURN_IF_ERROR(validateUserQuota(quota));
  RETURN_IF_ERROR(registry.putUserQuota(quota));
  return readQuota(registry, configured, caller, quota.user);
}

Status removeQuota(Registry& registry, const Caller& caller, const std::string& user) {
  RETURN_IF_ERROR(adminOnly(caller, user));
  ASSIGN_OR_RETURN(bool removed, registry.deleteUserQuota(user));
  if (!removed) {
    return notFound("user \"" + user + "\" has no quota of their own");
  }
  return Status::ok();
}

}  // namespace sandboxd
