// SqliteRegistryImpl: the Registry on one SQLite connection behind a mutex.
//
// One connection keeps this simple and correct: HTTP handler threads serialise on mu_, and
// every write runs in a BEGIN IMMEDIATE transaction so another process writing the same file
// (the CLI's `token create`) makes us wait up to the busy timeout instead of failing a
// read-then-write upgrade. Prepared statements are kept (StatementCache) and destroyed before
// the Database.
//
// The sandboxes table is also held in memory (rows_, freshRows below), so that reads of sandboxes,
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
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <nlohmann/json.hpp>

#include "registry/migrations.h"
#include "registry/sqlite_tokens.h"
#include "registry/sqlite_util.h"
#include "registry/wal_checkpointer.h"
#include "sandboxd/common/random_generator.h"
#include "sandboxd/registry/registry.h"

namespace sandboxd {
namespace {

using registry::statusFromException;

using registry::fromUnixMillis;
using registry::toUnixMillis;

std::string columnBytes(const SQLite::Column& column) {
  const int n = column.getBytes();
  if (n <= 0) {
    return {};
  }
  return std::string(static_cast<const char*>(column.getBlob()), static_cast<size_t>(n));
}

struct EncodedEnv {
  std::string env;   // JSON object
  std::string keys;  // JSON array
  std::string publicPorts;  // JSON array
};

// The writable columns, user … public_ports in kSandboxColumns' order: each column's name, whether
// a record changes it from the stored one, and how it is bound. One table for INSERT and
// UPDATE (whole or narrowed to the changed columns).
struct WritableColumn {
  const char* name;
  bool (*changed)(const SandboxRecord& stored, const SandboxRecord& record);
  void (*bind)(SQLite::Statement& q, int at, const SandboxRecord& record,
               const EncodedEnv& encoded);
};
// {column, field of SandboxRecord it holds, the value bound (of the record `r` or its encoded
// env `e`)}.
#define SANDBOXD_COLUMN(column, field, value)                                                \
  WritableColumn {                                                                             \
    column, [](const SandboxRecord& a, const SandboxRecord& b) { return a.field != b.field; }, \
        [](SQLite::Statement& q, int at, [[maybe_unused]] const SandboxRecord& r,              \
           [[maybe_unused]] const EncodedEnv& e) { q.bind(at, value); }                        \
  }
const WritableColumn kWritableColumns[] = {
    SANDBOXD_COLUMN("user", user, r.user),
    SANDBOXD_COLUMN("namespace", nameSpace, r.nameSpace),
    SANDBOXD_COLUMN("sandbox_id", sandboxId, r.sandboxId),
    SANDBOXD_COLUMN("image", image, r.image),
    SANDBOXD_COLUMN("env", env, e.env),
    SANDBOXD_COLUMN("secret_env_keys", secretEnvKeys, e.keys),
    SANDBOXD_COLUMN("storage", storage, r.storage),
    SANDBOXD_COLUMN("desired", desired, toString(r.desired)),
    SANDBOXD_COLUMN("purge", purge, r.purge ? 1 : 0),
    SANDBOXD_COLUMN("phase", phase, toString(r.phase)),
    SANDBOXD_COLUMN("reason", reason, r.reason),
    SANDBOXD_COLUMN("message", message, r.message),
    SANDBOXD_COLUMN("workload", workload, toString(r.workload)),
    SANDBOXD_COLUMN("public_ports", publicPorts, e.publicPorts),
};
#undef SANDBOXD_COLUMN

// Binds the row's writable columns, user … public_ports in kSandboxColumns' order, to parameters
// `first`, `first` + 1, …; returns the next parameter's index. One list for INSERT and UPDATE.
int bindWritableColumns(SQLite::Statement& q, int first, const SandboxRecord& record,
                        const EncodedEnv& encoded) {
  int i = first;
  for (const WritableColumn& column : kWritableColumns) {
    column.bind(q, i++, record, encoded);
  }
  return i;
}

// The JSON column encodings. Strict: a value that is not UTF-8 is refused rather than
// silently altered (env values are validated upstream; this is the backstop).
StatusOr<EncodedEnv> encodeEnv(const SandboxRecord& record) {
  try {
    nlohmann::json env = nlohmann::json::object();
    for (const auto& [k, v] : record.env) {
      env[k] = v;
    }
    return EncodedEnv{env.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict),
                      nlohmann::json(record.secretEnvKeys)
                          .dump(-1, ' ', false, nlohmann::json::error_handler_t::strict),
                      nlohmann::json(record.publicPorts)
                          .dump(-1, ' ', false, nlohmann::json::error_handler_t::strict)};
  } catch (const nlohmann::json::exception&) {
    return invalidArgument("sandbox " + record.name + ": env names and values must be UTF-8");
  }
}

constexpr const char* kSandboxColumns =
    "name, user, namespace, sandbox_id, image, env, secret_env_keys, storage, desired, purge, "
    "phase, reason, message, workload, public_ports, created_at, updated_at, version";

// Reads a row selected with kSandboxColumns. Throws on a corrupt row (caught by the caller).
SandboxRecord readSandbox(SQLite::Statement& q) {
  SandboxRecord r;
  r.name = q.getColumn(0).getString();
  r.user = q.getColumn(1).getString();
  r.nameSpace = q.getColumn(2).getString();
  r.sandboxId = q.getColumn(3).getString();
  r.image = q.getColumn(4).getString();
  const nlohmann::json env = nlohmann::json::parse(q.getColumn(5).getString());
  for (const auto& [k, v] : env.items()) {
    r.env.emplace(k, v.get<std::string>());
  }
  r.secretEnvKeys =
      nlohmann::json::parse(q.getColumn(6).getString()).get<std::vector<std::string>>();
  r.storage = q.getColumn(7).getString();
  const std::string desired = q.getColumn(8).getString();
  auto d = desiredStateFromString(desired);
  if (!d) {
    throw std::runtime_error("sandbox " + r.name + " has unknown desired state " + desired);
  }
  r.desired = *d;
  r.purge = q.getColumn(9).getInt() != 0;
  const std::string phase = q.getColumn(10).getString();
  auto p = phaseFromString(phase);
  if (!p) {
    throw std::runtime_error("sandbox " + r.name + " has unknown phase " + phase);
  }
  r.phase = *p;
  r.reason = q.getColumn(11).getString();
  r.message = q.getColumn(12).getString();
  const std::string workload = q.getColumn(13).getString();
  auto w = workloadKindFromString(workload);
  if (!w) {
    throw std::runtime_error("sandbox " + r.name + " has unknown workload " + workload);
  }
  r.workload = *w;
  r.publicPorts =
      nlohmann::json::parse(q.getColumn(14).getString()).get<std::vector<std::string>>();
  r.createdAt = fromUnixMillis(q.getColumn(15).getInt64());
  r.updatedAt = fromUnixMillis(q.getColumn(16).getInt64());
  r.version = q.getColumn(17).getInt64();
  return r;
}

Status validateRecord(const SandboxRecord& record) {
  if (record.name.empty()) {
    return invalidArgument("sandbox name must not be empty");
  }
  if (record.user.empty()) {
    return invalidArgument("sandbox " + record.name + " has no user");
  }
  return Status::ok();
}

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
  StatusOr<SandboxRecord> getSandbox(const std::string& name) override;
  StatusOr<std::vector<SandboxRecordPtr>> listSandboxes(
      const std::optional<std::string>& user) override;
  StatusOr<std::vector<SandboxRecordPtr>> listSandboxPage(const PageQuery& query) override;
  StatusOr<int64_t> updateSandbox(const SandboxRecord& record) override;
  std::vector<StatusOr<int64_t>> updateSandboxes(
      const std::vector<SandboxRecord>& records) override;
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
  Status putBlob(const std::string& kind, const std::string& name,
                 const std::string& value) override;
  StatusOr<std::string> getBlob(const std::string& kind, const std::string& name) override;
  Status deleteBlob(const std::string& kind, const std::string& name) override;
  Status ping() override;
  int schemaVersion() override;

