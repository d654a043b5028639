// SessionStore: the forward-auth sessions (forward_auth.h), held in memory only. A session is
// made by a sign-in with an API token and names that token by its hash (never the token), so
// that each check can ask the registry whether the token is still valid: a revoked or expired
// token ends its sessions at once. Sessions are not kept across restarts (users sign in
// again); at most kMaxSessions are held (expired ones are dropped first, then the oldest).
//
// The session id is the cookie's value: 32 random bytes, hex. The store keys sessions by the
// id's SHA-256, so the map never compares a guess against a live id byte by byte.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "sandboxd/common/random_generator.h"
#include "sandboxd/common/time_source.h"

namespace sandboxd::api {

struct Session {
  std::string tokenSha256;  // the token it was signed in with
  std::string user;         // as the token said at sign-in (the check asks the registry again)
  SystemTime expiresAt{};
};

class SessionStore {
 public:
  explicit SessionStore(RandomGeneratorPtr random) : random_(std::move(random)) {}

  // A new session; returns its id (the cookie value).
  std::string create(Session session, SystemTime now);
  // The session `id` names, if it has not expired at `now`.
  std::optional<Session> find(const std::string& id, SystemTime now);
  // Forgets session `id` (sign-out, or its token found revoked).
  void remove(const std::string& id);
  size_t size() const;

  static constexpr size_t kMaxSessions = 100000;

 private:
  void dropExpired(SystemTime now);  // mu_ held

  const RandomGeneratorPtr random_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Session> sessions_;  // by sha256(id)
};

}  // namespace sandboxd::api
