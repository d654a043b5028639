// The registry: the durable record of every sandbox sandboxd manages and of API tokens.
#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sandboxd/common/status.h"
#include "sandboxd/model/operation.h"
#include "sandboxd/model/sandbox.h"
#include "sandboxd/model/snapshot.h"

namespace sandboxd {

struct TokenInfo {
  std::string id;     // public identifier (not secret), e.g. for listing/revoking
  std::string user;
  bool admin = false;
  SystemTime createdAt{};
  std::optional<SystemTime> expiresAt;  // none: never expires
  std::optional<SystemTime> revokedAt;  // set once revoked (final)
};

// A token's state at `now`: "active", "expired" (expiresAt reached) or "revoked".
const char* tokenState(const TokenInfo& token, SystemTime now);

// A token just created: the plaintext (shown once, never stored) and what is stored about it.
struct NewToken {
  std::string token;
  TokenInfo info;
};

// An admin's limits for one user (PUT /api/v1/admin/quotas/{user}). A field that is set
// replaces the configured quota (config `quotas`) for this user, 0 (or "" for storage) meaning
// unlimited; an unset one leaves the configured limit.
struct UserQuota {
  std::string user;
  std::optional<int64_t> maxSandboxes;
  std::optional<int64_t> maxRunning;
  std::optional<std::string> maxStorage;
  SystemTime updatedAt{};
};

class Registry {
 public:
  virtual ~Registry() = default;

  // Inserts a new sandbox. AlreadyExists if the name is taken (by anyone).
  // Sets record.version = 1 in the stored row.
  virtual Status insertSandbox(const SandboxRecord& record) = 0;

  // NotFound if absent.
  virtual StatusOr<SandboxRecord> getSandbox(const std::string& name) = 0;

  // All sandboxes, or only `user`'s, ordered by name (never null).
  virtual StatusOr<std::vector<SandboxRecordPtr>> listSandboxes(
      const std::optional<std::string>& user = std::nullopt) = 0;

  // One page of the sandboxes in name order (keyset paging): those whose name is after
  // `after` (all when empty) and starts with `namePrefix`, only `user`'s when set; at most
  // `limit`. The next page starts after the last name returned, so a walk lists a row that
  // exists throughout it exactly once, whatever is inserted or deleted meanwhile.
  struct PageQuery {
    std::optional<std::string> user;
    std::string after;
    std::string namePrefix;
    size_t limit = 500;
  };
  virtual StatusOr<std::vector<SandboxRecordPtr>> listSandboxPage(const PageQuery& query) = 0;

  // Compare-and-set update: succeeds only if the stored version equals record.version, then
  // stores record with version+1 and returns the new version. Aborted on a version mismatch,
  // NotFound if the row is gone.
  virtual StatusOr<int64_t> updateSandbox(const SandboxRecord& record) = 0;

  // updateSandbox for each of `records`, compared and set one by one (a version mismatch or a
  // vanished row fails that record only), in one transaction where the registry has them: one
  // commit for many small writes (StatusRecorder's batches of recorded statuses). Results in
  // the records' order. This default is the calls in turn.
  virtual std::vector<StatusOr<int64_t>> updateSandboxes(
      const std::vector<SandboxRecord>& records) {
    std::vector<StatusOr<int64_t>> out;
    out.reserve(records.size());
    for (const SandboxRecord& record : records) {
      out.push_back(updateSandbox(record));
    }
    return out;
  }

  // Removes the row. NotFound if absent.
  virtual Status deleteSandbox(const std::string& name) = 0;

  // Raises each named sandbox's lastActivityAt to the time given (never lowers it), for the
  // sandbox of that id only (a name re-created since is another sandbox), in one commit. The
  // rows' versions stay: activity is no intent, and must not fail a request's compare-and-set.
  // Rows that are gone are skipped.
  struct Activity {
    std::string name;
    std::string sandboxId;
    SystemTime at{};
  };
  virtual Status recordActivity(const std::vector<Activity>& batch) = 0;