 private:
  // updateSandbox, and with `op` also addOperation, in one transaction.
  StatusOr<IntentWritten> writeSandbox(const SandboxRecord& record, const OperationRecord* op);
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
  // The stored row `name` at `version` as this connection last read or wrote it, if no other
  // connection has committed since (mu_ held); else null. Throws SQLite::Exception.
  const SandboxRecord* storedRow(const std::string& name, int64_t version);
  // The error of a row that cannot be read, as reading it would return.
  static Status corruptRow(const std::string& name, const std::string& error);

  // Null when SQLite checkpoints in the commit (a database in memory, checkpointPages 0, or a
  // second connection that would not open: logged).
  static std::unique_ptr<registry::WalCheckpointer> startCheckpointer(
      SQLite::Database& db, const std::string& path, const SqliteRegistryOptions& options);

  std::mutex mu_;
  std::unique_ptr<SQLite::Database> db_;  // guarded by mu_
  std::unique_ptr<registry::WalCheckpointer> checkpointer_;  // destroyed before db_
  registry::StatementCache statements_;   // of db_, guarded by mu_; destroyed before db_
  RandomGeneratorImpl random_;
  registry::SqliteTokens tokens_;  // the tokens table, on db_ (guarded by mu_)
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

std::unique_ptr<registry::WalCheckpointer> SqliteRegistryImpl::startCheckpointer(
    SQLite::Database& db, const std::string& path, const SqliteRegistryOptions& options) {
  if (options.checkpointPages <= 0 || registry::isInMemory(path)) {
    return nullptr;
  }
  try {
    return std::make_unique<registry::WalCheckpointer>(db, path, options.busyTimeoutMs,
                                                       options.checkpointPages);
  } catch (const std::exception& e) {
    spdlog::warn("registry: the write-ahead log is checkpointed in the commits that fill it ({})",
                 e.what());
    return nullptr;
  }
}

// How long a queued finish may wait for a later write to store it (Registry::finishOperationSoon).
constexpr std::chrono::milliseconds kFinishGrace{10};

SqliteRegistryImpl::~SqliteRegistryImpl() {
  {
    std::lock_guard<std::mutex> lock(finishMu_);
    stopping_ = true;
  }
  finishCv_.notify_all();
  if (finisher_.joinable()) {
    finisher_.join();
  }
  std::lock_guard<std::mutex> lock(mu_);
  storeQueuedFinishes(false);
}

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

int64_t SqliteRegistryImpl::dataVersion() {
  auto qUse = statements_.get("PRAGMA data_version");
  SQLite::Statement& q = *qUse;
  q.executeStep();
  return q.getColumn(0).getInt64();
}

const std::map<std::string, SandboxRecordPtr>& SqliteRegistryImpl::freshRows() {
  const int64_t dataVersion = this->dataVersion();
  if (rowsDataVersion_ == dataVersion) {
    return rows_;
  }
  // Read before the rows: a commit in between only costs another read next time.
  rowsDataVersion_.reset();
  rows_.clear();
  corruptRows_.clear();
  auto qUse = statements_.get(std::string("SELECT ") + kSandboxColumns + " FROM sandboxes");
  SQLite::Statement& q = *qUse;
  while (q.executeStep()) {
    std::string name = q.getColumn(0).getString();
    try {
      rows_.emplace(name, std::make_shared<const SandboxRecord>(readSandbox(q)));
    } catch (const SQLite::Exception&) {
      throw;
    } catch (const std::exception& e) {
      corruptRows_.emplace(std::move(name), e.what());  // only its own reads fail
    }
  }
  rowsDataVersion_ = dataVersion;
  return rows_;
}

void SqliteRegistryImpl::rowWritten(const std::string& name, SandboxRecordPtr written) {
  if (!rowsDataVersion_) {
    return;  // not read yet: the next read reads them all
  }
  try {
    corruptRows_.erase(name);
    if (written != nullptr) {
      rows_[name] = std::move(written);
      return;
    }
    rows_.erase(name);
    auto qUse = statements_.get(std::string("SELECT ") + kSandboxColumns +
                                " FROM sandboxes WHERE name = ?");
    SQLite::Statement& q = *qUse;
    q.bind(1, name);
    if (q.executeStep()) {
      rows_.emplace(name, std::make_shared<const SandboxRecord>(readSandbox(q)));
    }
  } catch (const std::exception&) {
    rowsDataVersion_.reset();  // the write stands; the next read reads every row again
  }
}

const SandboxRecord* SqliteRegistryImpl::storedRow(const std::string& name, int64_t version) {
  if (!rowsDataVersion_) {
    return nullptr;
  }
  if (dataVersion() != *rowsDataVersion_) {
    return nullptr;  // another connection wrote: its rows are read again on the next read
  }
  auto row = rows_.find(name);
  return row != rows_.end() && row->second->version == version ? row->second.get() : nullptr;
}

Status SqliteRegistryImpl::corruptRow(const std::string& name, const std::string& error) {
  return internalError("reading sandbox " + name + ": " + error);
}

Status SqliteRegistryImpl::insertSandbox(const SandboxRecord& record) {
  RETURN_IF_ERROR(validateRecord(record));
  ASSIGN_OR_RETURN(EncodedEnv encoded, encodeEnv(record));
  const SystemTime now = time_->systemTime();
  const SystemTime created = record.createdAt == SystemTime{} ? now : record.createdAt;
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto qUse = statements_.get(
        std::string("INSERT INTO sandboxes (") + kSandboxColumns +
        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)");
    SQLite::Statement& q = *qUse;
    q.bind(1, record.name);
    const int next = bindWritableColumns(q, 2, record, encoded);
    q.bind(next, static_cast<int64_t>(toUnixMillis(created)));
    q.bind(next + 1, static_cast<int64_t>(toUnixMillis(now)));
    try {
      q.exec();
    } catch (const SQLite::Exception& e) {
      if (e.getExtendedErrorCode() == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return alreadyExists("sandbox name already taken: " + record.name);
      }
      throw;
    }
    // The row as stored: the record's columns, both times to the millisecond, version 1.
    auto row = std::make_shared<SandboxRecord>(record);
    row->createdAt = fromUnixMillis(toUnixMillis(created));
    row->updatedAt = fromUnixMillis(toUnixMillis(now));
    row->version = 1;
    tx.commit();
    rowWritten(record.name, std::move(row));
    return Status::ok();
  } catch (const std::exception& e) {
    rowsDataVersion_.reset();
    return statusFromException(e, "inserting sandbox " + record.name);
  }
}

