// The forward-auth session store: expiry by the given time, removal, and its bound.
#include <gtest/gtest.h>

#include "api/forward_auth.h"
#include "api/session_store.h"
#include "fakes/simulated_time_source.h"

namespace sandboxd::api {
namespace {

using std::chrono::seconds;

TEST(SessionStoreTest, ASessionLivesUntilItsExpiryAndCanBeRemoved) {
  testing::SimulatedTimeSource time;
  SessionStore store(std::make_shared<RandomGeneratorImpl>());
  const SystemTime now = time.systemTime();
  const std::string a = store.create({"hash-a", "alice", now + seconds(10)}, now);
  const std::string b = store.create({"hash-b", "bob", now + seconds(20)}, now);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, b);
  auto found = store.find(a, now + seconds(9));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->user, "alice");
  EXPECT_EQ(found->tokenSha256, "hash-a");
  EXPECT_FALSE(store.find(a, now + seconds(10)));
  EXPECT_EQ(store.size(), 1u);  // the expired one is gone
  store.remove(b);
  EXPECT_FALSE(store.find(b, now));
  EXPECT_FALSE(store.find("", now));
  EXPECT_FALSE(store.find(std::string(64, '0'), now));
}

TEST(SessionStoreTest, AFullStoreDropsExpiredSessionsThenTheOneEndingFirst) {
  testing::SimulatedTimeSource time;
  SessionStore store(std::make_shared<RandomGeneratorImpl>());
  const SystemTime now = time.systemTime();
  const std::string first = store.create({"h", "u", now + seconds(5)}, now);
  for (size_t i = 1; i < SessionStore::kMaxSessions; ++i) {
    store.create({"h", "u", now + seconds(100)}, now);
  }
  ASSERT_EQ(store.size(), SessionStore::kMaxSessions);
  const std::string next = store.create({"h", "u", now + seconds(100)}, now);
  EXPECT_EQ(store.size(), SessionStore::kMaxSessions);
  EXPECT_FALSE(store.find(first, now));  // the one ending first made room
  EXPECT_TRUE(store.find(next, now));
}

TEST(ForwardAuthCookieTest, FindsTheSessionCookieAmongOthers) {
  const std::string id(64, 'a');
  EXPECT_EQ(ForwardAuth::sessionIdOf("sandboxd_session=" + id), id);
  EXPECT_EQ(ForwardAuth::sessionIdOf("a=b; sandboxd_session=" + id + "; c=d"), id);
  EXPECT_EQ(ForwardAuth::sessionIdOf("sandboxd_session=\"" + id + "\""), id);
  EXPECT_FALSE(ForwardAuth::sessionIdOf(""));
  EXPECT_FALSE(ForwardAuth::sessionIdOf("sandboxd_session=short"));
  EXPECT_FALSE(ForwardAuth::sessionIdOf("xsandboxd_session=" + id));
  EXPECT_FALSE(ForwardAuth::sessionIdOf("sandboxd_session=" + std::string(64, 'G')));
}

}  // namespace
}  // namespace sandboxd::api
