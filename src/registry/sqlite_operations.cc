// The SQLite registry's operation records, and the finishes finishOperationSoon queues
// (registry/sqlite_registry_impl.h).
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <spdlog/spdlog.h>

#include "registry/sqlite_registry_impl.h"

namespace sandboxd::registry {
namespace {

// How long a queued finish may wait for a later write to store it (Registry::finishOperationSoon).
constexpr std::chrono::milliseconds kFinishGrace{10};

}  // namespace

void SqliteRegistryImpl::finishOperationSoon(int64_t id, OperationState state,
                                             const std::string& error) {
  if (state != OperationState::Done && state != OperationState::Failed) {
    spdlog::warn("operation {}: not finished: an operation finishes done or failed", id);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(finishMu_);
    finishes_.push_back(Finish{id, state, error, time_->systemTime()});
    if (finishInBackground_ && !finisher_.joinable()) {
      finisher_ = std::thread([this] { finisherLoop(); });
    }
  }
  finishCv_.notify_one();
}

void SqliteRegistryImpl::finisherLoop() {
  std::unique_lock<std::mutex> lock(finishMu_);
  while (true) {
    finishCv_.wait(lock, [this] { return stopping_ || !finishes_.empty(); });
    // A moment's grace: a request that follows soon stores the queue in its own commit (for
    // one more UPDATE, not a commit), and this thread keeps off the cores while the request
    // that queued it is answered.
    finishCv_.wait_for(lock, kFinishGrace, [this] { return stopping_; });
    if (stopping_) {
      return;  // the destructor stores what is left
    }
    lock.unlock();
    {
      std::lock_guard<std::mutex> db(mu_);
      storeQueuedFinishes(false);
    }
    lock.lock();
  }
}

void SqliteRegistryImpl::updateFinish(const Finish& f) {
  auto qUse = statements_.get(
      "UPDATE operations SET state = ?, error = ?, finished_at = ? "
      "WHERE id = ? AND state = 'pending'");
  SQLite::Statement& q = *qUse;
  q.bind(1, toString(f.state));
  q.bind(2, f.error);
  q.bind(3, static_cast<int64_t>(toUnixMillis(f.at)));
  q.bind(4, f.id);
  q.exec();
}

void SqliteRegistryImpl::storeQueuedFinishes(bool inTransaction) {
  std::vector<Finish> queued;
  {
    std::lock_guard<std::mutex> lock(finishMu_);
    queued.swap(finishes_);
  }
  if (queued.empty()) {
    return;
  }
  try {
    std::optional<SQLite::Transaction> tx;
    if (!inTransaction) {
      tx.emplace(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    }
    for (const Finish& f : queued) {
      updateFinish(f);
    }
    if (tx) {
      tx->commit();
    }
  } catch (const std::exception& e) {
    spdlog::warn("could not finish {} operation(s), left pending for the reconciler: {}",
                 queued.size(), e.what());
    if (inTransaction) {
      throw;  // the caller's transaction is not to be trusted either
    }
  }
}

Status SqliteRegistryImpl::validateOperation(const OperationRecord& op) {
  if (op.sandbox.empty() || op.sandboxId.empty()) {
    return invalidArgument("an operation needs its sandbox's name and id");
  }
  return Status::ok();
}

StatusOr<int64_t> SqliteRegistryImpl::addOperation(const OperationRecord& op) {
  RETURN_IF_ERROR(validateOperation(op));
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    const int64_t id = insertOperation(op);
    tx.commit();
    return id;
  } catch (const std::exception& e) {
    return statusFromException(e, "recording an operation on sandbox " + op.sandbox);
  }
}

int64_t SqliteRegistryImpl::insertOperation(const OperationRecord& op) {
  storeQueuedFinishes(true);  // an older request's finish first: it is not to be superseded
  const SystemTime requested = op.requestedAt == SystemTime{} ? time_->systemTime()
                                                                : op.requestedAt;
  const int64_t now = toUnixMillis(time_->systemTime());
  if (isLifecycle(op.kind)) {
    auto supersededUse = statements_.get(
        "UPDATE operations SET state = 'superseded', finished_at = ? "
        "WHERE sandbox_id = ? AND state = 'pending' AND kind IN ('create', 'stop', 'start', "
        "'delete')");
    SQLite::Statement& superseded = *supersededUse;
    superseded.bind(1, now);
    superseded.bind(2, op.sandboxId);
    superseded.exec();
  }
  auto insertUse = statements_.get(
      "INSERT INTO operations (sandbox, sandbox_id, kind, user, state, "
      "requested_at, detail) VALUES (?, ?, ?, ?, 'pending', ?, ?)");
  SQLite::Statement& insert = *insertUse;
  insert.bind(1, op.sandbox);
  insert.bind(2, op.sandboxId);
  insert.bind(3, toString(op.kind));
  insert.bind(4, op.user);
  insert.bind(5, static_cast<int64_t>(toUnixMillis(requested)));
  insert.bind(6, op.detail);
  insert.exec();
  const int64_t id = db_->getLastInsertRowid();
  auto pruneUse = statements_.get(
      "DELETE FROM operations WHERE sandbox_id = ? AND id <= "
      "(SELECT id FROM operations WHERE sandbox_id = ? "
      "ORDER BY id DESC LIMIT 1 OFFSET ?)");
  SQLite::Statement& prune = *pruneUse;
  prune.bind(1, op.sandboxId);
  prune.bind(2, op.sandboxId);
  prune.bind(3, kOperationHistory);
  prune.exec();
  return id;
}

Status SqliteRegistryImpl::finishOperation(int64_t id, OperationState state,
                                           const std::string& error) {
  if (state != OperationState::Done && state != OperationState::Failed) {
    return invalidArgument("an operation finishes done or failed");
  }
  std::lock_guard<std::mutex> lock(mu_);
  try {
    storeQueuedFinishes(false);
    updateFinish(Finish{id, state, error, time_->systemTime()});
    return Status::ok();
  } catch (const std::exception& e) {
    return statusFromException(e, "finishing operation " + std::to_string(id));
  }
}

namespace {

constexpr const char* kOperationColumns =
    "id, sandbox, sandbox_id, kind, user, state, error, requested_at, finished_at, detail";

// The operations `q` selects (kOperationColumns, in that order).
StatusOr<std::vector<OperationRecord>> readOperations(SQLite::Statement& q) {
  std::vector<OperationRecord> out;
  while (q.executeStep()) {
    OperationRecord op;
    op.id = q.getColumn(0).getInt64();
    op.sandbox = q.getColumn(1).getString();
    op.sandboxId = q.getColumn(2).getString();
    const std::string kind = q.getColumn(3).getString();
    const std::string state = q.getColumn(5).getString();
    auto k = operationKindFromString(kind);
    auto st = operationStateFromString(state);
    if (!k || !st) {
      return internalError("operation " + std::to_string(op.id) + " has unknown kind " +
                           kind + " or state " + state);
    }
    op.kind = *k;
    op.user = q.getColumn(4).getString();
    op.state = *st;
    op.error = q.getColumn(6).getString();
    op.requestedAt = fromUnixMillis(q.getColumn(7).getInt64());
    if (!q.getColumn(8).isNull()) {
      op.finishedAt = fromUnixMillis(q.getColumn(8).getInt64());
    }
    op.detail = q.getColumn(9).getString();
    out.push_back(std::move(op));
  }
  return out;
}

}  // namespace

StatusOr<std::vector<OperationRecord>> SqliteRegistryImpl::listOperations(
    const std::string& sandboxId, int limit, bool pendingOnly) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    storeQueuedFinishes(false);
    auto qUse = statements_.get(std::string("SELECT ") + kOperationColumns +
                                " FROM operations WHERE sandbox_id = ?" +
                                (pendingOnly ? " AND state = 'pending'" : "") +
                                " ORDER BY id DESC LIMIT ?");
    SQLite::Statement& q = *qUse;
    q.bind(1, sandboxId);
    q.bind(2, limit);
    return readOperations(q);
  } catch (const std::exception& e) {
    return statusFromException(e, "listing the operations of sandbox id " + sandboxId);
  }
}

StatusOr<std::vector<OperationRecord>> SqliteRegistryImpl::pendingOperations(
    OperationKind kind) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    storeQueuedFinishes(false);
    auto qUse = statements_.get(std::string("SELECT ") + kOperationColumns +
                                " FROM operations WHERE state = 'pending' AND kind = ? "
                                "ORDER BY id");
    SQLite::Statement& q = *qUse;
    q.bind(1, toString(kind));
    return readOperations(q);
  } catch (const std::exception& e) {
    return statusFromException(e, std::string("listing pending ") + toString(kind) +
                                      " operations");
  }
}

StatusOr<std::set<std::string>> SqliteRegistryImpl::sandboxesWithPendingOperations() {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    storeQueuedFinishes(false);
    auto qUse =
        statements_.get("SELECT DISTINCT sandbox_id FROM operations WHERE state = 'pending'");
    SQLite::Statement& q = *qUse;
    std::set<std::string> out;
    while (q.executeStep()) {
      out.insert(q.getColumn(0).getString());
    }
    return out;
  } catch (const std::exception& e) {
    return statusFromException(e, "listing pending operations");
  }
}

}  // namespace sandboxd::registry
