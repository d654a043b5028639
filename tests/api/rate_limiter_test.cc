// The per-user request rate limit: the token bucket alone with simulated time, and through the
// server (429, Retry-After, the JSON error; other users and admins unaffected).
#include <gtest/gtest.h>

#include "api/api_test_support.h"
#include "api/rate_limiter.h"
#include "fakes/simulated_time_source.h"

namespace sandboxd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

RateLimitConfig limit(int rps, int burst, bool adminsExempt = true) {
  RateLimitConfig c;
  c.requestsPerSecond = rps;
  c.burst = burst;
  c.adminsExempt = adminsExempt;
  return c;
}

TEST(RateLimiterTest, ABurstPassesThenTheSustainedRate) {
  SimulatedTimeSource time;
  api::RateLimiter limiter(limit(2, 4));
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(limiter.acquire("alice", false, time.monotonicTime())) << i;
  }
  auto refused = limiter.acquire("alice", false, time.monotonicTime());
  ASSERT_TRUE(refused);
  EXPECT_EQ(*refused, seconds(1));  // half a second, rounded up
  // Refusals take nothing: half a second later exactly one more fits.
  time.advance(milliseconds(500));
  EXPECT_FALSE(limiter.acquire("alice", false, time.monotonicTime()));
  EXPECT_TRUE(limiter.acquire("alice", false, time.monotonicTime()));
  // Over 10 s at 2/s: 20 more, not 21.
  int allowed = 0;
  for (int step = 0; step < 100; ++step) {
    time.advance(milliseconds(100));
    while (!limiter.acquire("alice", false, time.monotonicTime())) {
      ++allowed;
    }
  }
  EXPECT_EQ(allowed, 20);
}

TEST(RateLimiterTest, AnIdleUserGetsTheBurstBackButNoMore) {
  SimulatedTimeSource time;
  api::RateLimiter limiter(limit(1, 3));
  for (int i = 0; i < 3; ++i) {
    ASSERT_FALSE(limiter.acquire("alice", false, time.monotonicTime()));
  }
  ASSERT_TRUE(limiter.acquire("alice", false, time.monotonicTime()));
  time.advance(std::chrono::hours(1));
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(limiter.acquire("alice", false, time.monotonicTime())) << i;
  }
  EXPECT_TRUE(limiter.acquire("alice", false, time.monotonicTime()));
}

TEST(RateLimiterTest, RetryAfterSaysWhenARequestFitsAgain) {
  SimulatedTimeSource time;
  api::RateLimiter limiter(limit(1, 1));
  ASSERT_FALSE(limiter.acquire("alice", false, time.monotonicTime()));
  time.advance(milliseconds(100));
  auto wait = limiter.acquire("alice", false, time.monotonicTime());
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, seconds(1));
  time.advance(*wait);
  EXPECT_FALSE(limiter.acquire("alice", false, time.monotonicTime()));
}

TEST(RateLimiterTest, UsersHaveSeparateBucketsAndAdminsAreExemptWhenConfigured) {
  SimulatedTimeSource time;
  api::RateLimiter limiter(limit(1, 1));
  ASSERT_FALSE(limiter.acquire("alice", false, time.monotonicTime()));
  EXPECT_TRUE(limiter.acquire("alice", false, time.monotonicTime()));
  EXPECT_FALSE(limiter.acquire("bob", false, time.monotonicTime()));
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(limiter.acquire("root", true, time.monotonicTime()));
  }
  api::RateLimiter strict(limit(1, 1, /*adminsExempt=*/false));
  ASSERT_FALSE(strict.acquire("root", true, time.monotonicTime()));
  EXPECT_TRUE(strict.acquire("root", true, time.monotonicTime()));
}

TEST(RateLimiterTest, OffWhenTheRateIsZero) {
  SimulatedTimeSource time;
  api::RateLimiter limiter(limit(0, 1));
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 1000; ++i) {
    ASSERT_FALSE(limiter.acquire("alice", false, time.monotonicTime()));
  }
  EXPECT_EQ(limiter.heldUsers(), 0u);
}

TEST(RateLimiterTest, IdleUsersAreDroppedWhenManyAreHeld) {
  SimulatedTimeSource time;
  api::RateLimiter limiter(limit(1, 2));
  for (size_t i = 0; i < api::RateLimiter::kMaxUsers; ++i) {
    ASSERT_FALSE(limiter.acquire("u" + std::to_string(i), false, time.monotonicTime()));
  }
  ASSERT_FALSE(limiter.acquire("busy", false, time.monotonicTime()));  // over the cap: kept
  ASSERT_FALSE(limiter.acquire("busy", false, time.monotonicTime()));
  time.advance(seconds(1));  // the others refill completely; "busy" only half
  ASSERT_FALSE(limiter.acquire("newcomer", false, time.monotonicTime()));
  EXPECT_EQ(limiter.heldUsers(), 2u);  // "busy" and "newcomer"
  // "busy" kept its state: one request fits, not two.
  EXPECT_FALSE(limiter.acquire("busy", false, time.monotonicTime()));
  EXPECT_TRUE(limiter.acquire("busy", false, time.monotonicTime()));
}

class RateLimitedApiTest : public ApiServerFixture {
 protected:
  void configure(ServerConfig& config) override { config.rateLimit = limit(2, 3); }
  void configureOptions(api::ApiServerOptions& options) override { options.time = time_; }
  std::shared_ptr<SimulatedTimeSource> time_ = std::make_shared<SimulatedTimeSource>();
};

TEST_F(RateLimitedApiTest, AUserOverTheLimitGets429WithRetryAfterAndOthersDoNot) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(call("GET", "/api/v1/sandboxes", kAliceToken).status, 200) << i;
  }
  auto refused = call("GET", "/api/v1/sandboxes", kAliceToken);
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.header("retry-after"), "1");
  EXPECT_EQ(refused.errorCode(), "throttled");
  EXPECT_NE(refused.json()["error"]["message"].get<std::string>().find("rate limit"),
            std::string::npos);
  // A throttled create does not reach the manager.
  EXPECT_EQ(createAs(kAliceToken, "demo").status, 429);
  EXPECT_EQ(call("GET", "/api/v1/sandboxes/demo", kAdminToken).status, 404);

  EXPECT_EQ(call("GET", "/api/v1/sandboxes", kBobToken).status, 200);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(call("GET", "/api/v1/sandboxes", kAdminToken).status, 200);
  }
  // Unauthenticated requests are 401, not counted against anyone.
  EXPECT_EQ(call("GET", "/api/v1/sandboxes", "nope").status, 401);

  time_->advance(std::chrono::milliseconds(500));
  EXPECT_EQ(call("GET", "/api/v1/sandboxes", kAliceToken).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/sandboxes", kAliceToken).status, 429);
}

}  // namespace
}  // namespace sandboxd::testing
