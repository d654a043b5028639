// The SQLite registry's connection, tokens, blobs and opening (the class and how it works:
// registry/sqlite_registry_impl.h).
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <spdlog/spdlog.h>

#include "registry/migrations.h"
#include "registry/sqlite_registry_impl.h"

namespace sandboxd {
namespace registry {
namespace {

std::string columnBytes(const SQLite::Column& column) {
  const int n = column.getBytes();
  if (n <= 0) {
    return {};
  }
  return std::string(static_cast<const char*>(column.getBlob()), static_cast<size_t>(n));
}

}  // namespace

std::unique_ptr<WalCheckpointer> SqliteRegistryImpl::startCheckpointer(
    SQLite::Database& db, const std::string& path, const SqliteRegistryOptions& options) {
  if (options.checkpointPages <= 0 || registry::isInMemory(path)) {
    return nullptr;
  }
  try {
    return std::make_unique<WalCheckpointer>(db, path, options.busyTimeoutMs,
                                             options.checkpointPages);
  } catch (const std::exception& e) {
    spdlog::warn("registry: the write-ahead log is checkpointed in the commits that fill it ({})",
                 e.what());
    return nullptr;
  }
}

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

namespace {

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
}  // namespace registry

StatusOr<RegistryPtr> openSqliteRegistry(const std::string& path, TimeSourcePtr time,
                                         const SqliteRegistryOptions& options) {
  if (time == nullptr) {
    time = std::make_shared<RealTimeSource>();
  }
  int version = 0;
  ASSIGN_OR_RETURN(auto db, registry::openAndMigrate(path, options, version));
  return RegistryPtr(std::make_shared<registry::SqliteRegistryImpl>(std::move(db), path,
                                                                     std::move(time), version,
                                                                     options));
}

StatusOr<int> migrateDatabase(const std::string& path, const SqliteRegistryOptions& options) {
  int version = 0;
  ASSIGN_OR_RETURN(auto db, registry::openAndMigrate(path, options, version));
  (void)db;
  return version;
}

}  // namespace sandboxd
