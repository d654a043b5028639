// The lifecycle against the in-memory cluster.
#include "fakes/manifest_lookup.h"
#include "service/service_fixture.h"
#include "service/stuck_pod.h"

namespace sandboxd {
namespace {

using testing::findEnv;
using testing::ServiceFixture;

const json& podSpecOf(const json& sts) { return sts["spec"]["template"]["spec"]; }

class KubernetesServiceTest : public ServiceFixture {};

TEST_F(KubernetesServiceTest, CreateMakesEveryObjectAndReachesRunning) {
  SandboxSpec s = spec("demo");
  s.secretEnv = {{"TOKEN", "hunter2"}};
  ASSERT_OK(service_->create(s));
  EXPECT_TRUE(exists(resources::statefulSets(), "demo"));
  EXPECT_TRUE(exists(resources::services(), "demo-service"));
  EXPECT_TRUE(exists(resources::ingresses(), "demo-app-ingress"));
  EXPECT_TRUE(exists(resources::ingresses(), "demo-ttyd-ingress"));
  EXPECT_TRUE(exists(resources::secrets(), "demo-env"));
  EXPECT_TRUE(exists(resources::networkPolicies(), "demo-netpol"));
  json pvc = getObject(resources::persistentVolumeClaims(), "vn-homevn-agent-demo-0");
  EXPECT_EQ(pvc["status"]["phase"], "Bound");

  auto starting = service_->status({"default", "demo"});
  ASSERT_OK(starting);
  EXPECT_EQ(starting->phase, Phase::Starting);
  EXPECT_EQ(starting->reason, "ContainerCreating");
  waitReady();
  auto running = service_->status({"default", "demo"});
  ASSERT_OK(running);
  EXPECT_EQ(running->phase, Phase::Running);
  EXPECT_EQ(running->readyReplicas, 1);
  EXPECT_EQ(running->workload, WorkloadKind::StatefulSet);
}

TEST_F(KubernetesServiceTest, CreateIsOneWritePerObjectWithoutReads) {
  auto before = cluster_->callCountsForTest();
  ASSERT_OK(service_->create(spec("demo")));
  auto after = cluster_->callCountsForTest();
  // NetworkPolicy, Service, StatefulSet, 2 Ingresses
  EXPECT_EQ(after["create"] - before["create"], 5);
  EXPECT_EQ(after["get"] - before["get"], 0);
  EXPECT_EQ(after["list"] - before["list"], 0);
}

TEST_F(KubernetesServiceTest, CreateIsIdempotentForTheSameSandbox) {
  ASSERT_OK(service_->create(spec("demo")));
  json uid = getObject(resources::statefulSets(), "demo")["metadata"]["uid"];
  ASSERT_OK(service_->create(spec("demo")));
  EXPECT_EQ(getObject(resources::statefulSets(), "demo")["metadata"]["uid"], uid);
}

TEST_F(KubernetesServiceTest, CreateRefusesObjectsOfAnotherSandboxAndRollsBack) {
  SandboxSpec other = spec("demo");
  other.sandboxId = "someone-else";
  ASSERT_OK(service_->create(other));
  ASSERT_OK(cluster_->remove(resources::services(), "default", "demo-service").status());
  ASSERT_OK(cluster_->remove(resources::statefulSets(), "default", "demo").status());
  // The Ingresses of "someone-else" remain: our create must fail on them and undo its own.
  Status s = service_->create(spec("demo"));
  EXPECT_KIND(s, AlreadyExists);
  EXPECT_FALSE(exists(resources::statefulSets(), "demo"));
  EXPECT_FALSE(exists(resources::services(), "demo-service"));
  EXPECT_TRUE(exists(resources::ingresses(), "demo-app-ingress"));
}

TEST_F(KubernetesServiceTest, CreateFailingHalfWayLeavesNothingBehind) {
  SandboxSpec s = spec("demo");
  s.secretEnv = {{"TOKEN", "x"}};
  cluster_->failNextForTest("create", "StatefulSet", unavailable("injected"));
  Status created = service_->create(s);
  EXPECT_KIND(created, Unavailable);
  EXPECT_FALSE(exists(resources::secrets(), "demo-env"));
  EXPECT_FALSE(exists(resources::networkPolicies(), "demo-netpol"));
  EXPECT_FALSE(exists(resources::services(), "demo-service"));
  EXPECT_FALSE(exists(resources::statefulSets(), "demo"));
  auto list = cluster_->list(resources::persistentVolumeClaims(), "default");
  EXPECT_TRUE((*list)["items"].empty());
}

TEST_F(KubernetesServiceTest, StopKeepsTheVolumeAndStartReattachesIt) {
  ASSERT_OK(service_->create(spec("demo")));
  waitReady();
  json pvcUid = getObject(resources::persistentVolumeClaims(), "vn-homevn-agent-demo-0")
                    ["metadata"]["uid"];
  auto before = cluster_->callCountsForTest();
  ASSERT_OK(service_->stop({"default", "demo"}));
  EXPECT_EQ(cluster_->callCountsForTest()["patch"] - before["patch"], 1);
  EXPECT_EQ(phaseOf("demo"), Phase::Stopped);
  EXPECT_FALSE(exists(resources::pods(), "demo-0"));
  EXPECT_EQ(getObject(resources::statefulSets(), "demo")["spec"]["replicas"], 0);
  ASSERT_OK(service_->stop({"default", "demo"}));  // idempotent
  EXPECT_EQ(phaseOf("demo"), Phase::Stopped);

  ASSERT_OK(service_->start({"default", "demo"}));
  EXPECT_EQ(phaseOf("demo"), Phase::Starting);
  waitReady();
  EXPECT_EQ(phaseOf("demo"), Phase::Running);
  json pod = getObject(resources::pods(), "demo-0");
  EXPECT_EQ(pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "vn-homevn-agent-demo-0");
  EXPECT_EQ(getObject(resources::persistentVolumeClaims(), "vn-homevn-agent-demo-0")
                ["metadata"]["uid"],
            pvcUid);
  ASSERT_OK(service_->start({"default", "demo"}));  // idempotent
}

TEST_F(KubernetesServiceTest, StopOfAnUnknownSandboxIsNotFound) {
  EXPECT_KIND(service_->stop({"default", "ghost"}), NotFound);
  EXPECT_KIND(service_->start({"default", "ghost"}), NotFound);
}

TEST_F(KubernetesServiceTest, UpdateEnvSetsUnsetsAndKeepsSecretsInTheSecret) {
  SandboxSpec s = spec("demo");
  s.env = {{"KEEP", "1"}, {"DROP", "x"}, {"TO_SECRET", "plain"}};
  ASSERT_OK(service_->create(s));
  waitReady();
  EnvChange change;
  change.set = {{"NEW", "2"}};
  change.setSecret = {{"API_KEY", "s3cret"}, {"TO_SECRET", "now-secret"}};
  change.unset = {"DROP"};
  ASSERT_OK(service_->updateEnv(s, change));

  json sts = getObject(resources::statefulSets(), "demo");
  EXPECT_EQ((*findEnv(podSpecOf(sts), "KEEP"))["value"], "1");
  EXPECT_EQ((*findEnv(podSpecOf(sts), "NEW"))["value"], "2");
  EXPECT_EQ(findEnv(podSpecOf(sts), "DROP"), nullptr);
  const json* key = findEnv(podSpecOf(sts), "API_KEY");
  ASSERT_NE(key, nullptr);
  EXPECT_FALSE(key->contains("value"));
  EXPECT_EQ((*key)["valueFrom"]["secretKeyRef"]["name"], "demo-env");
  const json* moved = findEnv(podSpecOf(sts), "TO_SECRET");
  EXPECT_FALSE(moved->contains("value"));
  EXPECT_TRUE(moved->contains("valueFrom"));
  EXPECT_EQ(sts.dump().find("s3cret"), std::string::npos);
  json secret = getObject(resources::secrets(), "demo-env");
  EXPECT_TRUE(secret["data"].contains("API_KEY"));
  EXPECT_TRUE(secret["data"].contains("TO_SECRET"));

  // The pod rolls to the new template.
  EXPECT_NE(phaseOf("demo"), Phase::Running);
  waitReady();
  EXPECT_EQ(phaseOf("demo"), Phase::Running);

  // Back to plain: the Secret loses the key (the caller says which keys it holds).
  s.secretEnv = {{"API_KEY", ""}, {"TO_SECRET", ""}};
  EnvChange back;
  back.set = {{"API_KEY", "public"}};
  ASSERT_OK(service_->updateEnv(s, back));
  sts = getObject(resources::statefulSets(), "demo");
  EXPECT_EQ((*findEnv(podSpecOf(sts), "API_KEY"))["value"], "public");
  EXPECT_FALSE(findEnv(podSpecOf(sts), "API_KEY")->contains("valueFrom"));
  EXPECT_FALSE(getObject(resources::secrets(), "demo-env")["data"].contains("API_KEY"));
  EXPECT_TRUE(getObject(resources::secrets(), "demo-env")["data"].contains("TO_SECRET"));

  // A plain change is one call: the StatefulSet patch.
  const int patchesBefore = cluster_->callCountsForTest()["patch"];
  EnvChange plain;
  plain.set = {{"LANG", "C.UTF-8"}};
  plain.unset = {"KEEP"};
  ASSERT_OK(service_->updateEnv(s, plain));
  EXPECT_EQ(cluster_->callCountsForTest()["patch"], patchesBefore + 1);
}

const std::string& templateHash(const json& sts) {
  static const std::string none;
  const json& annotations = sts["spec"]["template"]["metadata"]["annotations"];
  const auto it = annotations.find("sandboxd.io/secret-env-hash");
  return it != annotations.end() ? it->get_ref<const std::string&>() : none;
}

// kubernetes#67250 (service/stuck_pod.h): an env change deletes a not-Ready pod only where the
// StatefulSet controller would keep it, i.e. a StatefulSet from before podManagementPolicy
// Parallel; never a Ready pod, never under Parallel (the controller rolls it itself).
TEST_F(KubernetesServiceTest, AnEnvChangeRollsANotReadyPodOnlyWhereTheControllerWouldKeepIt) {
  EnvChange fix;
  fix.set = {{"FIXED", "1"}};
  const auto deletes = [&] { return cluster_->callCountsForTest()["delete"]; };

  SandboxSpec parallel = spec("parallel");
  ASSERT_OK(service_->create(parallel));  // its pod is not Ready yet
  EXPECT_EQ(getObject(resources::statefulSets(), "parallel")["spec"]["podManagementPolicy"],
            "Parallel");
  ASSERT_OK(service_->updateEnv(parallel, fix));
  EXPECT_EQ(deletes(), 0);

  SandboxSpec legacy = spec("legacy");
  ASSERT_OK(service_->create(legacy));
  ASSERT_OK(cluster_->patch(resources::statefulSets(), "default", "legacy", PatchType::Merge,
                            json{{"spec", {{"podManagementPolicy", nullptr}}}}));
  ASSERT_TRUE(exists(resources::pods(), "legacy-0"));
  ASSERT_OK(service_->updateEnv(legacy, fix));
  EXPECT_EQ(deletes(), 1) << "the never-Ready pod of an OrderedReady StatefulSet is rolled";

  waitReady();  // Ready pods are left to the controller's rolling update
  fix.set = {{"FIXED", "2"}};
  ASSERT_OK(service_->updateEnv(legacy, fix));
  EXPECT_EQ(deletes(), 1);
}

// The template is patched before the roll: a roll that fails (here a Role without pods
// delete) leaves the change made and reported as made, so the registry records it too.
TEST_F(KubernetesServiceTest, AFailedRollOfAStuckPodStillMakesTheEnvChange) {
  SandboxSpec legacy = spec("legacy");
  ASSERT_OK(service_->create(legacy));
  ASSERT_OK(cluster_->patch(resources::statefulSets(), "default", "legacy", PatchType::Merge,
                            json{{"spec", {{"podManagementPolicy", nullptr}}}}));
  cluster_->failNextForTest("delete", "Pod", permissionDenied("pods delete is not granted"));
  EnvChange fix;
  fix.set = {{"FIXED", "1"}};
  ASSERT_OK(service_->updateEnv(legacy, fix));
  EXPECT_EQ(cluster_->callCountsForTest()["delete"], 1) << "the roll was tried";
  const json sts = getObject(resources::statefulSets(), "legacy");
  EXPECT_NE(findEnv(podSpecOf(sts), "FIXED"), nullptr);
}

TEST(StuckPodTest, OnlyParallelStatefulSetsReplaceNotReadyPodsThemselves) {
  EXPECT_FALSE(holdsNotReadyPods(json{{"spec", {{"podManagementPolicy", "Parallel"}}}}));
  EXPECT_TRUE(holdsNotReadyPods(json{{"spec", {{"podManagementPolicy", "OrderedReady"}}}}));
  EXPECT_TRUE(holdsNotReadyPods(json{{"spec", {{"replicas", 1}}}}));  // the default
}

TEST_F(KubernetesServiceTest, ANewSecretValueRollsThePodAndNoValueLeavesTheSecret) {
  SandboxSpec s = spec("demo");
  s.secretEnv = {{"TOKEN", "aaaa"}};
  ASSERT_OK(service_->create(s));
  waitReady();
  const json created = getObject(resources::statefulSets(), "demo");
  const std::string first = templateHash(created);
  ASSERT_EQ(first.size(), 64u) << created["spec"]["template"]["metadata"].dump();
  const std::string podUid = getObject(resources::pods(), "demo-0")["metadata"]["uid"];

  // Same key, new value: only the Secret holds values, so the template changes by the hash.
  EnvChange rotate;
  rotate.setSecret = {{"TOKEN", "bbbb"}};
  ASSERT_OK(service_->updateEnv(s, rotate));
  const json rotated = getObject(resources::statefulSets(), "demo");
  const std::string second = templateHash(rotated);
  EXPECT_EQ(second.size(), 64u);
  EXPECT_NE(second, first) << "a new secret value must change the pod template";
  EXPECT_GT(rotated["metadata"]["generation"], created["metadata"]["generation"]);
  waitReady();
  EXPECT_NE(getObject(resources::pods(), "demo-0")["metadata"]["uid"], podUid)
      << "the pod was not replaced";

  // The same value again changes nothing; neither value appears outside the Secret.
  ASSERT_OK(service_->updateEnv(s, rotate));
  const json again = getObject(resources::statefulSets(), "demo");
  EXPECT_EQ(templateHash(again), second);
  for (const char* value : {"aaaa", "bbbb", "YWFhYQ", "YmJiYg"}) {  // and their base64
    EXPECT_EQ(again.dump().find(value), std::string::npos) << value;
  }
}

TEST_F(KubernetesServiceTest, DeleteKeepsTheHomeVolumeUnlessPurged) {
  ASSERT_OK(service_->create(spec("demo")));
  waitReady();
  json pvcUid = getObject(resources::persistentVolumeClaims(), "vn-homevn-agent-demo-0")
                    ["metadata"]["uid"];
  ASSERT_OK(service_->remove({"default", "demo"}, false));
  EXPECT_FALSE(exists(resources::statefulSets(), "demo"));
  EXPECT_FALSE(exists(resources::services(), "demo-service"));
  EXPECT_FALSE(exists(resources::ingresses(), "demo-app-ingress"));
  EXPECT_FALSE(exists(resources::networkPolicies(), "demo-netpol"));
  EXPECT_FALSE(exists(resources::pods(), "demo-0"));
  EXPECT_TRUE(exists(resources::persistentVolumeClaims(), "vn-homevn-agent-demo-0"));
  EXPECT_TRUE(*service_->isGone({"default", "demo"}, false));
  EXPECT_FALSE(*service_->isGone({"default", "demo"}, true));
  EXPECT_EQ(phaseOf("demo"), Phase::Terminated);
  ASSERT_OK(service_->remove({"default", "demo"}, false));  // repeat is fine

  ASSERT_OK(service_->create(spec("demo")));
  EXPECT_EQ(getObject(resources::persistentVolumeClaims(), "vn-homevn-agent-demo-0")
                ["metadata"]["uid"],
            pvcUid)
      << "re-creating re-attaches the same volume";

  ASSERT_OK(service_->remove({"default", "demo"}, true));
  EXPECT_FALSE(exists(resources::persistentVolumeClaims(), "vn-homevn-agent-demo-0"));
  EXPECT_TRUE(*service_->isGone({"default", "demo"}, true));
}

TEST_F(KubernetesServiceTest, StuckStartsSayWhy) {
  cluster_->setPodFailureForTest("pull", "ImagePullBackOff");
  ASSERT_OK(service_->create(spec("pull")));
  waitReady();
  auto pull = service_->status({"default", "pull"});
  EXPECT_EQ(pull->phase, Phase::Error);
  EXPECT_EQ(pull->reason, "ImagePullBackOff");

  cluster_->setPvcPendingForTest(true);
  ASSERT_OK(service_->create(spec("pending")));
  waitReady();
  auto pending = service_->status({"default", "pending"});
  EXPECT_EQ(pending->phase, Phase::Starting);
  EXPECT_EQ(pending->reason, "PvcPending");
  EXPECT_NE(pending->message.find("vn-homevn-agent-pending-0"), std::string::npos);
}

TEST_F(KubernetesServiceTest, StatusAllAgreesWithStatus) {
  ASSERT_OK(service_->create(spec("one")));
  ASSERT_OK(service_->create(spec("two")));
  waitReady();
  ASSERT_OK(service_->stop({"default", "two"}));
  auto all = service_->statusAll("default");
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all->at("one").phase, Phase::Running);
  EXPECT_EQ(all->at("two").phase, Phase::Stopped);
  EXPECT_EQ(all->at("one").phase, phaseOf("one"));
}

// A Deployment sandbox from before the migration.
json legacyDeployment(const std::string& name) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata",
           {{"name", name},
            {"labels", {{"app", name}, {"cloud.sealos.io/app-deploy-manager", name}}},
            {"annotations", {{"originImageName", "nginx"}}}}},
          {"spec",
           {{"replicas", 1},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"strategy", {{"type", "RollingUpdate"}}},
            {"template",
             {{"metadata", {{"labels", {{"app", name}}}}},
              {"spec",
               {{"containers", json::array({{{"name", name}, {"image", "nginx"}}})},
                {"volumes", json::array()}}}}}}}};
}