StatusOr<SandboxRecord> SqliteRegistryImpl::getSandbox(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    const auto& rows = freshRows();
    const auto it = rows.find(name);
    if (it != rows.end()) {
      return *it->second;
    }
    const auto corrupt = corruptRows_.find(name);
    if (corrupt != corruptRows_.end()) {
      return corruptRow(name, corrupt->second);
    }
    return notFound("sandbox " + name + " not found");
  } catch (const std::exception& e) {
    return statusFromException(e, "reading sandbox " + name);
  }
}

StatusOr<std::vector<SandboxRecordPtr>> SqliteRegistryImpl::listSandboxes(
    const std::optional<std::string>& user) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    const auto& rows = freshRows();  // ordered by name as SQLite's BINARY collation orders it
    if (!corruptRows_.empty()) {
      const auto& [name, error] = *corruptRows_.begin();
      return internalError("listing sandboxes: sandbox " + name + ": " + error);
    }
    std::vector<SandboxRecordPtr> out;
    out.reserve(user ? 0 : rows.size());
    for (const auto& [name, record] : rows) {
      if (!user || record->user == *user) {
        out.push_back(record);
      }
    }
    return out;
  } catch (const std::exception& e) {
    return statusFromException(e, "listing sandboxes");
  }
}

// Keyset paging over the rows held (ordered by name as SQLite's BINARY collation orders them);
// one user's through the (user, name) index, then the rows held by name.
StatusOr<std::vector<SandboxRecordPtr>> SqliteRegistryImpl::listSandboxPage(
    const PageQuery& query) {
  const std::string& prefix = query.namePrefix;
  const auto inPrefix = [&prefix](const std::string& name) {
    return name.compare(0, prefix.size(), prefix) == 0;
  };
  std::lock_guard<std::mutex> lock(mu_);
  try {
    const auto& rows = freshRows();
    if (!corruptRows_.empty()) {
      const auto& [name, error] = *corruptRows_.begin();
      return internalError("listing sandboxes: sandbox " + name + ": " + error);
    }
    std::vector<SandboxRecordPtr> out;
    if (query.limit == 0) {
      return out;
    }
    out.reserve(std::min(query.limit, rows.size()));
    if (!query.user) {
      // The first name after `after` that can start with the prefix.
      auto it = prefix > query.after ? rows.lower_bound(prefix) : rows.upper_bound(query.after);
      for (; it != rows.end() && out.size() < query.limit && inPrefix(it->first); ++it) {
        out.push_back(it->second);
      }
      return out;
    }
    const std::optional<std::string> end = registry::prefixEnd(prefix);
    auto qUse = statements_.get(std::string("SELECT name FROM sandboxes WHERE user = ? AND "
                                            "name > ? AND name >= ?") +
                                (end ? " AND name < ?" : "") + " ORDER BY name LIMIT ?");
    SQLite::Statement& q = *qUse;
    int at = 1;
    q.bind(at++, *query.user);
    q.bind(at++, query.after);
    q.bind(at++, prefix);
    if (end) {
      q.bind(at++, *end);
    }
    q.bind(at, static_cast<int64_t>(std::min<size_t>(query.limit, INT64_MAX)));
    while (q.executeStep()) {
      const auto row = rows.find(q.getColumn(0).getString());
      if (row != rows.end()) {  // always: the rows held are the file's (freshRows)
        out.push_back(row->second);
      }
    }
    return out;
  } catch (const std::exception& e) {
    return statusFromException(e, "listing sandboxes");
  }
}

