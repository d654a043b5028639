// buildMigrationPlan / formatPlan / statefulSetSettled: pure functions, no cluster.
#include <gtest/gtest.h>

#include "fakes/manifest_lookup.h"
#include "fakes/status_matchers.h"
#include "sandboxd/migrate/migrator.h"

namespace sandboxd {
namespace {

using ::sandboxd::testing::findEnv;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The seed-004 shape of a pre-migration sandbox, as the API server returns it (defaults set).
json legacyDeployment(const std::string& name, int replicas) {
  json container = {{"name", name},
                    {"image", "registry.example.com/sandbox/runtime:v0"},
                    {"env", json::array({{{"name", "A"}, {"value", "1"}},
                                         {{"name", "HOME"}, {"value", "/root"}},
                                         {{"name", "TOKEN"},
                                          {"valueFrom",
                                           {{"secretKeyRef",
                                             {{"name", name + "-env"}, {"key", "TOKEN"}}}}}}})},
                    {"ports", json::array({{{"containerPort", 3000}, {"protocol", "TCP"}}})},
                    {"resources", {{"limits", {{"cpu", "1"}, {"memory", "2Gi"}}}}},
                    {"volumeMounts", json::array({{{"name", "scratch"}, {"mountPath", "/tmp/s"}},
                                                  {{"name", "cfg"}, {"mountPath", "/etc/cfg"}}})}};
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata",
           {{"name", name},
            {"namespace", "ns1"},
            {"uid", "uid-1"},
            {"labels",
             {{"app", name}, {"cloud.sealos.io/app-deploy-manager", name}, {"team", "blue"}}},
            {"annotations",
             {{"originImageName", "registry.example.com/sandbox/runtime:v0"},
              {"deploy.cloud.sealos.io/minReplicas", "1"},
              {"deploy.cloud.sealos.io/maxReplicas", "1"},
              {"deployment.kubernetes.io/revision", "3"},
              {"note", "keep me"}}}}},
          {"spec",
           {{"replicas", replicas},
            {"progressDeadlineSeconds", 600},
            {"revisionHistoryLimit", 10},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"strategy",
             {{"type", "RollingUpdate"},
              {"rollingUpdate", {{"maxSurge", "25%"}, {"maxUnavailable", "25%"}}}}},
            {"template",
             {{"metadata",
               {{"labels", {{"app", name}, {"cloud.sealos.io/app-deploy-manager", name}}}}},
              {"spec",
               {{"containers", json::array({container})},
                {"terminationGracePeriodSeconds", 30},
                {"volumes", json::array({{{"name", "scratch"}, {"emptyDir", json::object()}},
                                         {{"name", "cfg"},
                                          {"configMap", {{"name", "cfg"}}}}})}}}}}}}};
}

json clusterIpService(const std::string& serviceName, const std::string& sandbox) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata",
           {{"name", serviceName},
            {"labels", {{"app", sandbox}, {"cloud.sealos.io/app-deploy-manager", sandbox}}}}},
          {"spec",
           {{"clusterIP", "10.0.0.12"},
            {"type", "ClusterIP"},
            {"selector", {{"app", sandbox}}},
            {"ports", json::array({{{"name", "http"}, {"port", 3000}, {"targetPort", 3000}}})}}}};
}

json ingressTo(const std::string& ingressName, const std::string& serviceName) {
  return {{"apiVersion", "networking.k8s.io/v1"},
          {"kind", "Ingress"},
          {"metadata", {{"name", ingressName}}},
          {"spec",
           {{"rules",
             json::array({{{"host", "x.example.com"},
                           {"http",
                            {{"paths",
                              json::array({{{"path", "/"},
                                            {"pathType", "Prefix"},
                                            {"backend",
                                             {{"service",
                                               {{"name", serviceName},
                                                {"port", {{"number", 3000}}}}}}}}})}}}}})}}}};
}

class MigrationPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.sandbox.nameSpace = "ns1";
    auto renderer = makeTemplateRenderer(config_);
    ASSERT_OK(renderer);
    renderer_ = *renderer;
  }

  SandboxRecord record(const std::string& name) const {
    SandboxRecord r;
    r.name = name;
    r.nameSpace = "ns1";
    r.user = "alice";
    r.sandboxId = "sid-" + name;
    r.workload = WorkloadKind::Deployment;
    return r;
  }

  MigrationPlan plan(const LegacyObjects& legacy, const std::string& name) {
    auto p = buildMigrationPlan(legacy, record(name), *renderer_, config_.sandbox);
    EXPECT_OK(p);
    return p.isOk() ? *p : MigrationPlan{};
  }

  Config config_;
  ManifestRendererPtr renderer_;
};

TEST_F(MigrationPlanTest, StatefulSetCarriesTheDeploymentsContainerAndMetadata) {
  LegacyObjects legacy;
  legacy.deployment = legacyDeployment("box", 1);
  MigrationPlan p = plan(legacy, "box");
  const json& sts = p.statefulSet;
  EXPECT_EQ(sts["kind"], "StatefulSet");
  EXPECT_EQ(sts["metadata"]["name"], "box");
  EXPECT_EQ(sts["spec"]["replicas"], 1);
  EXPECT_EQ(sts["spec"]["serviceName"], "box-service");
  // Ours and theirs.
  EXPECT_EQ(sts["metadata"]["labels"]["sandboxd.io/sandbox-id"], "sid-box");
  EXPECT_EQ(sts["metadata"]["labels"]["sandboxd.io/owner"], "alice");
  EXPECT_EQ(sts["metadata"]["labels"]["team"], "blue");
  EXPECT_EQ(sts["metadata"]["annotations"]["note"], "keep me");
  EXPECT_EQ(sts["metadata"]["annotations"]["deploy.cloud.sealos.io/resize"], "5Gi");
  EXPECT_FALSE(sts["metadata"]["annotations"].contains("deployment.kubernetes.io/revision"));
  EXPECT_EQ(sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"], "vn-homevn-agent");

  const json& podSpec = sts["spec"]["template"]["spec"];
  const json& main = podSpec["containers"][0];
  EXPECT_EQ(main["name"], "sandbox");
  EXPECT_EQ(main["image"], "registry.example.com/sandbox/runtime:v0");
  EXPECT_EQ((*findEnv(podSpec, "A"))["value"], "1");
  EXPECT_EQ((*findEnv(podSpec, "HOME"))["value"], "/home/agent") << "platform value wins";
  EXPECT_EQ((*findEnv(podSpec, "TOKEN"))["valueFrom"]["secretKeyRef"]["key"], "TOKEN");
  EXPECT_EQ(main["ports"][0]["containerPort"], 3000);
  EXPECT_EQ(main["resources"]["limits"]["memory"], "2Gi");
  // The hardened defaults apply where the Deployment sets nothing.
  EXPECT_EQ(podSpec["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(main["securityContext"]["capabilities"]["drop"], json::array({"ALL"}));
  // The terminal probes check port 7681, which this container does not have: left out (the
  // pod would never be Ready), and the plan says so.
  EXPECT_FALSE(main.contains("readinessProbe"));
  EXPECT_FALSE(main.contains("startupProbe"));
  bool noted = false;
  for (const auto& note : p.changed) {
    noted = noted || (note.field == "readinessProbe" &&
                      note.reason.find("no port 7681") != std::string::npos);
  }
  EXPECT_TRUE(noted);
  // configMap volume follows with its mount, emptyDir does not.
  ASSERT_EQ(podSpec["volumes"].size(), 1u);
  EXPECT_EQ(podSpec["volumes"][0]["name"], "cfg");
  bool cfgMounted = false;
  for (const auto& m : main["volumeMounts"]) {
    cfgMounted = cfgMounted || m["name"] == "cfg";
    EXPECT_NE(m["name"], "scratch");
  }
  EXPECT_TRUE(cfgMounted);

  // The registry entry after migration.
  EXPECT_EQ(p.record.workload, WorkloadKind::StatefulSet);
  EXPECT_EQ(p.record.env, (EnvMap{{"A", "1"}}));
  EXPECT_EQ(p.record.secretEnvKeys, std::vector<std::string>{"TOKEN"});
  EXPECT_EQ(p.record.storage, "5Gi");
  EXPECT_EQ(p.record.phase, Phase::Running);
}

TEST_F(MigrationPlanTest, TheTerminalProbesStayWhenTheContainerHasThePort) {
  LegacyObjects legacy;
  legacy.deployment = legacyDeployment("box", 1);
  legacy.deployment["spec"]["template"]["spec"]["containers"][0]["ports"].push_back(
      {{"name", "web-term"}, {"containerPort", 7681}, {"protocol", "TCP"}});
  const MigrationPlan p = plan(legacy, "box");
  const json& main = p.statefulSet["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(main["readinessProbe"]["tcpSocket"]["port"], 7681);
  EXPECT_EQ(main["startupProbe"]["tcpSocket"]["port"], 7681);
}

TEST_F(MigrationPlanTest, NotCarriedFieldsAreListedWithReasons) {
  LegacyObjects legacy;
  legacy.deployment = legacyDeployment("box", 1);
  MigrationPlan p = plan(legacy, "box");
  std::map<std::string, std::string> notes;
  for (const auto& n : p.notCarried) {
    notes[n.field] = n.reason;
  }
  EXPECT_TRUE(notes.count("spec.strategy.rollingUpdate.maxSurge (25%)"));
  EXPECT_TRUE(notes.count("spec.progressDeadlineSeconds (600)"));
  EXPECT_TRUE(notes.count("volume scratch (emptyDir)"));
  EXPECT_TRUE(notes.count("env HOME"));
  for (const auto& [field, reason] : notes) {
    EXPECT_FALSE(reason.empty()) << field;
  }
}

TEST_F(MigrationPlanTest, ScaledToZeroStaysStopped) {
  LegacyObjects legacy;
  legacy.deployment = legacyDeployment("idle", 0);
  MigrationPlan p = plan(legacy, "idle");
  EXPECT_EQ(p.replicas, 0);
  EXPECT_EQ(p.statefulSet["spec"]["replicas"], 0);
  EXPECT_EQ(p.record.desired, DesiredState::Stopped);
  EXPECT_EQ(p.record.phase, Phase::Stopped);
}

TEST_F(MigrationPlanTest, ServiceOfAnotherNameIsDeletedAndIngressRepointed) {
  LegacyObjects legacy;
  legacy.deployment = legacyDeployment("box", 1);
  legacy.services = {clusterIpService("box", "box")};
  legacy.ingresses = {ingressTo("box-app", "box"), ingressTo("other", "elsewhere")};
  legacy.secrets = {"box-env"};
  MigrationPlan p = plan(legacy, "box");
  ASSERT_EQ(p.serviceChanges.size(), 1u);
  EXPECT_EQ(p.serviceChanges[0].name, "box");
  EXPECT_EQ(p.serviceChanges[0].action, ServiceChange::Action::Delete);
  EXPECT_EQ(p.headlessService["metadata"]["name"], "box-service");
  EXPECT_EQ(p.headlessService["spec"]["clusterIP"], "None");
  EXPECT_EQ(p.headlessService["spec"]["ports"][0]["name"], "http") << "old ports kept";
  ASSERT_EQ(p.ingressRepoints.size(), 1u);
  EXPECT_EQ(p.ingressRepoints[0].name, "box-app");
  EXPECT_EQ(p.ingressRepoints[0].newSpec["rules"][0]["http"]["paths"][0]["backend"]["service"]
                                        ["name"],
            "box-service");
  std::string text = formatPlan(p, false);
  EXPECT_TRUE(contains(text, "delete Service box: the old ClusterIP Service")) << text;
  EXPECT_TRUE(contains(text, "create Service box-service: headless")) << text;
  EXPECT_TRUE(contains(text, "keep Ingress box-app (backend repointed to box-service)")) << text;
  EXPECT_TRUE(contains(text, "keep Ingress other")) << text;
  EXPECT_TRUE(contains(text, "keep Secret box-env")) << text;
  EXPECT_TRUE(contains(text, "not carried over spec.strategy.rollingUpdate.maxSurge")) << text;
  // The migrated sandbox gets its NetworkPolicy like a new one.
  ASSERT_TRUE(p.networkPolicy.has_value());
  EXPECT_EQ((*p.networkPolicy)["metadata"]["name"], "box-netpol");
  EXPECT_EQ((*p.networkPolicy)["spec"]["podSelector"]["matchLabels"]["app"], "box");
  EXPECT_TRUE(contains(text, "create NetworkPolicy box-netpol")) << text;
}

TEST_F(MigrationPlanTest, ServiceOfTheSameNameIsReplaced) {
  LegacyObjects legacy;
  legacy.deployment = legacyDeployment("box", 1);
  legacy.services = {clusterIpService("box-service", "box")};
  MigrationPlan p = plan(legacy, "box");
  ASSERT_EQ(p.serviceChanges.size(), 1u);
  EXPECT_EQ(p.serviceChanges[0].action, ServiceChange::Action::Replace);
  std::string text = formatPlan(p, false);
  EXPECT_TRUE(contains(text, "replace Service box-service")) << text;
  EXPECT_TRUE(contains(text, "cannot become headless in place")) << text;
}

TEST_F(MigrationPlanTest, YamlOutputHoldsTheFullManifests) {
  LegacyObjects legacy;
  legacy.deployment = legacyDeployment("box", 1);
  std::string yaml = formatPlan(plan(legacy, "box"), true);
  EXPECT_TRUE(contains(yaml, "# sandbox box")) << yaml;
  EXPECT_TRUE(contains(yaml, "kind: StatefulSet")) << yaml;
  EXPECT_TRUE(contains(yaml, "volumeClaimTemplates:")) << yaml;
  EXPECT_TRUE(contains(yaml, "clusterIP: None")) << yaml;
  EXPECT_TRUE(contains(yaml, "kind: NetworkPolicy")) << yaml;
}

TEST_F(MigrationPlanTest, NoContainersIsAnError) {
  LegacyObjects legacy;
  legacy.deployment = legacyDeployment("box", 1);
  legacy.deployment["spec"]["template"]["spec"]["containers"] = json::array();
  EXPECT_KIND(buildMigrationPlan(legacy, record("box"), *renderer_, config_.sandbox),
              InvalidArgument);
}

TEST(StatefulSetSettledTest, Table) {
  struct Row {
    const char* name;
    json sts;
    bool settled;
  };
  std::vector<Row> rows = {
      {"not observed yet",
       {{"metadata", {{"generation", 2}}},
        {"spec", {{"replicas", 1}}},
        {"status", {{"observedGeneration", 1}, {"readyReplicas", 1}, {"updatedReplicas", 1}}}},
       false},
      {"running and ready",
       {{"metadata", {{"generation", 1}}},
        {"spec", {{"replicas", 1}}},
        {"status", {{"observedGeneration", 1}, {"readyReplicas", 1}, {"updatedReplicas", 1}}}},
       true},
      {"pod not ready",
       {{"metadata", {{"generation", 1}}},
        {"spec", {{"replicas", 1}}},
        {"status", {{"observedGeneration", 1}, {"replicas", 1}}}},
       false},
      {"stopped, no pods",
       {{"metadata", {{"generation", 1}}},
        {"spec", {{"replicas", 0}}},
        {"status", {{"observedGeneration", 1}}}},
       true},
      {"stopped, pod still there",
       {{"metadata", {{"generation", 1}}},
        {"spec", {{"replicas", 0}}},
        {"status", {{"observedGeneration", 1}, {"replicas", 1}}}},
       false},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(statefulSetSettled(row.sts), row.settled) << row.name;
  }
}

}  // namespace
}  // namespace sandboxd