  // Creates an API token for `user`, valid for `ttl` from now by the registry's clock (none:
  // until revoked); returns the plaintext token (shown once) and stores only its SHA-256
  // hash. InvalidArgument for an empty user or a ttl that is not positive.
  virtual StatusOr<NewToken> issueToken(const std::string& user, bool admin,
                                        std::optional<std::chrono::seconds> ttl) = 0;
  // issueToken without expiry, the plaintext alone.
  StatusOr<std::string> createToken(const std::string& user, bool admin) {
    ASSIGN_OR_RETURN(NewToken created, issueToken(user, admin, std::nullopt));
    return std::move(created.token);
  }

  // The token's owner, or Unauthenticated (unknown, revoked or expired: a token revoked by
  // another process on the same database is refused at once too). Compares hashes; never logs
  // the token.
  virtual StatusOr<TokenInfo> authenticate(const std::string& token) = 0;
  // authenticate() for a token known only by its SHA-256 (lowercase hex), e.g. the one a
  // forward-auth session was signed in with: the same answers, revocation and expiry included.
  virtual StatusOr<TokenInfo> authenticateHash(const std::string& tokenSha256) = 0;

  // Every token (or only `user`'s), revoked and expired ones too, oldest first. Never the
  // token or its hash.
  virtual StatusOr<std::vector<TokenInfo>> listTokens(
      const std::optional<std::string>& user = std::nullopt) = 0;

  // Revokes token `id` (its row is kept, marked revoked): from now on it authenticates no
  // request. Returns the token as now stored; revoking a revoked token changes nothing.
  // NotFound for an unknown id.
  virtual StatusOr<TokenInfo> revokeToken(const std::string& id) = 0;

  // Every pending operation of `kind`, oldest first (the restores a restart resumes).
  virtual StatusOr<std::vector<OperationRecord>> pendingOperations(OperationKind kind) {
    ASSIGN_OR_RETURN(std::set<std::string> ids, sandboxesWithPendingOperations());
    std::vector<OperationRecord> out;
    for (const std::string& id : ids) {
      ASSIGN_OR_RETURN(std::vector<OperationRecord> ops,
                       listOperations(id, kOperationHistory, /*pendingOnly=*/true));
      for (OperationRecord& op : ops) {
        if (op.kind == kind) {
          out.push_back(std::move(op));
        }
      }
    }
    std::sort(out.begin(), out.end(),
              [](const OperationRecord& a, const OperationRecord& b) { return a.id < b.id; });
    return out;
  }
  // insertSandbox and addOperation in one transaction (a fork's create: its operation's detail
  // says what its home volume is made from, and must not be missing after a crash). Returns the
  // operation's id.
  virtual StatusOr<int64_t> insertSandboxWithOperation(const SandboxRecord& record,
                                                       const OperationRecord& op) {
    RETURN_IF_ERROR(insertSandbox(record));
    return addOperation(op);
  }
  // The operation record. addOperation stores `op` as pending and returns its id; a lifecycle
  // request (create, stop, start, delete) marks the sandbox's older pending lifecycle requests
  // superseded. Only the newest kOperationHistory per sandbox id are kept.
  static constexpr int kOperationHistory = 50;
  virtual StatusOr<int64_t> addOperation(const OperationRecord& op) = 0;
  // Finishes a pending operation (Done or Failed); one no longer pending is left as it is.
  virtual Status finishOperation(int64_t id, OperationState state,
                                 const std::string& error = "") = 0;
  // finishOperation off the caller's path: the finish may be stored a moment later, in the
  // commit of a later request or with other finishes. It is stored before this registry
  // records, finishes or reads any later operation, and when it is closed, so that nothing
  // read through it sees operations out of order. Another process may see the operation
  // pending a moment longer, and a crash before it is stored leaves it pending, as one just
  // before finishOperation would (the reconciler settles those). Failures are logged. This
  // default finishes at once.
  virtual void finishOperationSoon(int64_t id, OperationState state,
                                   const std::string& error = "") {
    (void)finishOperation(id, state, error);
  }
  // A sandbox's operations, newest first, at most `limit`; only pending ones if asked.
  virtual StatusOr<std::vector<OperationRecord>> listOperations(const std::string& sandboxId,
                                                                int limit,
                                                                bool pendingOnly = false) = 0;
  // updateSandbox(record) and addOperation(op) in one transaction: a request's intent and its
  // operation record are stored together or not at all (and cost one commit, not two).
  // Returns the new version and the operation's id. This default is the two calls in turn,
  // for registries without transactions.
  struct IntentWritten {
    int64_t version = 0;
    int64_t operation = 0;
  };
  virtual StatusOr<IntentWritten> updateSandboxWithOperation(const SandboxRecord& record,
                                                             const OperationRecord& op) {
    ASSIGN_OR_RETURN(int64_t version, updateSandbox(record));
    ASSIGN_OR_RETURN(int64_t operation, addOperation(op));
    return IntentWritten{version, operation};
  }
  // The sandbox ids that have a pending operation.
  virtual StatusOr<std::set<std::string>> sandboxesWithPendingOperations() = 0;

