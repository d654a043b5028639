// Profiles through the manager and the reconciler: a sandbox gets its profile's settings, keeps
// its profile in the registry, and a re-rendered StatefulSet (drift repair) uses it again.
#include "fakes/profiles_yaml.h"
#include "sandboxd/model/naming.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/drift.h"
#include "sandboxd/service/reconciler.h"
#include "sandboxd/service/sandbox_manager.h"
#include "service/service_fixture.h"

namespace sandboxd {
namespace {

using testing::ManagerFixture;
using testing::profilesYaml;

class ProfilesTest : public ManagerFixture {
 protected:
  void SetUp() override {
    ManagerFixture::SetUp();
    auto config = applyConfigYaml(config_, profilesYaml(), "profiles.yaml");
    ASSERT_OK(config);
    config_ = *config;
    auto renderer = makeTemplateRenderer(config_);
    ASSERT_OK(renderer);
    service_ = makeKubernetesService(cluster_, *renderer, config_.sandbox);
    manager_ = makeSandboxManager(registry_, service_, cluster_, config_, time_, locks_,
                                  recorder_);
  }

  CreateRequest request(const std::string& name, const std::string& profile) {
    CreateRequest r;
    r.name = name;
    r.profile = profile;
    return r;
  }

  json podSpec(const std::string& name) {
    return getObject(resources::statefulSets(), name)["spec"]["template"]["spec"];
  }
};

TEST_F(ProfilesTest, ASandboxGetsItsProfilesSettingsAndKeepsItsProfile) {
  auto large = manager_->create(alice_, request("big", "large"));
  ASSERT_OK(large);
  EXPECT_EQ(large->record->profile, "large");
  EXPECT_EQ(large->record->storage, "20Gi") << "the profile's default storage";
  EXPECT_EQ(large->urls.count("docs"), 1u) << "the profile's extra port has its URL";
  EXPECT_EQ(registry_->getSandbox("big")->profile, "large");
  json pod = podSpec("big");
  EXPECT_EQ(pod["nodeSelector"]["pool"], "large");
  EXPECT_EQ(pod["tolerations"][0]["value"], "large");
  EXPECT_EQ(pod["containers"][0]["resources"]["limits"]["cpu"], "8");
  EXPECT_TRUE(exists(resources::ingresses(), names::ingress("big", "docs")));

  auto small = manager_->create(alice_, request("tiny", ""));
  ASSERT_OK(small);
  EXPECT_EQ(small->record->profile, "small") << "sandbox.defaultProfile";
  EXPECT_EQ(small->record->storage, "2Gi");
  EXPECT_FALSE(podSpec("tiny").contains("tolerations"));
  EXPECT_EQ(small->urls.count("docs"), 0u);
}

TEST_F(ProfilesTest, AnUnknownProfileOrStorageAboveTheProfilesMaximumChangesNothing) {
  auto unknown = manager_->create(alice_, request("box", "huge"));
  EXPECT_KIND(unknown, InvalidArgument);
  EXPECT_NE(unknown.status().message().find("large, small"), std::string::npos)
      << unknown.status().message();
  // With profiles configured, "default" is not one of them.
  EXPECT_KIND(manager_->create(alice_, request("box", "default")), InvalidArgument);
  CreateRequest tooBig = request("box", "small");
  tooBig.storage = "20Gi";  // within large's maximum, above small's
  auto refused = manager_->create(alice_, tooBig);
  EXPECT_KIND(refused, InvalidArgument);
  EXPECT_NE(refused.status().message().find("10Gi"), std::string::npos)
      << refused.status().message();
  EXPECT_TRUE(registry_->listSandboxes()->empty());
  EXPECT_EQ(cluster_->callCountsForTest()["create"], 0);
  tooBig.profile = "large";
  EXPECT_OK(manager_->create(alice_, tooBig));
}

TEST_F(ProfilesTest, ARepairedStatefulSetHasItsProfileAndDriftKnowsItsPorts) {
  ASSERT_OK(manager_->create(alice_, request("big", "large")));
  waitReady();
  auto reconciler = makeReconciler(registry_, service_, cluster_, config_, time_, locks_, {});
  auto report = inspectDrift(*cluster_, *registry_, config_.sandbox);
  ASSERT_OK(report);
  EXPECT_TRUE(report->clean()) << "the profile's Ingress is expected, not an orphan";

  ASSERT_OK(cluster_->remove(resources::statefulSets(), "default", "big"));
  ASSERT_OK(cluster_->remove(resources::ingresses(), "default", names::ingress("big", "docs")));
  auto pass = reconciler->reconcileOnce();
  ASSERT_OK(pass);
  EXPECT_EQ(pass->repaired, 1);
  EXPECT_EQ(podSpec("big")["tolerations"][0]["value"], "large");
  EXPECT_TRUE(exists(resources::ingresses(), names::ingress("big", "docs")));

  ASSERT_OK(manager_->remove(alice_, "big", true));
  ASSERT_OK(reconciler->reconcileOnce());
  EXPECT_FALSE(exists(resources::ingresses(), names::ingress("big", "docs")))
      << "a profile's Ingress goes with its sandbox";
}

}  // namespace
}  // namespace sandboxd
