// Drift between registry and cluster: sandboxes created through KubernetesService on the
// in-memory cluster, registry entries in an SQLite registry, then one thing made to disagree
// at a time.
#include <gtest/gtest.h>

#include "fakes/status_matchers.h"
#include "sandboxd/model/naming.h"
#include "sandboxd/service/drift.h"
#include "service/service_fixture.h"

namespace sandboxd::testing {
namespace {

using Kind = DriftItem::Kind;

class DriftTest : public ManagerFixture {
 protected:
  // A sandbox as the manager makes it: objects in the cluster and a registry entry.
  SandboxRecord makeSandbox(const std::string& name, bool withSecret = false) {
    SandboxSpec s = spec(name);
    if (withSecret) {
      s.secretEnv = {{"TOKEN", "t0p-secret"}};
    }
    EXPECT_OK(service_->create(s));
    SandboxRecord r;
    r.name = name;
    r.user = s.user;
    r.nameSpace = s.nameSpace;
    r.sandboxId = s.sandboxId;
    r.image = s.image;
    r.env = s.env;
    if (withSecret) {
      r.secretEnvKeys = {"TOKEN"};
    }
    r.storage = "5Gi";
    EXPECT_OK(registry_->insertSandbox(r));
    return r;
  }

  DriftReport inspect() {
    auto report = inspectDrift(*cluster_, *registry_, config_.sandbox);
    EXPECT_OK(report);
    return report.isOk() ? *report : DriftReport{};
  }

  static std::vector<std::string> describe(const DriftReport& report) {
    std::vector<std::string> out;
    for (const auto& i : report.items) {
      out.push_back(std::string(toString(i.kind)) + " " + i.objectKind + " " + i.name);
    }
    return out;
  }
};

TEST_F(DriftTest, SandboxesTheRegistryAccountsForAreClean) {
  makeSandbox("alpha", /*withSecret=*/true);
  makeSandbox("beta");
  waitReady();
  DriftReport report = inspect();
  EXPECT_TRUE(report.clean()) << report.format();
  EXPECT_EQ(report.format(), "orphans 0, missing 0, lingering 0\n");
}

TEST_F(DriftTest, ObjectsWithoutARegistryEntryAreOrphansAndTheVolumeIsReportedNotTouched) {
  makeSandbox("alpha", /*withSecret=*/true);
  makeSandbox("beta");
  waitReady();
  ASSERT_OK(registry_->deleteSandbox("alpha"));

  DriftReport report = inspect();
  EXPECT_EQ(describe(report), (std::vector<std::string>{
                                  "orphan Ingress alpha-app-ingress",
                                  "orphan Ingress alpha-ttyd-ingress",
                                  "orphan NetworkPolicy alpha-netpol",
                                  "orphan PersistentVolumeClaim vn-homevn-agent-alpha-0",
                                  "orphan Secret alpha-env",
                                  "orphan Service alpha-service",
                                  "orphan StatefulSet alpha",
                              }))
      << report.format();
  EXPECT_EQ(report.count(Kind::Orphan), 7);
  EXPECT_TRUE(exists(resources::persistentVolumeClaims(), "vn-homevn-agent-alpha-0"))
      << "doctor changes nothing";
}

TEST_F(DriftTest, VanishedObjectsOfALiveSandboxAreMissing) {
  makeSandbox("alpha", /*withSecret=*/true);
  ASSERT_OK(cluster_->remove(resources::services(), "default", "alpha-service"));
  ASSERT_OK(cluster_->remove(resources::secrets(), "default", "alpha-env"));

  DriftReport report = inspect();
  EXPECT_EQ(describe(report), (std::vector<std::string>{"missing Secret alpha-env",
                                                        "missing Service alpha-service"}))
      << report.format();
  EXPECT_NE(report.format().find("the sandbox is running in the registry"), std::string::npos);
}

TEST_F(DriftTest, ADeletedSandboxsLeftoversLingerButItsKeptVolumeDoesNot) {
  SandboxRecord r = makeSandbox("alpha");
  waitReady();
  r.desired = DesiredState::Deleted;
  auto stored = registry_->getSandbox("alpha");
  ASSERT_OK(stored);
  r.version = stored->version;
  ASSERT_OK(registry_->updateSandbox(r));
  // The delete went half-way: workload gone, Service and NetworkPolicy left; the home volume
  // is kept on purpose.
  ASSERT_OK(cluster_->remove(resources::statefulSets(), "default", "alpha"));
  for (const auto& port : config_.sandbox.ports) {
    ASSERT_OK(cluster_->remove(resources::ingresses(), "default",
                               names::ingress("alpha", port.name)));
  }

  DriftReport report = inspect();
  EXPECT_EQ(describe(report), (std::vector<std::string>{"lingering NetworkPolicy alpha-netpol",
                                                        "lingering Service alpha-service"}))
      << report.format();
}

TEST_F(DriftTest, AnObjectOfAnotherIncarnationOfTheNameIsAnOrphan) {
  SandboxRecord r = makeSandbox("alpha");
  auto stored = registry_->getSandbox("alpha");
  ASSERT_OK(stored);
  SandboxRecord renewed = *stored;
  renewed.sandboxId = "id-alpha-2";
  ASSERT_OK(registry_->updateSandbox(renewed));

  DriftReport report = inspect();
  ASSERT_FALSE(report.clean());
  for (const auto& item : report.items) {
    if (item.objectKind == "PersistentVolumeClaim") {
      ADD_FAILURE() << "a volume of a known name is never an orphan: " << report.format();
    }
    EXPECT_EQ(item.kind, Kind::Orphan) << report.format();
    EXPECT_NE(item.detail.find("id-alpha"), std::string::npos) << item.detail;
  }
}

json legacyDeployment(const std::string& name) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata",
           {{"name", name},
            {"namespace", "default"},
            {"labels", {{"app", name}, {"cloud.sealos.io/app-deploy-manager", name}}}}},
          {"spec",
           {{"replicas", 1},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", name}}}}},
              {"spec", {{"containers", json::array({{{"name", name}, {"image", "x:1"}}})}}}}}}}};
}

