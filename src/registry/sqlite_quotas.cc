// The SQLite registry's per-user quota overrides (table user_quotas, schema 5).
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include "registry/sqlite_registry_impl.h"

namespace sandboxd::registry {

StatusOr<std::optional<UserQuota>> SqliteRegistryImpl::getUserQuota(const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    auto qUse = statements_.get(
        "SELECT max_sandboxes, max_running, max_storage, updated_at FROM user_quotas "
        "WHERE user = ?");
    SQLite::Statement& q = *qUse;
    q.bind(1, user);
    if (!q.executeStep()) {
      return std::optional<UserQuota>();
    }
    UserQuota quota;
    quota.user = user;
    if (!q.getColumn(0).isNull()) {
      quota.maxSandboxes = q.getColumn(0).getInt64();
    }
    if (!q.getColumn(1).isNull()) {
      quota.maxRunning = q.getColumn(1).getInt64();
    }
    if (!q.getColumn(2).isNull()) {
      quota.maxStorage = q.getColumn(2).getString();
    }
    quota.updatedAt = fromUnixMillis(q.getColumn(3).getInt64());
    return std::optional<UserQuota>(std::move(quota));
  } catch (const std::exception& e) {
    return statusFromException(e, "reading the quota of " + user);
  }
}

Status SqliteRegistryImpl::putUserQuota(const UserQuota& quota) {
  if (quota.user.empty()) {
    return invalidArgument("a quota needs a user");
  }
  const SystemTime now = time_->systemTime();
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto qUse = statements_.get(
        "INSERT INTO user_quotas (user, max_sandboxes, max_running, max_storage, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user) DO UPDATE SET "
        "max_sandboxes = excluded.max_sandboxes, max_running = excluded.max_running, "
        "max_storage = excluded.max_storage, updated_at = excluded.updated_at");
    SQLite::Statement& q = *qUse;
    q.bind(1, quota.user);
    if (quota.maxSandboxes) {
      q.bind(2, *quota.maxSandboxes);
    } else {
      q.bind(2);
    }
    if (quota.maxRunning) {
      q.bind(3, *quota.maxRunning);
    } else {
      q.bind(3);
    }
    if (quota.maxStorage) {
      q.bind(4, *quota.maxStorage);
    } else {
      q.bind(4);
    }
    q.bind(5, static_cast<int64_t>(toUnixMillis(now)));
    q.exec();
    tx.commit();
    return Status::ok();
  } catch (const std::exception& e) {
    return statusFromException(e, "storing the quota of " + quota.user);
  }
}

StatusOr<bool> SqliteRegistryImpl::deleteUserQuota(const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto qUse = statements_.get("DELETE FROM user_quotas WHERE user = ?");
    SQLite::Statement& q = *qUse;
    q.bind(1, user);
    const bool removed = q.exec() > 0;
    tx.commit();
    return removed;
  } catch (const std::exception& e) {
    return statusFromException(e, "removing the quota of " + user);
  }
}

}  // namespace sandboxd::registry
