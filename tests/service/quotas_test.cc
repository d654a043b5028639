// Per-user quotas: the limits and checks (pure), and the manager holding them under
// concurrency: a user's creates racing at a limit never pass it, and a refused create makes
// nothing (no registry row, no cluster object).
#include "sandboxd/service/quotas.h"

#include <atomic>
#include <thread>

#include "sandboxd/registry/registry.h"
#include "sandboxd/service/sandbox_manager.h"
#include "service/service_fixture.h"

namespace sandboxd {
namespace {

using testing::ManagerFixture;

SandboxRecordPtr row(const std::string& name, DesiredState desired, const std::string& storage) {
  auto r = std::make_shared<SandboxRecord>();
  r->name = name;
  r->desired = desired;
  r->storage = storage;
  return r;
}

TEST(QuotaChecks, UsageCountsLiveSandboxesAndTheLimitsNameThemselves) {
  const std::vector<SandboxRecordPtr> rows = {row("a", DesiredState::Running, "5Gi"),
                                              row("b", DesiredState::Stopped, "10Gi"),
                                              row("c", DesiredState::Deleted, "50Gi")};
  QuotaUsage usage = quotaUsage(rows);
  EXPECT_EQ(usage.sandboxes, 2);
  EXPECT_EQ(usage.running, 1);
  EXPECT_EQ(usage.storageBytes, int64_t{15} << 30);
  EXPECT_EQ(quotaUsage(rows, "b").sandboxes, 1);

  QuotaConfig limits;
  EXPECT_OK(checkCreateQuota(limits, usage, "100Gi")) << "0 / empty: unlimited";
  limits.maxSandboxes = 2;
  auto full = checkCreateQuota(limits, usage, "1Gi");
  EXPECT_KIND(full, QuotaExceeded);
  EXPECT_NE(full.message().find("maxSandboxes"), std::string::npos) << full.message();
  limits = {};
  limits.maxRunning = 1;
  EXPECT_NE(checkStartQuota(limits, usage).message().find("maxRunning"), std::string::npos);
  EXPECT_KIND(checkCreateQuota(limits, usage, "1Gi"), QuotaExceeded) << "a new one runs";
  limits = {};
  limits.maxStorage = "20Gi";
  EXPECT_OK(checkCreateQuota(limits, usage, "5Gi"));
  auto big = checkCreateQuota(limits, usage, "6Gi");
  EXPECT_NE(big.message().find("maxStorage"), std::string::npos) << big.message();

  UserQuota adminOverride;
  adminOverride.maxRunning = 0;  // unlimited for this user
  adminOverride.maxStorage = "1Ti";
  QuotaConfig configured{3, 2, "50Gi"};
  QuotaConfig applied = effectiveQuota(configured, adminOverride);
  EXPECT_EQ(applied.maxSandboxes, 3);
  EXPECT_EQ(applied.maxRunning, 0);
  EXPECT_EQ(applied.maxStorage, "1Ti");
  adminOverride.maxSandboxes = -1;
  EXPECT_KIND(validateUserQuota(adminOverride), InvalidArgument);
}

class QuotaManagerTest : public ManagerFixture {
 protected:
  void withQuotas(const QuotaConfig& quotas) {
    config_.quotas = quotas;
    manager_ = makeSandboxManager(registry_, service_, cluster_, config_, time_, locks_,
                                  recorder_);
  }
  CreateRequest request(const std::string& name, const std::string& storage = "") {
    CreateRequest r;
    r.name = name;
    r.storage = storage;
    return r;
  }
  size_t statefulSets() {
    auto list = cluster_->list(resources::statefulSets(), "default", {});
    return list.isOk() ? (*list)["items"].size() : 0;
  }
};

TEST_F(QuotaManagerTest, TwentyConcurrentCreatesAtALimitOfThreeMakeExactlyThree) {
  withQuotas({3, 0, ""});
  std::atomic<int> created{0};
  std::atomic<int> refused{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      auto result = manager_->create(alice_, request("race-" + std::to_string(i)));
      if (result.isOk()) {
        ++created;
      } else if (result.status().kind() == ErrorKind::QuotaExceeded) {
        ++refused;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(created.load(), 3);
  EXPECT_EQ(refused.load(), 17);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(registry_->listSandboxes(std::string("alice"))->size(), 3u);
  EXPECT_EQ(statefulSets(), 3u) << "refused creates leave no cluster object";
  // Another user's limit is their own.
  EXPECT_OK(manager_->create(bob_, request("bobs")));
}

TEST_F(QuotaManagerTest, MaxRunningHoldsAtCreateAndStartAndStorageSums) {
  withQuotas({0, 1, "12Gi"});
  ASSERT_OK(manager_->create(alice_, request("one", "5Gi")));
  auto second = manager_->create(alice_, request("two", "5Gi"));
  EXPECT_KIND(second, QuotaExceeded);
  EXPECT_NE(second.status().message().find("maxRunning"), std::string::npos);
  ASSERT_OK(manager_->stop(alice_, "one"));
  ASSERT_OK(manager_->create(alice_, request("two", "5Gi")));
  auto start = manager_->start(alice_, "one");
  EXPECT_KIND(start, QuotaExceeded);
  EXPECT_EQ(registry_->getSandbox("one")->desired, DesiredState::Stopped) << "nothing changed";
  EXPECT_OK(manager_->start(alice_, "two")) << "already running: no change, no check";
  ASSERT_OK(manager_->stop(alice_, "two"));
  EXPECT_OK(manager_->start(alice_, "one"));
  ASSERT_OK(manager_->stop(alice_, "one"));

  auto storage = manager_->create(alice_, request("three", "5Gi"));  // 15Gi > 12Gi
  EXPECT_KIND(storage, QuotaExceeded);
  EXPECT_NE(storage.status().message().find("maxStorage"), std::string::npos);
  // A deleted sandbox no longer counts.
  ASSERT_OK(manager_->remove(alice_, "two", true));
  EXPECT_OK(manager_->create(alice_, request("three", "5Gi")));
}

TEST_F(QuotaManagerTest, AnAdminsOverrideAppliesAtOnceAndOnlyAdminsSetIt) {
  withQuotas({1, 0, ""});
  ASSERT_OK(manager_->create(alice_, request("first")));
  EXPECT_KIND(manager_->create(alice_, request("second")), QuotaExceeded);

  UserQuota raise;
  raise.user = "alice";
  raise.maxSandboxes = 2;
  EXPECT_KIND(manager_->setQuota(alice_, raise), PermissionDenied);
  auto view = manager_->setQuota(admin_, raise);
  ASSERT_OK(view);
  EXPECT_EQ(view->limits.maxSandboxes, 2);
  EXPECT_EQ(view->sandboxes, 1);
  ASSERT_OK(manager_->create(alice_, request("second")));
  EXPECT_EQ(manager_->quota(admin_, "alice")->sandboxes, 2);
  EXPECT_KIND(manager_->quota(bob_, "alice"), PermissionDenied);

  ASSERT_OK(manager_->clearQuota(admin_, "alice"));
  EXPECT_KIND(manager_->clearQuota(admin_, "alice"), NotFound);
  EXPECT_EQ(manager_->quota(admin_, "alice")->limits.maxSandboxes, 1);
  EXPECT_KIND(manager_->create(alice_, request("third")), QuotaExceeded);
}

}  // namespace
}  // namespace sandboxd
