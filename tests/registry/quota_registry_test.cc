// The registry's per-user quota overrides (schema 5): stored, replaced, read by another
// connection, removed.
#include <gtest/gtest.h>

#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "sandboxd/registry/registry.h"
#include "support/test_dir.h"

namespace sandboxd {
namespace {

TEST(QuotaRegistry, OverridesAreStoredReplacedAndRemoved) {
  testing::TestDir dir("sandboxd-quota-registry");
  const std::string path = (dir / "sandboxd.db").string();
  auto time = std::make_shared<testing::SimulatedTimeSource>();
  auto registry = openSqliteRegistry(path, time);
  ASSERT_OK(registry);
  auto other = openSqliteRegistry(path, time);
  ASSERT_OK(other);

  auto none = (*registry)->getUserQuota("alice");
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());

  UserQuota quota;
  quota.user = "alice";
  quota.maxSandboxes = 5;
  quota.maxStorage = "";  // set: unlimited storage for alice
  ASSERT_OK((*registry)->putUserQuota(quota));
  auto stored = (*other)->getUserQuota("alice");
  ASSERT_OK(stored);
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->maxSandboxes, std::optional<int64_t>(5));
  EXPECT_FALSE((*stored)->maxRunning.has_value()) << "unset: the configured limit";
  EXPECT_EQ((*stored)->maxStorage, std::optional<std::string>(""));

  quota.maxSandboxes.reset();
  quota.maxRunning = 0;
  ASSERT_OK((*other)->putUserQuota(quota));
  stored = (*registry)->getUserQuota("alice");
  ASSERT_OK(stored);
  EXPECT_FALSE((**stored).maxSandboxes.has_value()) << "a put replaces the whole override";
  EXPECT_EQ((**stored).maxRunning, std::optional<int64_t>(0));

  EXPECT_FALSE((*(*registry)->getUserQuota("bob")).has_value());
  EXPECT_TRUE(*(*registry)->deleteUserQuota("alice"));
  EXPECT_FALSE(*(*registry)->deleteUserQuota("alice"));
  EXPECT_FALSE((*(*other)->getUserQuota("alice")).has_value());
}

}  // namespace
}  // namespace sandboxd