StatusOr<int64_t> SqliteRegistryImpl::updateSandbox(const SandboxRecord& record) {
  ASSIGN_OR_RETURN(IntentWritten written, writeSandbox(record, nullptr));
  return written.version;
}

std::vector<StatusOr<int64_t>> SqliteRegistryImpl::updateSandboxes(
    const std::vector<SandboxRecord>& records) {
  std::vector<StatusOr<int64_t>> out;
  std::vector<std::optional<EncodedEnv>> encoded(records.size());
  out.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    Status valid = validateRecord(records[i]);
    auto env = valid.isOk() ? encodeEnv(records[i]) : StatusOr<EncodedEnv>(valid);
    if (env.isOk()) {
      encoded[i] = std::move(*env);
      out.emplace_back(int64_t{0});  // replaced below
    } else {
      out.emplace_back(env.status());
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<size_t, SandboxRecordPtr>> written;
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    for (size_t i = 0; i < records.size(); ++i) {
      if (encoded[i]) {
        SandboxRecordPtr row;
        out[i] = updateRow(records[i], *encoded[i], row);
        if (out[i].isOk()) {
          written.emplace_back(i, std::move(row));
        }
      }
    }
    tx.commit();
  } catch (const std::exception& e) {
    rowsDataVersion_.reset();
    const Status failed = statusFromException(e, "updating " + std::to_string(records.size()) +
                                                     " sandboxes");
    for (size_t i = 0; i < records.size(); ++i) {
      if (encoded[i]) {
        out[i] = failed;
      }
    }
    return out;
  }
  for (auto& [i, row] : written) {
    rowWritten(records[i].name, std::move(row));
  }
  return out;
}

