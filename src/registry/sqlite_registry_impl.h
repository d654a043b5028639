// SqliteRegistryImpl: the Registry on one SQLite connection behind a mutex (openSqliteRegistry
// makes it). Its parts, a file each: the connection, tokens, blobs and opening
// (sqlite_registry.cc), the sandboxes table and its rows held in memory (sqlite_sandboxes.cc),
// the operation records with their queued finishes (sqlite_operations.cc), and the snapshots
// (sqlite_snapshots.cc).
//
// One connection keeps this simple and correct: HTTP handler threads serialise on mu_, and
// every write runs in a BEGIN IMMEDIATE transaction so another process writing the same file
// (the CLI's `token create`) makes us wait up to the busy timeout instead of failing a
// read-then-write upgrade. Prepared statements are kept (StatementCache) and destroyed before
// the Database.
//
// The sandboxes table is also held in memory (rows_, freshRows), so that reads of sandboxes,
// a list of 10,000 above all, do not parse every row again. It can never answer older than the
// file: before each read, PRAGMA data_version tells whether another connection (another
// process, or another registry on the same file) has committed since the rows were read, and
// then they are read again; this connection's own writes keep the row they wrote (built from
// the record, as the tests check against the file), or read it again when they did not know
// the stored row.
//
// A file database's write-ahead log is checkpointed by a thread of the registry's own
// (registry/wal_checkpointer.h), not inside the request's commit that fills it.
//
// finishOperationSoon queues a finish (finishes_ below). The next operation recorded stores the
// queue in its own transaction; a finish or read of operations stores it first; and a thread
// of the registry's own stores what no request took within kFinishGrace, in one commit.
#pragma once

#include <SQLiteCpp/Database.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "registry/sqlite_tokens.h"
#include "registry/sqlite_util.h"
#include "registry/wal_checkpointer.h"
#include "sandboxd/common/random_generator.h"
#include "sandboxd/registry/registry.h"

namespace sandboxd::registry {

// A record's JSON columns, encoded (sqlite_sandboxes.cc).
struct EncodedEnv;

class SqliteRegistryImpl : public Registry {
 public:
  SqliteRegistryImpl(std::unique_ptr<SQLite::Database> db, const std::string& path,
                     TimeSourcePtr time, int version, const SqliteRegistryOptions& options)
      : db_(std::move(db)),
        checkpointer_(startCheckpointer(*db_, path, options)),
        statements_(*db_),
        tokens_(*db_, statements_, random_),
        time_(std::move(time)),
        version_(version),
        finishInBackground_(options.finishInBackground) {}
  ~SqliteRegistryImpl() override;

  // Registry
  Status insertSandbox(const SandboxRecord& record) override;
  StatusOr<int64_t> insertSandboxWithOperation(const SandboxRecord& record,
                                               const OperationRecord& op) override;
  StatusOr<std::vector<OperationRecord>> pendingOperations(OperationKind kind) override;
  StatusOr<SandboxRecord> getSandbox(const std::string& name) override;
  StatusOr<std::vector<SandboxRecordPtr>> listSandboxes(
      const std::optional<std::string>& user) override;
  StatusOr<std::vector<SandboxRecordPtr>> listSandboxPage(const PageQuery& query) override;
  StatusOr<int64_t> updateSandbox(const SandboxRecord& record) override;
  std::vector<StatusOr<int64_t>> updateSandboxes(
      const std::vector<SandboxRecord>& records) override;
  Status recordActivity(const std::vector<Activity>& batch) override;
  Status deleteSandbox(const std::string& name) override;
  StatusOr<NewToken> issueToken(const std::string& user, bool admin,
                                std::optional<std::chrono::seconds> ttl) override;
  StatusOr<TokenInfo> authenticate(const std::string& token) override;
  StatusOr<TokenInfo> authenticateHash(const std::string& tokenSha256) override;
  StatusOr<std::vector<TokenInfo>> listTokens(const std::optional<std::string>& user) override;
  StatusOr<TokenInfo> revokeToken(const std::string& id) override;
  StatusOr<int64_t> addOperation(const OperationRecord& op) override;
  StatusOr<IntentWritten> updateSandboxWithOperation(const SandboxRecord& record,
                                                     const OperationRecord& op) override;
  Status finishOperation(int64_t id, OperationState state, const std::string& error) override;
  void finishOperationSoon(int64_t id, OperationState state, const std::string& error) override;
  StatusOr<std::vector<OperationRecord>> listOperations(const std::string& sandboxId, int limit,
                                                        bool pendingOnly) override;
  StatusOr<std::set<std::string>> sandboxesWithPendingOperations() override;
  StatusOr<int64_t> insertSnapshot(const SnapshotRecord& snapshot,
                                   const OperationRecord* op) override;
  StatusOr<SnapshotRecord> getSnapshot(const std::string& id) override;
  StatusOr<std::vector<SnapshotRecord>> listSnapshots(const std::string& sandbox) override;
  Status updateSnapshot(const SnapshotRecord& snapshot) override;
  Status deleteSnapshot(const std::string& id) override;
  StatusOr<std::map<std::string, SystemTime>> newestSnapshotTimes() override;  // sqlite_snapshot_times.cc
  Status putBlob(const std::string& kind, const std::string& name,
                 const std::string& value) override;
  StatusOr<std::string> getBlob(const std::string& kind, const std::string& name) override;
  Status deleteBlob(const std::string& kind, const std::string& name) override;
  StatusOr<std::optional<UserQuota>> getUserQuota(const std::string& user) override;
  Status putUserQuota(const UserQuota& quota) override;
  StatusOr<bool> deleteUserQuota(const std::string& user) override;
  Status ping() override;
  int schemaVersion() override;

