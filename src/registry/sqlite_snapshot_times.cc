// The SQLite registry's newest snapshot time per sandbox id (Registry::newestSnapshotTimes),
// for the scheduled snapshots: one grouped read of migrations/0006_snapshots.sql's table.
#include <SQLiteCpp/Statement.h>

#include "registry/sqlite_registry_impl.h"

namespace sandboxd::registry {

StatusOr<std::map<std::string, SystemTime>> SqliteRegistryImpl::newestSnapshotTimes() {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    auto qUse = statements_.get(
        "SELECT sandbox_id, MAX(created_at) FROM snapshots GROUP BY sandbox_id");
    SQLite::Statement& q = *qUse;
    std::map<std::string, SystemTime> out;
    while (q.executeStep()) {
      out.emplace(q.getColumn(0).getString(), fromUnixMillis(q.getColumn(1).getInt64()));
    }
    return out;
  } catch (const std::exception& e) {
    return statusFromException(e, "reading the newest snapshot of each sandbox");
  }
}

}  // namespace sandboxd::registry
