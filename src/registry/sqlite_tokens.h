// SqliteTokens: the tokens table of the SQLite registry (sqlite_registry.cc), on the registry's
// connection. Every call is made with the lock that guards that connection held, and throws
// SQLite::Exception; the registry turns those into a Status.
//
// Tokens that authenticated are held in memory by hash, valid while PRAGMA data_version equals
// the version they were read at: a token another process revokes (or removes) is refused at
// once, and this connection's own revocations drop them too. Expiry is checked against `now`
// on every call, held or not. A request then costs a hash and no query.
#pragma once

#include <SQLiteCpp/Database.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "registry/sqlite_util.h"
#include "sandboxd/common/random_generator.h"
#include "sandboxd/registry/registry.h"

namespace sandboxd::registry {

class SqliteTokens {
 public:
  SqliteTokens(SQLite::Database& db, StatementCache& statements, RandomGenerator& random)
      : db_(db), statements_(statements), random_(random) {}

  // Inserts a new token in a transaction of its own. InvalidArgument (no write) for an empty
  // user or an expiry not after `now`.
  StatusOr<NewToken> create(const std::string& user, bool admin, SystemTime now,
                            std::optional<SystemTime> expiresAt);
  // The token whose hash is `hash` if it is known, not revoked and not expired at `now`.
  // `dataVersion`: PRAGMA data_version now.
  std::optional<TokenInfo> authenticate(const std::string& hash, int64_t dataVersion,
                                        SystemTime now);
  std::vector<TokenInfo> list(const std::optional<std::string>& user);
  // Marks `id` revoked at `now` (kept as it is when already revoked); nullopt when unknown.
  std::optional<TokenInfo> revoke(const std::string& id, SystemTime now);

 private:
  std::optional<TokenInfo> byId(const std::string& id);

  SQLite::Database& db_;
  StatementCache& statements_;
  RandomGenerator& random_;
  std::map<std::string, TokenInfo> held_;  // by hash
  std::optional<int64_t> heldDataVersion_;
  static constexpr size_t kHeldTokens = 10000;
};

}  // namespace sandboxd::registry
