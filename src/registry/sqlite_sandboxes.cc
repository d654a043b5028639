// The SQLite registry's sandboxes table, and its rows held in memory
// (registry/sqlite_registry_impl.h).
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "registry/sqlite_registry_impl.h"
#include "sandboxd/common/heap.h"

namespace sandboxd::registry {

struct EncodedEnv {
  std::string env;   // JSON object
  std::string keys;  // JSON array
  std::string publicPorts;  // JSON array
};

namespace {


// The writable columns, user … expires_at in kSandboxColumns' order: each column's name, whether
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
    SANDBOXD_COLUMN("profile", profile, r.profile),
    WritableColumn{"idle_stop_minutes",
                   [](const SandboxRecord& a, const SandboxRecord& b) {
                     return a.idleStopMinutes != b.idleStopMinutes;
                   },
                   [](SQLite::Statement& q, int at, const SandboxRecord& r, const EncodedEnv&) {
                     if (r.idleStopMinutes) {
                       q.bind(at, int{*r.idleStopMinutes});
                     } else {
                       q.bind(at);
                     }
                   }},
    WritableColumn{"expires_at",
                   [](const SandboxRecord& a, const SandboxRecord& b) {
                     return a.expiresAt != b.expiresAt;
                   },
                   [](SQLite::Statement& q, int at, const SandboxRecord& r, const EncodedEnv&) {
                     if (r.expires()) {
                       q.bind(at, static_cast<int64_t>(toUnixMillis(r.expiresAt)));
                     } else {
                       q.bind(at);
                     }
                   }},
};
#undef SANDBOXD_COLUMN

// Binds the row's writable columns, user … expires_at in kSandboxColumns' order, to parameters
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

// last_activity_at is not a writable column: every write raises it (never lowers it).
constexpr const char* kSandboxColumns =
    "name, user, namespace, sandbox_id, image, env, secret_env_keys, storage, desired, purge, "
    "phase, reason, message, workload, public_ports, profile, idle_stop_minutes, expires_at, "
    "created_at, updated_at, version, last_activity_at";

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
  r.profile = q.getColumn(15).getString();
  if (!q.getColumn(16).isNull()) {
    r.idleStopMinutes = static_cast<uint16_t>(q.getColumn(16).getInt());
  }
  if (!q.getColumn(17).isNull()) {
    r.expiresAt = fromUnixMillis(q.getColumn(17).getInt64());
  }
  r.createdAt = fromUnixMillis(q.getColumn(18).getInt64());
  r.updatedAt = fromUnixMillis(q.getColumn(19).getInt64());
  r.version = q.getColumn(20).getInt64();
  r.lastActivityAt = fromUnixMillis(q.getColumn(21).getInt64());
  return r;
}

// A row as rows_ holds it: made in the long-lived objects' arena (common/heap.h), apart from
// the request's garbage it was read or written among. The scope only allocates; the caller's
// `record` is freed after it.
std::shared_ptr<SandboxRecord> heldRow(const SandboxRecord& record) {
  HeapArenaScope longLived(longLivedHeapArena());
  return std::make_shared<SandboxRecord>(record);
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

}  // namespace

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
  // Read in batches, each copied into the long-lived objects' arena under one scope (a scope
  // per row cost ~0.5 s at 100,000), the batch's records freed after it.
  constexpr size_t kBatch = 1024;
  std::vector<SandboxRecord> batch;
  batch.reserve(kBatch);
  const auto holdBatch = [&] {
    {
      HeapArenaScope longLived(longLivedHeapArena());
      for (const SandboxRecord& record : batch) {
        holdRow(record.name, heldRow(record));
      }
    }
    batch.clear();
  };
  bool more = q.executeStep();
  while (more) {
    std::string name = q.getColumn(0).getString();
    try {
      batch.push_back(readSandbox(q));
    } catch (const SQLite::Exception&) {
      throw;
    } catch (const std::exception& e) {
      corruptRows_.emplace(std::move(name), e.what());  // only its own reads fail
    }
    more = q.executeStep();
    if (batch.size() == kBatch || !more) {
      holdBatch();
    }
  }
  rowsDataVersion_ = dataVersion;
  return rows_;
}

void SqliteRegistryImpl::holdRow(const std::string& name, SandboxRecordPtr row) {
  const auto held = rows_.find(name);
  if (held != rows_.end()) {
    held->second = std::move(row);  // frees the row it held: outside the scope below
    return;
  }
  HeapArenaScope longLived(longLivedHeapArena());  // the map's node and its copy of the name
  rows_.emplace(name, std::move(row));
}

