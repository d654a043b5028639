// Profiles on the real control plane: the API server (and the StatefulSet controller, which
// makes the pod from the template) accepts what each profile renders, created through the
// SandboxManager as the HTTP API does; the objects in the cluster carry the profile's
// resources, placement, probes, extra port and metadata.
#include "fakes/profiles_yaml.h"
#include "integration/cluster_env.h"
#include "sandboxd/model/naming.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/sandbox_manager.h"

namespace sandboxd::integration {
namespace {

class ProfilesIntegrationTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    // tests/testdata/profiles.yaml over the fixture's config (its namespace and image), as a
    // config file would be.
    auto config = applyConfigYaml(config_, testing::profilesYaml(), "profiles.yaml");
    ASSERT_OK(config);
    config_ = *config;
    rebuild();
    time_ = std::make_shared<RealTimeSource>();
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

  json podTemplate(const std::string& name) {
    auto sts = get(resources::statefulSets(), name);
    EXPECT_OK(sts);
    return sts.isOk() ? (*sts)["spec"]["template"] : json();
  }

  // The pod the StatefulSet controller made from the template: the API server validated it.
  StatusOr<json> pod(const std::string& name) {
    StatusOr<json> last = notFound("no pod yet");
    eventually([&] {
      last = get(resources::pods(), names::pod(name));
      return last.isOk();
    });
    return last;
  }

  const Caller alice_{"alice", false};
  TimeSourcePtr time_;
  RegistryPtr registry_;
  SandboxManagerPtr manager_;
};

TEST_F(ProfilesIntegrationTest, TheControlPlaneAcceptsWhatEachProfileRenders) {
  CreateRequest small;
  small.name = "prof-small";
  ASSERT_OK(manager_->create(alice_, small));
  CreateRequest large;
  large.name = "prof-large";
  large.profile = "large";
  ASSERT_OK(manager_->create(alice_, large));

  // small: its resources, no placement; KWOK runs it.
  json tmpl = podTemplate("prof-small");
  EXPECT_EQ(tmpl["metadata"]["labels"]["tier"], "small");
  EXPECT_EQ(tmpl["spec"]["containers"][0]["resources"]["limits"]["cpu"], "1");
  EXPECT_FALSE(tmpl["spec"].contains("tolerations"));
  auto claim = get(resources::persistentVolumeClaims(), names::pvc("prof-small"));
  EXPECT_TRUE(eventually([&] {
    claim = get(resources::persistentVolumeClaims(), names::pvc("prof-small"));
    return claim.isOk();
  }));
  ASSERT_OK(claim);
  EXPECT_EQ((*claim)["spec"]["resources"]["requests"]["storage"], "2Gi");
  ASSERT_TRUE(waitPhase("prof-small", Phase::Running));

  // large: everything the profile sets, as the API server stored it and in the pod made
  // from it (no node has pool=large, so it stays Pending: placement is the profile's).
  tmpl = podTemplate("prof-large");
  const json& spec = tmpl["spec"];
  const json& c = spec["containers"][0];
  EXPECT_EQ(c["resources"]["requests"]["cpu"], "2");
  EXPECT_EQ(c["resources"]["limits"]["memory"], "32Gi");
  EXPECT_EQ(spec["nodeSelector"], json({{"pool", "large"}}));
  ASSERT_EQ(spec["tolerations"].size(), 1u);
  EXPECT_EQ(spec["tolerations"][0]["key"], "dedicated");
  EXPECT_EQ(spec["tolerations"][0]["effect"], "NoSchedule");
  EXPECT_EQ(spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
                ["nodeSelectorTerms"][0]["matchExpressions"][0]["values"],
            json::array({"amd64"}));
  EXPECT_EQ(spec["securityContext"]["runAsUser"], 2000);
  EXPECT_EQ(c["readinessProbe"]["periodSeconds"], 5);
  EXPECT_EQ(c["livenessProbe"]["tcpSocket"]["port"], 7681);
  EXPECT_EQ(tmpl["metadata"]["annotations"]["cost-center"], "gpu-team");
  auto sts = get(resources::statefulSets(), "prof-large");
  ASSERT_OK(sts);
  EXPECT_EQ((*sts)["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]
                  ["storage"],
            "20Gi");
  EXPECT_EQ((*sts)["metadata"]["labels"]["tier"], "large");
  EXPECT_EQ((*sts)["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"], "fast-ssd");
  auto ingress = get(resources::ingresses(), names::ingress("prof-large", "docs"));
  ASSERT_OK(ingress);
  auto service = get(resources::services(), names::service("prof-large"));
  ASSERT_OK(service);
  EXPECT_EQ((*service)["spec"]["ports"].size(), 4u);  // app, ttyd and the profile's vnc, docs

  auto largePod = pod("prof-large");
  ASSERT_OK(largePod);
  bool tolerated = false;
  for (const auto& t : (*largePod)["spec"]["tolerations"]) {
    tolerated = tolerated || (t.value("key", "") == "dedicated" && t.value("value", "") == "large");
  }
  EXPECT_TRUE(tolerated) << (*largePod)["spec"]["tolerations"];
  EXPECT_EQ((*largePod)["spec"]["nodeSelector"]["pool"], "large");
  EXPECT_EQ(registry_->getSandbox("prof-large")->profile, "large");
}

}  // namespace
}  // namespace sandboxd::integration