TEST_F(DriftTest, LegacyDeploymentsAreOrphansUntilImportedAndCleanOnceRegistered) {
  ASSERT_OK(cluster_->create(resources::deployments(), "default", legacyDeployment("old")));
  DriftReport before = inspect();
  ASSERT_EQ(describe(before), (std::vector<std::string>{"orphan Deployment old"}));
  EXPECT_NE(before.items[0].detail.find("sandboxd migrate"), std::string::npos);

  SandboxRecord r;
  r.name = "old";
  r.user = "alice";
  r.nameSpace = "default";
  r.sandboxId = "id-old";
  r.storage = "5Gi";
  r.workload = WorkloadKind::Deployment;
  ASSERT_OK(registry_->insertSandbox(r));
  DriftReport after = inspect();
  EXPECT_TRUE(after.clean()) << after.format();
}

TEST(ComputeDriftTest, ObjectsBeingDeletedAreNotDrift) {
  SandboxConfig config;
  json sts = {{"apiVersion", "apps/v1"},
              {"kind", "StatefulSet"},
              {"metadata",
               {{"name", "gone"},
                {"namespace", "default"},
                {"deletionTimestamp", "2026-11-23T10:00:00Z"},
                {"labels", {{"app", "gone"}, {"app.kubernetes.io/managed-by", "sandboxd"}}}}}};
  EXPECT_TRUE(computeDrift({}, {sts}, config).clean());
  sts["metadata"].erase("deletionTimestamp");
  EXPECT_EQ(computeDrift({}, {sts}, config).count(DriftItem::Kind::Orphan), 1);
}

}  // namespace
}  // namespace sandboxd::testing
