#include "api/session_store.h"

#include <algorithm>

namespace sandboxd::api {
namespace {
constexpr size_t kSessionIdBytes = 32;
}  // namespace

std::string SessionStore::create(Session session, SystemTime now) {
  std::string id = random_->secureHex(kSessionIdBytes);
  const std::string key = sha256Hex(id);
  std::lock_guard<std::mutex> lock(mu_);
  if (sessions_.size() >= kMaxSessions) {
    dropExpired(now);
  }
  if (sessions_.size() >= kMaxSessions) {
    // Still full of live sessions: the one closest to its end goes.
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(),
                                   [](const auto& a, const auto& b) {
                                     return a.second.expiresAt < b.second.expiresAt;
                                   });
    sessions_.erase(oldest);
  }
  sessions_[key] = std::move(session);
  return id;
}

std::optional<Session> SessionStore::find(const std::string& id, SystemTime now) {
  if (id.size() != kSessionIdBytes * 2) {
    return std::nullopt;
  }
  const std::string key = sha256Hex(id);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) {
    return std::nullopt;
  }
  if (now >= it->second.expiresAt) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void SessionStore::remove(const std::string& id) {
  const std::string key = sha256Hex(id);
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(key);
}

size_t SessionStore::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

void SessionStore::dropExpired(SystemTime now) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = now >= it->second.expiresAt ? sessions_.erase(it) : std::next(it);
  }
}

}  // namespace sandboxd::api