StatusOr<Registry::IntentWritten> SqliteRegistryImpl::updateSandboxWithOperation(
    const SandboxRecord& record, const OperationRecord& op) {
  RETURN_IF_ERROR(validateOperation(op));
  return writeSandbox(record, &op);
}

StatusOr<Registry::IntentWritten> SqliteRegistryImpl::writeSandbox(const SandboxRecord& record,
                                                                   const OperationRecord* op) {
  RETURN_IF_ERROR(validateRecord(record));
  ASSIGN_OR_RETURN(EncodedEnv encoded, encodeEnv(record));
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    IntentWritten written;
    SandboxRecordPtr row;
    ASSIGN_OR_RETURN(written.version, updateRow(record, encoded, row));
    if (op != nullptr) {
      written.operation = insertOperation(*op);
    }
    tx.commit();
    rowWritten(record.name, std::move(row));
    return written;
  } catch (const std::exception& e) {
    rowsDataVersion_.reset();
    return statusFromException(e, "updating sandbox " + record.name);
  }
}

StatusOr<int64_t> SqliteRegistryImpl::updateRow(const SandboxRecord& record,
                                                const EncodedEnv& encoded,
                                                SandboxRecordPtr& written) {
  const SystemTime now = time_->systemTime();
  // created_at is immutable; updated_at is the time of this write. Only the columns that
  // change are set when the stored row is known (storedRow): a lifecycle request changes two
  // or three, and an index whose columns are not set is not rewritten.
  const SandboxRecord* stored = storedRow(record.name, record.version);
  const auto set = [&](const WritableColumn& column) {
    return stored == nullptr || column.changed(*stored, record);
  };
  std::string sql = "UPDATE sandboxes SET ";
  for (const WritableColumn& column : kWritableColumns) {
    if (set(column)) {
      sql += std::string(column.name) + " = ?, ";
    }
  }
  sql += "updated_at = ?, version = version + 1 WHERE name = ? AND version = ?";
  auto qUse = statements_.get(sql);
  SQLite::Statement& q = *qUse;
  int next = 1;
  for (const WritableColumn& column : kWritableColumns) {
    if (set(column)) {
      column.bind(q, next++, record, encoded);
    }
  }
  q.bind(next, static_cast<int64_t>(toUnixMillis(now)));
  q.bind(next + 1, record.name);
  q.bind(next + 2, static_cast<int64_t>(record.version));
  if (q.exec() == 1) {
    if (stored != nullptr) {
      // The record's columns over the stored row: the rest is what this statement set. No other
      // connection can commit before ours (this transaction holds the write lock), so the
      // rows held stay current.
      auto row = std::make_shared<SandboxRecord>(record);
      row->createdAt = stored->createdAt;
      row->updatedAt = fromUnixMillis(toUnixMillis(now));
      row->version = record.version + 1;
      written = std::move(row);
    }
    return record.version + 1;
  }
  // No row matched: tell a vanished row from a stale version.
  auto currentUse = statements_.get("SELECT version FROM sandboxes WHERE name = ?");
  SQLite::Statement& current = *currentUse;
  current.bind(1, record.name);
  if (!current.executeStep()) {
    return notFound("sandbox " + record.name + " not found");
  }
  return aborted("sandbox " + record.name + " was modified concurrently (stored version " +
                 std::to_string(current.getColumn(0).getInt64()) + ", expected " +
                 std::to_string(record.version) + ")");
}

