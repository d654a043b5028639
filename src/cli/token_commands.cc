#include "cli/token_commands.h"

#include <cstdio>
#include <memory>

#include "cli/exit_codes.h"

#include "sandboxd/registry/registry.h"
#include "sandboxd/validation/token_ttl.h"
#include "sandboxd/validation/validation.h"

namespace sandboxd::cli {
namespace {

StatusOr<RegistryPtr> openRegistry(const Config& config, const TimeSourcePtr& time) {
  auto registry = openSqliteRegistry(config.server.db, time);
  if (!registry.isOk()) {
    return registry.status().withContext("database " + config.server.db);
  }
  return registry;
}

}  // namespace

int tokenCreate(const Config& config, const TokenFlags& flags) {
  if (Status s = validateUserName(flags.user); !s.isOk()) {
    return fail(s);
  }
  std::optional<std::chrono::seconds> ttl;
  if (flags.ttl) {
    auto parsed = parseTokenTtl(*flags.ttl);
    if (!parsed.isOk()) {
      return fail(parsed.status());
    }
    ttl = *parsed;
  }
  auto registry = openRegistry(config, std::make_shared<RealTimeSource>());
  if (!registry.isOk()) {
    return fail(registry.status());
  }
  auto created = (*registry)->issueToken(flags.user, flags.admin, ttl);
  if (!created.isOk()) {
    return fail(created.status());
  }
  std::printf("%s\n", created->token.c_str());
  return kExitOk;
}

int tokenList(const Config& config, const TokenFlags& flags) {
  std::optional<std::string> user;
  if (!flags.user.empty()) {
    if (Status s = validateUserName(flags.user); !s.isOk()) {
      return fail(s);
    }
    user = flags.user;
  }
  auto time = std::make_shared<RealTimeSource>();
  auto registry = openRegistry(config, time);
  if (!registry.isOk()) {
    return fail(registry.status());
  }
  auto tokens = (*registry)->listTokens(user);
  if (!tokens.isOk()) {
    return fail(tokens.status());
  }
  const SystemTime now = time->systemTime();
  std::printf("%-20s  %-20s  %-5s  %-20s  %-20s  %s\n", "ID", "USER", "ROLE", "CREATED",
              "EXPIRES", "STATE");
  for (const TokenInfo& t : *tokens) {
    std::printf("%-20s  %-20s  %-5s  %-20s  %-20s  %s\n", t.id.c_str(), t.user.c_str(),
                t.admin ? "admin" : "user", formatRfc3339(t.createdAt).c_str(),
                t.expiresAt ? formatRfc3339(*t.expiresAt).c_str() : "never",
                tokenState(t, now));
  }
  return kExitOk;
}

int tokenRevoke(const Config& config, const TokenFlags& flags) {
  if (flags.id.empty()) {
    return fail(invalidArgument("token revoke needs a token ID (see `sandboxd token list`)"));
  }
  auto registry = openRegistry(config, std::make_shared<RealTimeSource>());
  if (!registry.isOk()) {
    return fail(registry.status());
  }
  auto revoked = (*registry)->revokeToken(flags.id);
  if (!revoked.isOk()) {
    return fail(revoked.status());
  }
  std::printf("%s revoked\n", revoked->id.c_str());
  return kExitOk;
}

}  // namespace sandboxd::cli
