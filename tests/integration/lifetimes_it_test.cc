// Idle stop, expiry and volume growth on the real control plane. PATCH storage grows the home
// claim when its StorageClass allows expansion (the API server takes the new request), and
// answers 409 with nothing changed when the class does not (the API server's
// PersistentVolumeClaimResize admission refuses it); the claims are bound by the test storage
// (tools/k8s/pv_provisioner.py). The sweep, on a simulated clock, scales an idle sandbox's
// StatefulSet to 0 and deletes an expired one's, its home claim kept.
#include "fakes/simulated_time_source.h"
#include "integration/cluster_env.h"
#include "sandboxd/model/naming.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/sandbox_manager.h"

namespace sandboxd::integration {
namespace {

const ResourceType kStorageClasses{"/apis/storage.k8s.io/v1", "storageclasses", "StorageClass",
                                   "storage.k8s.io/v1", false};

// Two classes of the test storage's provisioner, one allowing expansion; cluster-scoped and
// shared by runs (made once, left in place).
constexpr const char* kGrowProfiles = R"(
sandbox:
  defaultProfile: grows
  profiles:
    grows: {storageClass: sandboxd-it-expandable, storage: 1Gi, maxStorage: 4Gi}
    fixed: {storageClass: sandboxd-it-fixed, storage: 1Gi, maxStorage: 4Gi}
)";

class LifetimesIntegrationTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    for (const auto& [name, expandable] :
         {std::pair<const char*, bool>{"sandboxd-it-expandable", true},
          {"sandboxd-it-fixed", false}}) {
      json storageClass = {{"apiVersion", "storage.k8s.io/v1"},
                           {"kind", "StorageClass"},
                           {"metadata", {{"name", name}}},
                           {"provisioner", "hostpath.sandboxd.local"},
                           {"reclaimPolicy", "Delete"},
                           {"volumeBindingMode", "Immediate"},
                           {"allowVolumeExpansion", expandable}};
      auto made = client_->create(kStorageClasses, "", storageClass);
      ASSERT_TRUE(made.isOk() || made.status().kind() == ErrorKind::AlreadyExists)
          << made.status().toString();
    }
    auto config = applyConfigYaml(config_, kGrowProfiles, "grow-profiles.yaml");
    ASSERT_OK(config);
    config_ = *config;
    rebuild();
    time_ = std::make_shared<testing::SimulatedTimeSource>();
    auto registry = openSqliteRegistry(":memory:", time_);
    ASSERT_OK(registry);
    registry_ = *registry;
    manager_ = makeSandboxManager(registry_, service_, client_, config_, time_);
  }

  void TearDown() override {
    manager_.reset();
    registry_.reset();
    ClusterTest::TearDown();
  }

  // Creates `name` with `profile` and waits for its home claim to be Bound.
  void createBound(const std::string& name, const std::string& profile,
                   std::optional<int> idleStopMinutes = std::nullopt,
                   std::optional<SystemTime> expiresAt = std::nullopt) {
    CreateRequest request;
    request.name = name;
    request.profile = profile;
    request.idleStopMinutes = idleStopMinutes;
    request.expiresAt = expiresAt;
    ASSERT_OK(manager_->create(alice_, request));
    std::string phase;
    ASSERT_TRUE(eventually([&] {
      auto claim = get(resources::persistentVolumeClaims(), names::pvc(name));
      phase = claim.isOk() ? (*claim)["status"].value("phase", "") : claim.status().toString();
      return phase == "Bound";
    })) << names::pvc(name) << " is not Bound: " << phase;
  }

  std::string claimSize(const std::string& name) {
    auto claim = get(resources::persistentVolumeClaims(), names::pvc(name));
    EXPECT_OK(claim);
    return claim.isOk() ? (*claim)["spec"]["resources"]["requests"].value("storage", "") : "";
  }

  const Caller alice_{"alice", false};
  std::shared_ptr<testing::SimulatedTimeSource> time_;
  RegistryPtr registry_;
  SandboxManagerPtr manager_;
};