  // Home-volume snapshots (model/snapshot.h). The defaults answer FailedPrecondition: a
  // registry without them (test fakes).
  // Inserts `snapshot` and, with `op`, records that operation in the same transaction (the
  // request's intent, before any cluster call); returns the operation's id (0 without).
  // AlreadyExists for an id taken.
  virtual StatusOr<int64_t> insertSnapshot(const SnapshotRecord& snapshot,
                                           const OperationRecord* op) {
    return noSnapshots();
  }
  // NotFound for an unknown id.
  virtual StatusOr<SnapshotRecord> getSnapshot(const std::string& id) { return noSnapshots(); }
  // The snapshots taken of sandboxes named `sandbox` (any incarnation, any owner: the caller
  // filters), newest first.
  virtual StatusOr<std::vector<SnapshotRecord>> listSnapshots(const std::string& sandbox) {
    return noSnapshots();
  }
  // Stores `snapshot`'s state, size, error and readyAt. NotFound when the row is gone.
  virtual Status updateSnapshot(const SnapshotRecord& snapshot) { return noSnapshots(); }
  // NotFound for an unknown id.
  virtual Status deleteSnapshot(const std::string& id) { return noSnapshots(); }
  // The creation time of the newest snapshot of each sandbox id that has any (any label, any
  // state), in one read: what the scheduled snapshots (snapshots.intervalHours) go by.
  virtual StatusOr<std::map<std::string, SystemTime>> newestSnapshotTimes() {
    return noSnapshots();
  }

  // Arbitrary durable blobs keyed by (kind, name): e.g. the original Deployment saved by
  // `migrate` for rollback. put overwrites.
  virtual Status putBlob(const std::string& kind, const std::string& name,
                         const std::string& value) = 0;
  virtual StatusOr<std::string> getBlob(const std::string& kind, const std::string& name) = 0;
  virtual Status deleteBlob(const std::string& kind, const std::string& name) = 0;

  // Per-user quota overrides: the user's (nullopt when none), set (replacing any), removed
  // (false when there was none).
  virtual StatusOr<std::optional<UserQuota>> getUserQuota(const std::string& user) = 0;
  virtual Status putUserQuota(const UserQuota& quota) = 0;
  virtual StatusOr<bool> deleteUserQuota(const std::string& user) = 0;

  // The database answers (SELECT 1).
  virtual Status ping() = 0;

  // PRAGMA user_version after migrations.
  virtual int schemaVersion() = 0;

 private:
  static Status noSnapshots() { return failedPrecondition("this registry keeps no snapshots"); }
};

using RegistryPtr = std::shared_ptr<Registry>;

struct SqliteRegistryOptions {
  std::string migrationsDir;  // empty = the migrations embedded in the binary
  int busyTimeoutMs = 5000;
  // Whether finishOperationSoon's finishes are stored by a thread of the registry's own as soon
  // as they come, or (false, for tests) only before a later write, operation read or close.
  bool finishInBackground = true;
  // A file database's write-ahead log is checkpointed by a thread of the registry's own once it
  // holds this many pages (registry/wal_checkpointer.h); 0: by SQLite's automatic checkpoint,
  // inside the commit that takes it past 1,000.
  int checkpointPages = 1000;
};

// Opens (creating if needed) the SQLite database at `path` (":memory:" allowed), applies
// pending migrations in one IMMEDIATE transaction, and refuses (FailedPrecondition, clear
// message) a database whose user_version is newer than the newest known migration.
StatusOr<RegistryPtr> openSqliteRegistry(const std::string& path, TimeSourcePtr time,
                                         const SqliteRegistryOptions& options = {});

// Applies pending migrations only; returns the resulting schema version.
StatusOr<int> migrateDatabase(const std::string& path, const SqliteRegistryOptions& options = {});

}  // namespace sandboxd