 private:
  // updateSandbox, and with `op` also addOperation, in one transaction.
  StatusOr<IntentWritten> writeSandbox(const SandboxRecord& record, const OperationRecord* op);
  // INSERT of a new row (and `op`, when given, in the same transaction); the operation's id.
  StatusOr<int64_t> insertRow(const SandboxRecord& record, const OperationRecord* op);
  // The UPDATE of updateSandbox, inside the caller's transaction (mu_ held). Throws
  // SQLite::Exception.
  // When the stored row was known (storedRow), `written` is set to the row as now stored.
  StatusOr<int64_t> updateRow(const SandboxRecord& record, const EncodedEnv& encoded,
                              SandboxRecordPtr& written);
  // The INSERT (and superseding, pruning) of addOperation, inside the caller's transaction
  // (mu_ held); returns the new id. Throws SQLite::Exception.
  int64_t insertOperation(const OperationRecord& op);
  static Status validateOperation(const OperationRecord& op);
  // One finish's UPDATE (mu_ held). Throws SQLite::Exception.
  struct Finish {
    int64_t id;
    OperationState state;
    std::string error;
    SystemTime at;
  };
  void updateFinish(const Finish& f);
  // Stores the queued finishes (mu_ held): inside the caller's transaction when `inTransaction`,
  // else in one of their own. A failure is logged and the queue dropped (those operations stay
  // pending; the reconciler settles them).
  void storeQueuedFinishes(bool inTransaction);
  void finisherLoop();
  // PRAGMA data_version: changes when another connection commits (mu_ held). Throws
  // SQLite::Exception.
  int64_t dataVersion();
  // The sandboxes table as of the file now (mu_ held). Throws SQLite::Exception.
  const std::map<std::string, SandboxRecordPtr>& freshRows();
  // After this connection committed a write of `name`'s row (mu_ held): `written`, the row as
  // stored, when the writer knows it; else the row read again (null: it is gone).
  void rowWritten(const std::string& name, SandboxRecordPtr written = nullptr);
  // Puts `row` in rows_ as `name`'s; a new entry is made in the long-lived objects' arena.
  void holdRow(const std::string& name, SandboxRecordPtr row);
  // The stored row `name` at `version` as this connection last read or wrote it, if no other
  // connection has committed since (mu_ held); else null. Throws SQLite::Exception.
  const SandboxRecord* storedRow(const std::string& name, int64_t version);
  // The error of a row that cannot be read, as reading it would return.
  static Status corruptRow(const std::string& name, const std::string& error);

  // Null when SQLite checkpoints in the commit (a database in memory, checkpointPages 0, or a
  // second connection that would not open: logged).
  static std::unique_ptr<WalCheckpointer> startCheckpointer(
      SQLite::Database& db, const std::string& path, const SqliteRegistryOptions& options);

  std::mutex mu_;
  std::unique_ptr<SQLite::Database> db_;  // guarded by mu_
  std::unique_ptr<WalCheckpointer> checkpointer_;  // destroyed before db_
  StatementCache statements_;  // of db_, guarded by mu_; destroyed before db_
  RandomGeneratorImpl random_;
  SqliteTokens tokens_;  // the tokens table, on db_ (guarded by mu_)
  TimeSourcePtr time_;
  int version_;
  // The sandboxes table (guarded by mu_): readable rows by name, and the read error of any
  // other row. Valid while PRAGMA data_version equals rowsDataVersion_ (nullopt: not read).
  std::map<std::string, SandboxRecordPtr> rows_;
  std::map<std::string, std::string> corruptRows_;
  std::optional<int64_t> rowsDataVersion_;
  // Finishes queued by finishOperationSoon (guarded by finishMu_; taken after mu_ when both are
  // held) and the thread that stores them, started by the first one.
  std::mutex finishMu_;
  std::condition_variable finishCv_;
  std::vector<Finish> finishes_;
  bool stopping_ = false;
  const bool finishInBackground_;
  std::thread finisher_;
};

}  // namespace sandboxd::registry