TEST_F(LifetimesIntegrationTest, AClaimGrowsWhenItsClassAllowsItAndNothingChangesOtherwise) {
  createBound("grow-yes", "grows");
  if (HasFatalFailure()) {
    return;
  }
  SandboxUpdate grow;
  grow.storage = "3Gi";
  auto grown = manager_->update(alice_, "grow-yes", grow);
  ASSERT_OK(grown);
  EXPECT_EQ(grown->record->storage, "3Gi");
  EXPECT_EQ(claimSize("grow-yes"), "3Gi") << "the API server took the larger request";
  EXPECT_EQ(registry_->getSandbox("grow-yes")->storage, "3Gi");
  SandboxUpdate shrink;
  shrink.storage = "2Gi";
  EXPECT_KIND(manager_->update(alice_, "grow-yes", shrink), InvalidArgument);
  EXPECT_EQ(claimSize("grow-yes"), "3Gi");

  createBound("grow-no", "fixed");
  if (HasFatalFailure()) {
    return;
  }
  auto refused = manager_->update(alice_, "grow-no", grow);
  EXPECT_KIND(refused, FailedPrecondition);
  EXPECT_NE(refused.status().message().find("does not allow volume expansion"),
            std::string::npos)
      << refused.status().message();
  EXPECT_EQ(claimSize("grow-no"), "1Gi") << "nothing changed";
  EXPECT_EQ(registry_->getSandbox("grow-no")->storage, "1Gi");
  auto ops = manager_->operations(alice_, "grow-no");
  ASSERT_OK(ops);
  ASSERT_FALSE(ops->empty());
  EXPECT_EQ(ops->front().kind, OperationKind::Resize);
  EXPECT_EQ(ops->front().state, OperationState::Failed);
}

TEST_F(LifetimesIntegrationTest, TheSweepStopsAnIdleSandboxAndDeletesAnExpiredOneKeepingItsVolume) {
  createBound("idle-it", "grows", /*idleStopMinutes=*/5);
  createBound("expiring-it", "grows", std::nullopt, time_->systemTime() + std::chrono::hours(1));
  if (HasFatalFailure()) {
    return;
  }
  ASSERT_TRUE(waitPhase("idle-it", Phase::Running));
  time_->advance(std::chrono::minutes(4));
  auto early = manager_->sweepLifetimes();
  ASSERT_OK(early);
  EXPECT_EQ(early->idleStopped, 0);
  time_->advance(std::chrono::minutes(2));
  auto idle = manager_->sweepLifetimes();
  ASSERT_OK(idle);
  EXPECT_EQ(idle->idleStopped, 1);
  EXPECT_EQ(idle->expired, 0);
  ASSERT_TRUE(waitPhase("idle-it", Phase::Stopped));
  auto view = manager_->get(alice_, "idle-it");
  ASSERT_OK(view);
  EXPECT_EQ(view->observed.reason, "IdleStopped");
  EXPECT_EQ(manager_->operations(alice_, "idle-it")->front().kind, OperationKind::IdleStop);

  time_->advance(std::chrono::hours(1));
  auto expiry = manager_->sweepLifetimes();
  ASSERT_OK(expiry);
  EXPECT_EQ(expiry->expired, 1);
  EXPECT_TRUE(eventually([&] {
    return get(resources::statefulSets(), "expiring-it").status().kind() == ErrorKind::NotFound;
  })) << "the expired sandbox's StatefulSet is deleted";
  auto claim = get(resources::persistentVolumeClaims(), names::pvc("expiring-it"));
  ASSERT_OK(claim) << "its home volume is kept";
  EXPECT_FALSE((*claim)["metadata"].contains("deletionTimestamp"));
  EXPECT_EQ(registry_->getSandbox("expiring-it")->desired, DesiredState::Deleted);
}

}  // namespace
}  // namespace sandboxd::integration