TEST_F(KubernetesServiceTest, LegacyDeploymentsStillAnswerStatusStopStartDelete) {
  ASSERT_OK(cluster_->create(resources::deployments(), "default", legacyDeployment("old"))
                .status());
  json svc = {{"metadata",
               {{"name", "old"},
                {"labels", {{"cloud.sealos.io/app-deploy-manager", "old"}}}}},
              {"spec", {{"selector", {{"app", "old"}}}}}};
  ASSERT_OK(cluster_->create(resources::services(), "default", svc).status());
  waitReady();
  auto status = service_->status({"default", "old"});
  ASSERT_OK(status);
  EXPECT_EQ(status->phase, Phase::Running);
  EXPECT_EQ(status->workload, WorkloadKind::Deployment);

  ASSERT_OK(service_->stop({"default", "old"}));
  EXPECT_EQ(phaseOf("old"), Phase::Stopped);
  ASSERT_OK(service_->start({"default", "old"}));
  waitReady();
  EXPECT_EQ(phaseOf("old"), Phase::Running);

  EnvChange change;
  change.set = {{"A", "1"}};
  SandboxSpec identity = spec("old");
  EXPECT_KIND(service_->updateEnv(identity, change), FailedPrecondition);

  ASSERT_OK(service_->remove({"default", "old"}, false));
  EXPECT_FALSE(exists(resources::deployments(), "old"));
  EXPECT_FALSE(exists(resources::services(), "old")) << "found by the platform label";
  EXPECT_EQ(phaseOf("old"), Phase::Terminated);
}

TEST_F(KubernetesServiceTest, ADeploymentWithoutThePlatformLabelIsNotASandbox) {
  json plain = legacyDeployment("web");
  plain["metadata"]["labels"].erase("cloud.sealos.io/app-deploy-manager");
  ASSERT_OK(cluster_->create(resources::deployments(), "default", plain).status());
  EXPECT_KIND(service_->stop({"default", "web"}), NotFound);
  EXPECT_EQ(phaseOf("web"), Phase::Terminated);
  ASSERT_OK(service_->remove({"default", "web"}, false));
  EXPECT_TRUE(exists(resources::deployments(), "web")) << "not ours: never deleted";
}

TEST_F(KubernetesServiceTest, ClusterErrorsPropagateAsTheirKinds) {
  ASSERT_OK(service_->create(spec("demo")));
  cluster_->failNextForTest("patch", "*", unavailable("api server down"));
  EXPECT_KIND(service_->stop({"default", "demo"}), Unavailable);
  cluster_->failNextForTest("get", "StatefulSet", unavailable("api server down"));
  EXPECT_KIND(service_->status({"default", "demo"}), Unavailable);
}

}  // namespace
}  // namespace sandboxd
