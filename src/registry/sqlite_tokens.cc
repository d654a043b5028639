#include "registry/sqlite_tokens.h"

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

namespace sandboxd::registry {
namespace {

constexpr const char* kTokenPrefix = "sbx_";
constexpr size_t kTokenBytes = 32;
constexpr size_t kTokenIdBytes = 8;

constexpr const char* kTokenColumns = "id, user, admin, created_at, expires_at, revoked_at";

std::optional<SystemTime> optionalTime(const SQLite::Column& column) {
  if (column.isNull()) {
    return std::nullopt;
  }
  return fromUnixMillis(column.getInt64());
}

// Reads a row selected with kTokenColumns.
TokenInfo readToken(SQLite::Statement& q) {
  TokenInfo info;
  info.id = q.getColumn(0).getString();
  info.user = q.getColumn(1).getString();
  info.admin = q.getColumn(2).getInt() != 0;
  info.createdAt = fromUnixMillis(q.getColumn(3).getInt64());
  info.expiresAt = optionalTime(q.getColumn(4));
  info.revokedAt = optionalTime(q.getColumn(5));
  return info;
}

bool expired(const TokenInfo& token, SystemTime now) {
  return token.expiresAt && now >= *token.expiresAt;
}

}  // namespace
}  // namespace sandboxd::registry

namespace sandboxd {

const char* tokenState(const TokenInfo& token, SystemTime now) {
  if (token.revokedAt) {
    return "revoked";
  }
  return registry::expired(token, now) ? "expired" : "active";
}

}  // namespace sandboxd

namespace sandboxd::registry {

StatusOr<NewToken> SqliteTokens::create(const std::string& user, bool admin, SystemTime now,
                                        std::optional<SystemTime> expiresAt) {
  if (user.empty()) {
    return invalidArgument("token user must not be empty");
  }
  if (expiresAt && toUnixMillis(*expiresAt) <= toUnixMillis(now)) {
    return invalidArgument("token expiry must be in the future");
  }
  NewToken created;
  created.token = kTokenPrefix + random_.secureHex(kTokenBytes);
  created.info.id = "tok_" + random_.secureHex(kTokenIdBytes);
  created.info.user = user;
  created.info.admin = admin;
  // As stored (millisecond precision), so that what is returned equals what is listed.
  created.info.createdAt = fromUnixMillis(toUnixMillis(now));
  if (expiresAt) {
    created.info.expiresAt = fromUnixMillis(toUnixMillis(*expiresAt));
  }
  SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
  auto qUse = statements_.get(
      "INSERT INTO tokens (id, user, admin, token_hash, created_at, expires_at) "
      "VALUES (?, ?, ?, ?, ?, ?)");
  SQLite::Statement& q = *qUse;
  q.bind(1, created.info.id);
  q.bind(2, user);
  q.bind(3, admin ? 1 : 0);
  q.bind(4, sha256Hex(created.token));
  q.bind(5, static_cast<int64_t>(toUnixMillis(created.info.createdAt)));
  if (expiresAt) {
    q.bind(6, static_cast<int64_t>(toUnixMillis(*created.info.expiresAt)));
  } else {
    q.bind(6);  // NULL
  }
  q.exec();
  tx.commit();
  return created;
}

std::optional<TokenInfo> SqliteTokens::authenticate(const std::string& hash, int64_t dataVersion,
                                                    SystemTime now) {
  if (heldDataVersion_ != dataVersion || held_.size() >= kHeldTokens) {
    held_.clear();
    heldDataVersion_ = dataVersion;
  }
  if (const auto held = held_.find(hash); held != held_.end()) {
    if (expired(held->second, now)) {
      return std::nullopt;
    }
    return held->second;
  }
  auto qUse = statements_.get(std::string("SELECT ") + kTokenColumns +
                              ", token_hash FROM tokens WHERE token_hash = ?");
  SQLite::Statement& q = *qUse;
  q.bind(1, hash);
  if (!q.executeStep() || !constantTimeEquals(q.getColumn(6).getString(), hash)) {
    return std::nullopt;
  }
  TokenInfo info = readToken(q);
  if (info.revokedAt || expired(info, now)) {
    return std::nullopt;  // not held: a revoked token is never held, an expired one stays out
  }
  held_.emplace(hash, info);
  return info;
}

std::vector<TokenInfo> SqliteTokens::list(const std::optional<std::string>& user) {
  auto qUse = statements_.get(
      std::string("SELECT ") + kTokenColumns +
      (user ? " FROM tokens WHERE user = ? ORDER BY created_at, id"
            : " FROM tokens ORDER BY created_at, id"));
  SQLite::Statement& q = *qUse;
  if (user) {
    q.bind(1, *user);
  }
  std::vector<TokenInfo> out;
  while (q.executeStep()) {
    out.push_back(readToken(q));
  }
  return out;
}

std::optional<TokenInfo> SqliteTokens::byId(const std::string& id) {
  auto qUse = statements_.get(std::string("SELECT ") + kTokenColumns + " FROM tokens WHERE id = ?");
  SQLite::Statement& q = *qUse;
  q.bind(1, id);
  if (!q.executeStep()) {
    return std::nullopt;
  }
  return readToken(q);
}

std::optional<TokenInfo> SqliteTokens::revoke(const std::string& id, SystemTime now) {
  SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
  {
    auto qUse =
        statements_.get("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
    SQLite::Statement& q = *qUse;
    q.bind(1, static_cast<int64_t>(toUnixMillis(now)));
    q.bind(2, id);
    q.exec();
  }
  std::optional<TokenInfo> stored = byId(id);
  tx.commit();
  // This connection's own commit leaves its data_version as it was: drop what is held.
  held_.clear();
  heldDataVersion_.reset();
  return stored;
}

}  // namespace sandboxd::registry
