#include "cli/quota_commands.h"

#include <cstdio>
#include <memory>

#include "cli/exit_codes.h"
#include "sandboxd/registry/registry.h"
#include "service/quota_admin.h"

namespace sandboxd::cli {
namespace {

const Caller kAdmin{"sandboxd-cli", true};

StatusOr<RegistryPtr> openQuotaRegistry(const Config& config) {
  auto registry = openSqliteRegistry(config.server.db, std::make_shared<RealTimeSource>());
  if (!registry.isOk()) {
    return registry.status().withContext("database " + config.server.db);
  }
  return registry;
}

std::string limitText(int64_t limit, bool overridden) {
  return (limit == 0 ? std::string("0 (unlimited)") : std::to_string(limit)) +
         (overridden ? " (override)" : "");
}

int print(const StatusOr<QuotaView>& view) {
  if (!view.isOk()) {
    return fail(view.status());
  }
  const auto& o = view->adminOverride;
  const QuotaConfig& l = view->limits;
  std::printf("user %s: maxSandboxes %s, maxRunning %s, maxStorage %s%s\n", view->user.c_str(),
              limitText(l.maxSandboxes, o && o->maxSandboxes).c_str(),
              limitText(l.maxRunning, o && o->maxRunning).c_str(),
              l.maxStorage.empty() ? "unlimited" : l.maxStorage.c_str(),
              o && o->maxStorage ? " (override)" : "");
  std::printf("usage: %lld sandboxes, %lld running, %lldMi\n",
              static_cast<long long>(view->sandboxes), static_cast<long long>(view->running),
              static_cast<long long>(view->storageBytes >> 20));
  return kExitOk;
}

}  // namespace

int quotaSet(const Config& config, const QuotaFlags& flags) {
  if (!flags.maxSandboxes && !flags.maxRunning && !flags.maxStorage) {
    return fail(invalidArgument(
        "quota set needs --max-sandboxes, --max-running or --max-storage (0 or \"\": unlimited)"));
  }
  auto registry = openQuotaRegistry(config);
  if (!registry.isOk()) {
    return fail(registry.status());
  }
  UserQuota quota;
  quota.user = flags.user;
  quota.maxSandboxes = flags.maxSandboxes;
  quota.maxRunning = flags.maxRunning;
  quota.maxStorage = flags.maxStorage;
  return print(writeQuota(**registry, config.quotas, kAdmin, quota));
}

int quotaGet(const Config& config, const QuotaFlags& flags) {
  auto registry = openQuotaRegistry(config);
  if (!registry.isOk()) {
    return fail(registry.status());
  }
  return print(readQuota(**registry, config.quotas, kAdmin, flags.user));
}

int quotaClear(const Config& config, const QuotaFlags& flags) {
  auto registry = openQuotaRegistry(config);
  if (!registry.isOk()) {
    return fail(registry.status());
  }
  if (Status s = removeQuota(**registry, kAdmin, flags.user); !s.isOk()) {
    return fail(s);
  }
  return print(readQuota(**registry, config.quotas, kAdmin, flags.user));
}

}  // namespace sandboxd::cli