Status SqliteRegistryImpl::deleteSandbox(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto qUse = statements_.get("DELETE FROM sandboxes WHERE name = ?");
    SQLite::Statement& q = *qUse;
    q.bind(1, name);
    if (q.exec() == 0) {
      return notFound("sandbox " + name + " not found");
    }
    tx.commit();
    rowWritten(name);
    return Status::ok();
  } catch (const std::exception& e) {
    rowsDataVersion_.reset();
    return statusFromException(e, "deleting sandbox " + name);
  }
}

StatusOr<NewToken> SqliteRegistryImpl::issueToken(const std::string& user, bool admin,
                                                  std::optional<std::chrono::seconds> ttl) {
  if (ttl && ttl->count() <= 0) {
    return invalidArgument("token ttl must be positive");
  }
  const SystemTime now = time_->systemTime();
  std::optional<SystemTime> expiresAt;
  if (ttl) {
    expiresAt = now + *ttl;
  }
  std::lock_guard<std::mutex> lock(mu_);
  try {
    return tokens_.create(user, admin, now, expiresAt);
  } catch (const std::exception& e) {
    // The message names neither the token nor its hash.
    return statusFromException(e, "creating a token for " + user);
  }
}

StatusOr<TokenInfo> SqliteRegistryImpl::authenticate(const std::string& token) {
  if (token.empty()) {
    return unauthenticated("invalid token");
  }
  return authenticateHash(sha256Hex(token));
}

