// The SQLite registry's home-volume snapshots (migrations/0006_snapshots.sql).
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include "registry/sqlite_registry_impl.h"

namespace sandboxd::registry {
namespace {

constexpr const char* kColumns =
    "id, sandbox, sandbox_id, user, namespace, object_name, label, state, size, error, "
    "created_at, ready_at";

StatusOr<SnapshotRecord> readSnapshot(SQLite::Statement& q) {
  SnapshotRecord s;
  s.id = q.getColumn(0).getString();
  s.sandbox = q.getColumn(1).getString();
  s.sandboxId = q.getColumn(2).getString();
  s.user = q.getColumn(3).getString();
  s.nameSpace = q.getColumn(4).getString();
  s.objectName = q.getColumn(5).getString();
  s.label = q.getColumn(6).getString();
  const auto state = snapshotStateFromString(q.getColumn(7).getString());
  if (!state) {
    return internalError("snapshot " + s.id + " has an unknown state");
  }
  s.state = *state;
  s.size = q.getColumn(8).getString();
  s.error = q.getColumn(9).getString();
  s.createdAt = fromUnixMillis(q.getColumn(10).getInt64());
  if (!q.getColumn(11).isNull()) {
    s.readyAt = fromUnixMillis(q.getColumn(11).getInt64());
  }
  return s;
}

}  // namespace

StatusOr<int64_t> SqliteRegistryImpl::insertSnapshot(const SnapshotRecord& snapshot,
                                                     const OperationRecord* op) {
  if (op != nullptr) {
    RETURN_IF_ERROR(validateOperation(*op));
  }
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    {
      auto existsUse = statements_.get("SELECT 1 FROM snapshots WHERE id = ?");
      SQLite::Statement& exists = *existsUse;
      exists.bind(1, snapshot.id);
      if (exists.executeStep()) {
        return alreadyExists("snapshot " + snapshot.id + " already exists");
      }
    }
    auto insertUse = statements_.get(
        std::string("INSERT INTO snapshots (") + kColumns +
        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    SQLite::Statement& insert = *insertUse;
    insert.bind(1, snapshot.id);
    insert.bind(2, snapshot.sandbox);
    insert.bind(3, snapshot.sandboxId);
    insert.bind(4, snapshot.user);
    insert.bind(5, snapshot.nameSpace);
    insert.bind(6, snapshot.objectName);
    insert.bind(7, snapshot.label);
    insert.bind(8, toString(snapshot.state));
    insert.bind(9, snapshot.size);
    insert.bind(10, snapshot.error);
    insert.bind(11, static_cast<int64_t>(toUnixMillis(snapshot.createdAt)));
    if (snapshot.readyAt) {
      insert.bind(12, static_cast<int64_t>(toUnixMillis(*snapshot.readyAt)));
    } else {
      insert.bind(12);
    }
    insert.exec();
    const int64_t operation = op != nullptr ? insertOperation(*op) : 0;
    tx.commit();
    return operation;
  } catch (const std::exception& e) {
    return statusFromException(e, "recording snapshot " + snapshot.id);
  }
}

StatusOr<SnapshotRecord> SqliteRegistryImpl::getSnapshot(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    auto qUse = statements_.get(std::string("SELECT ") + kColumns + " FROM snapshots WHERE id = ?");
    SQLite::Statement& q = *qUse;
    q.bind(1, id);
    if (!q.executeStep()) {
      return notFound("snapshot " + id + " not found");
    }
    return readSnapshot(q);
  } catch (const std::exception& e) {
    return statusFromException(e, "reading snapshot " + id);
  }
}

StatusOr<std::vector<SnapshotRecord>> SqliteRegistryImpl::listSnapshots(
    const std::string& sandbox) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    auto qUse = statements_.get(std::string("SELECT ") + kColumns +
                                " FROM snapshots WHERE sandbox = ? "
                                "ORDER BY created_at DESC, id DESC");
    SQLite::Statement& q = *qUse;
    q.bind(1, sandbox);
    std::vector<SnapshotRecord> out;
    while (q.executeStep()) {
      ASSIGN_OR_RETURN(SnapshotRecord s, readSnapshot(q));
      out.push_back(std::move(s));
    }
    return out;
  } catch (const std::exception& e) {
    return statusFromException(e, "listing the snapshots of sandbox " + sandbox);
  }
}

Status SqliteRegistryImpl::updateSnapshot(const SnapshotRecord& snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto qUse = statements_.get(
        "UPDATE snapshots SET state = ?, size = ?, error = ?, ready_at = ? WHERE id = ?");
    SQLite::Statement& q = *qUse;
    q.bind(1, toString(snapshot.state));
    q.bind(2, snapshot.size);
    q.bind(3, snapshot.error);
    if (snapshot.readyAt) {
      q.bind(4, static_cast<int64_t>(toUnixMillis(*snapshot.readyAt)));
    } else {
      q.bind(4);
    }
    q.bind(5, snapshot.id);
    if (q.exec() == 0) {
      return notFound("snapshot " + snapshot.id + " not found");
    }
    tx.commit();
    return Status::ok();
  } catch (const std::exception& e) {
    return statusFromException(e, "updating snapshot " + snapshot.id);
  }
}

Status SqliteRegistryImpl::deleteSnapshot(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto qUse = statements_.get("DELETE FROM snapshots WHERE id = ?");
    SQLite::Statement& q = *qUse;
    q.bind(1, id);
    if (q.exec() == 0) {
      return notFound("snapshot " + id + " not found");
    }
    tx.commit();
    return Status::ok();
  } catch (const std::exception& e) {
    return statusFromException(e, "deleting snapshot " + id);
  }
}

}  // namespace sandboxd::registry
