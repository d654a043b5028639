// RateLimiter: a token bucket per user for the HTTP API (config server.rateLimit). Each user's
// bucket holds up to `burst` requests and refills at `requestsPerSecond`; a request that finds
// it empty is answered 429 with Retry-After (the whole seconds until a request fits again).
// Time comes from the caller (the server's TimeSource), so tests drive it by hand.
//
// Memory: one small entry per user seen recently. When more than kMaxUsers are held, buckets
// that have refilled completely (idle users, indistinguishable from new ones) are dropped.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "sandboxd/common/time_source.h"
#include "sandboxd/config/config.h"

namespace sandboxd::api {

class RateLimiter {
 public:
  explicit RateLimiter(const RateLimitConfig& config);

  // Whether the limit applies at all (requestsPerSecond > 0).
  bool enabled() const { return rate_ > 0; }
  // Takes one request from `user`'s bucket at `now`. nullopt: allowed; else refused, and the
  // wait until one would be allowed (rounded up to whole seconds, at least 1) for Retry-After.
  // Admins pass without a bucket when the config exempts them. Thread-safe.
  std::optional<std::chrono::seconds> acquire(const std::string& user, bool admin,
                                              MonotonicTime now);

  size_t heldUsers() const;
  static constexpr size_t kMaxUsers = 100000;

 private:
  struct Bucket {
    double tokens;
    MonotonicTime at;
  };
  double refilled(const Bucket& b, MonotonicTime now) const;
  void dropIdle(MonotonicTime now);  // mu_ held

  const double rate_;   // requests per second
  const double burst_;  // bucket size
  const bool adminsExempt_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace sandboxd::api