StatusOr<TokenInfo> SqliteRegistryImpl::authenticateHash(const std::string& hash) {
  if (hash.empty()) {
    return unauthenticated("invalid token");
  }
  const SystemTime now = time_->systemTime();
  std::lock_guard<std::mutex> lock(mu_);
  try {
    auto info = tokens_.authenticate(hash, dataVersion(), now);
    if (!info) {
      return unauthenticated("invalid token");
    }
    return std::move(*info);
  } catch (const std::exception& e) {
    return statusFromException(e, "authenticating");
  }
}

StatusOr<std::vector<TokenInfo>> SqliteRegistryImpl::listTokens(
    const std::optional<std::string>& user) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    return tokens_.list(user);
  } catch (const std::exception& e) {
    return statusFromException(e, "listing tokens");
  }
}

StatusOr<TokenInfo> SqliteRegistryImpl::revokeToken(const std::string& id) {
  const SystemTime now = time_->systemTime();
  std::lock_guard<std::mutex> lock(mu_);
  try {
    auto revoked = tokens_.revoke(id, now);
    if (!revoked) {
      return notFound("token " + id + " not found");
    }
    return std::move(*revoked);
  } catch (const std::exception& e) {
    return statusFromException(e, "revoking token " + id);
  }
}

bool isLifecycle(OperationKind kind) { return kind != OperationKind::UpdateEnv; }

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
        "WHERE sandbox_id = ? AND state = 'pending' AND kind != 'update_env'");
    SQLite::Statement& superseded = *supersededUse;
    superseded.bind(1, now);
    superseded.bind(2, op.sandboxId);
    superseded.exec();
  }
  auto insertUse = statements_.get(
      "INSERT INTO operations (sandbox, sandbox_id, kind, user, state, "
      "requested_at) VALUES (?, ?, ?, ?, 'pending', ?)");
  SQLite::Statement& insert = *insertUse;
  insert.bind(1, op.sandbox);
  insert.bind(2, op.sandboxId);
  insert.bind(3, toString(op.kind));
  insert.bind(4, op.user);
  insert.bind(5, static_cast<int64_t>(toUnixMillis(requested)));
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

StatusOr<std::vector<OperationRecord>> SqliteRegistryImpl::listOperations(
    const std::string& sandboxId, int limit, bool pendingOnly) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    storeQueuedFinishes(false);
    auto qUse = statements_.get(
        std::string("SELECT id, sandbox, sandbox_id, kind, user, state, "
        "error, requested_at, finished_at FROM operations "
        "WHERE sandbox_id = ?") +
        (pendingOnly ? " AND state = 'pending'" : "") +
        " ORDER BY id DESC LIMIT ?");
    SQLite::Statement& q = *qUse;
    q.bind(1, sandboxId);
    q.bind(2, limit);
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
      out.push_back(std::move(op));
    }
    return out;
  } catch (const std::exception& e) {
    return statusFromException(e, "listing the operations of sandbox id " + sandboxId);
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

Status SqliteRegistryImpl::putBlob(const std::string& kind, const std::string& name,
                                   const std::string& value) {
  if (kind.empty()) {
    return invalidArgument("blob kind must not be empty");
  }
  const SystemTime now = time_->systemTime();
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto qUse = statements_.get(
        "INSERT INTO blobs (kind, name, value, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (kind, name) DO UPDATE SET value = excluded.value, "
        "updated_at = excluded.updated_at");
    SQLite::Statement& q = *qUse;
    q.bind(1, kind);
    q.bind(2, name);
    // bind(const void*, size) stores a BLOB: any bytes round-trip. data() is never null, so
    // an empty value is an empty blob rather than NULL.
    q.bind(3, static_cast<const void*>(value.data()), static_cast<int>(value.size()));
    q.bind(4, static_cast<int64_t>(toUnixMillis(now)));
    q.exec();
    tx.commit();
    return Status::ok();
  } catch (const std::exception& e) {
    return statusFromException(e, "storing blob " + kind + "/" + name);
  }
}