void SqliteRegistryImpl::rowWritten(const std::string& name, SandboxRecordPtr written) {
  if (!rowsDataVersion_) {
    return;  // not read yet: the next read reads them all
  }
  try {
    corruptRows_.erase(name);
    if (written != nullptr) {
      holdRow(name, std::move(written));
      return;
    }
    rows_.erase(name);
    auto qUse = statements_.get(std::string("SELECT ") + kSandboxColumns +
                                " FROM sandboxes WHERE name = ?");
    SQLite::Statement& q = *qUse;
    q.bind(1, name);
    if (q.executeStep()) {
      holdRow(name, heldRow(readSandbox(q)));
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
  return insertRow(record, nullptr).status();
}

StatusOr<int64_t> SqliteRegistryImpl::insertSandboxWithOperation(const SandboxRecord& record,
                                                                 const OperationRecord& op) {
  RETURN_IF_ERROR(validateOperation(op));
  return insertRow(record, &op);
}

StatusOr<int64_t> SqliteRegistryImpl::insertRow(const SandboxRecord& record,
                                                const OperationRecord* op) {
  RETURN_IF_ERROR(validateRecord(record));
  ASSIGN_OR_RETURN(EncodedEnv encoded, encodeEnv(record));
  const SystemTime now = time_->systemTime();
  const SystemTime created = record.createdAt == SystemTime{} ? now : record.createdAt;
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto qUse = statements_.get(
        std::string("INSERT INTO sandboxes (") + kSandboxColumns +
        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)");
    SQLite::Statement& q = *qUse;
    q.bind(1, record.name);
    const int next = bindWritableColumns(q, 2, record, encoded);
    q.bind(next, static_cast<int64_t>(toUnixMillis(created)));
    q.bind(next + 1, static_cast<int64_t>(toUnixMillis(now)));
    const SystemTime active = std::max(record.lastActivityAt, created);
    q.bind(next + 2, static_cast<int64_t>(toUnixMillis(active)));
    try {
      q.exec();
    } catch (const SQLite::Exception& e) {
      if (e.getExtendedErrorCode() == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return alreadyExists("sandbox name already taken: " + record.name);
      }
      throw;
    }
    // The row as stored: the record's columns, both times to the millisecond, version 1.
    auto row = heldRow(record);
    row->createdAt = fromUnixMillis(toUnixMillis(created));
    row->updatedAt = fromUnixMillis(toUnixMillis(now));
    row->lastActivityAt = fromUnixMillis(toUnixMillis(active));
    row->version = 1;
    const int64_t operation = op != nullptr ? insertOperation(*op) : 0;
    tx.commit();
    rowWritten(record.name, std::move(row));
    return operation;
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
  sql += "last_activity_at = max(last_activity_at, ?), updated_at = ?, "
         "version = version + 1 WHERE name = ? AND version = ?";
  auto qUse = statements_.get(sql);
  SQLite::Statement& q = *qUse;
  int next = 1;
  for (const WritableColumn& column : kWritableColumns) {
    if (set(column)) {
      column.bind(q, next++, record, encoded);
    }
  }
  q.bind(next, static_cast<int64_t>(toUnixMillis(record.lastActivityAt)));
  q.bind(next + 1, static_cast<int64_t>(toUnixMillis(now)));
  q.bind(next + 2, record.name);
  q.bind(next + 3, static_cast<int64_t>(record.version));
  if (q.exec() == 1) {
    if (stored != nullptr) {
      // The record's columns over the stored row: the rest is what this statement set. No other
      // connection can commit before ours (this transaction holds the write lock), so the
      // rows held stay current.
      auto row = heldRow(record);
      row->createdAt = stored->createdAt;
      row->updatedAt = fromUnixMillis(toUnixMillis(now));
      row->lastActivityAt = std::max(stored->lastActivityAt,
                                     fromUnixMillis(toUnixMillis(record.lastActivityAt)));
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

Status SqliteRegistryImpl::recordActivity(const std::vector<Activity>& batch) {
  if (batch.empty()) {
    return Status::ok();
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<const Activity*, int64_t>> raised;
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto qUse = statements_.get(
        "UPDATE sandboxes SET last_activity_at = ? "
        "WHERE name = ? AND sandbox_id = ? AND last_activity_at < ?");
    SQLite::Statement& q = *qUse;
    for (const Activity& activity : batch) {
      const auto at = static_cast<int64_t>(toUnixMillis(activity.at));
      q.reset();
      q.bind(1, at);
      q.bind(2, activity.name);
      q.bind(3, activity.sandboxId);
      q.bind(4, at);
      if (q.exec() == 1) {
        raised.emplace_back(&activity, at);
      }
    }
    tx.commit();
  } catch (const std::exception& e) {
    rowsDataVersion_.reset();
    return statusFromException(e, "recording the activity of " + std::to_string(batch.size()) +
                                      " sandboxes");
  }
  // The rows held in memory take the new times; the version stays (activity is no intent).
  if (rowsDataVersion_) {
    for (const auto& [activity, at] : raised) {
      auto row = rows_.find(activity->name);
      if (row != rows_.end()) {
        auto copy = heldRow(*row->second);
        copy->lastActivityAt = std::max(copy->lastActivityAt, fromUnixMillis(at));
        row->second = std::move(copy);
      }
    }
  }
  return Status::ok();
}

}  // namespace sandboxd::registry
