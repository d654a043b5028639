#include "api/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace sandboxd::api {

RateLimiter::RateLimiter(const RateLimitConfig& config)
    : rate_(std::max(0, config.requestsPerSecond)),
      burst_(std::max(1, config.burst)),
      adminsExempt_(config.adminsExempt) {}

double RateLimiter::refilled(const Bucket& b, MonotonicTime now) const {
  const double elapsed = std::chrono::duration<double>(now - b.at).count();
  return std::min(burst_, b.tokens + std::max(0.0, elapsed) * rate_);
}

std::optional<std::chrono::seconds> RateLimiter::acquire(const std::string& user, bool admin,
                                                         MonotonicTime now) {
  if (!enabled() || (admin && adminsExempt_)) {
    return std::nullopt;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(user);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxUsers) {
      dropIdle(now);
    }
    it = buckets_.emplace(user, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = refilled(b, now);
  b.at = std::max(b.at, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  const double wait = (1.0 - b.tokens) / rate_;
  return std::chrono::seconds(std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait))));
}

void RateLimiter::dropIdle(MonotonicTime now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (refilled(it->second, now) >= burst_) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t RateLimiter::heldUsers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

}  // namespace sandboxd::api