StatusOr<std::string> SqliteRegistryImpl::getBlob(const std::string& kind,
                                                  const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    auto qUse = statements_.get("SELECT value FROM blobs WHERE kind = ? AND name = ?");
    SQLite::Statement& q = *qUse;
    q.bind(1, kind);
    q.bind(2, name);
    if (!q.executeStep()) {
      return notFound("blob " + kind + "/" + name + " not found");
    }
    return columnBytes(q.getColumn(0));
  } catch (const std::exception& e) {
    return statusFromException(e, "reading blob " + kind + "/" + name);
  }
}

Status SqliteRegistryImpl::deleteBlob(const std::string& kind, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto qUse = statements_.get("DELETE FROM blobs WHERE kind = ? AND name = ?");
    SQLite::Statement& q = *qUse;
    q.bind(1, kind);
    q.bind(2, name);
    if (q.exec() == 0) {
      return notFound("blob " + kind + "/" + name + " not found");
    }
    tx.commit();
    return Status::ok();
  } catch (const std::exception& e) {
    return statusFromException(e, "deleting blob " + kind + "/" + name);
  }
}

Status SqliteRegistryImpl::ping() {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    auto qUse = statements_.get("SELECT 1");
    SQLite::Statement& q = *qUse;
    q.executeStep();
    return Status::ok();
  } catch (const std::exception& e) {
    return statusFromException(e, "ping");
  }
}

int SqliteRegistryImpl::schemaVersion() {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    version_ = registry::readUserVersion(*db_);
  } catch (const std::exception&) {
    // Keep the last known version: this is informational (health/version output).
  }
  return version_;
}

// Opens and migrates; the connection comes back ready for use.
StatusOr<std::unique_ptr<SQLite::Database>> openAndMigrate(const std::string& path,
                                                           const SqliteRegistryOptions& options,
                                                           int& version) {
  ASSIGN_OR_RETURN(auto migrations, registry::loadMigrations(options.migrationsDir));
  std::unique_ptr<SQLite::Database> db;
  try {
    db = registry::openConnection(path, options.busyTimeoutMs);
  } catch (const std::exception& e) {
    return statusFromException(e, "opening database " + path);
  }
  ASSIGN_OR_RETURN(version, registry::applyMigrations(*db, migrations));
  return db;
}

}  // namespace

StatusOr<RegistryPtr> openSqliteRegistry(const std::string& path, TimeSourcePtr time,
                                         const SqliteRegistryOptions& options) {
  if (time == nullptr) {
    time = std::make_shared<RealTimeSource>();
  }
  int version = 0;
  ASSIGN_OR_RETURN(auto db, openAndMigrate(path, options, version));
  return RegistryPtr(
      std::make_shared<SqliteRegistryImpl>(std::move(db), path, std::move(time), version, options));
}

StatusOr<int> migrateDatabase(const std::string& path, const SqliteRegistryOptions& options) {
  int version = 0;
  ASSIGN_OR_RETURN(auto db, openAndMigrate(path, options, version));
  (void)db;
  return version;
}

}  // namespace sandboxd
