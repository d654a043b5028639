// Rendering: every field DESIGN.md §1 names, golden files, and injection attempts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "fakes/manifest_lookup.h"
#include "fakes/profiles_yaml.h"
#include "fakes/status_matchers.h"
#include "sandboxd/render/manifest_renderer.h"

namespace sandboxd {
namespace {

using testing::findEnv;

const json& podSpecOf(const RenderedManifests& m) {
  return m.statefulSet["spec"]["template"]["spec"];
}

SandboxSpec demoSpec() {
  SandboxSpec spec;
  spec.name = "demo";
  spec.nameSpace = "ns-alice";
  spec.user = "alice";
  spec.sandboxId = "0b5e4a0e-1111-4222-8333-444455556666";
  spec.image = "ghcr.io/org/sandbox:v1";
  spec.env = {{"K", "V"}, {"EDITOR", "vim"}};
  spec.secretEnv = {{"S", "v"}};
  return spec;
}

ManifestRendererPtr renderer(const Config& config = {}) {
  auto r = makeTemplateRenderer(config);
  EXPECT_OK(r);
  return *r;
}

TEST(Renderer, StatefulSetCarriesNamesLabelsAnnotationsAndTheHomeVolume) {
  auto out = renderer()->render(demoSpec());
  ASSERT_OK(out);
  const json& sts = out->statefulSet;
  EXPECT_EQ(sts["apiVersion"], "apps/v1");
  EXPECT_EQ(sts["kind"], "StatefulSet");
  EXPECT_EQ(sts["metadata"]["name"], "demo");
  EXPECT_EQ(sts["metadata"]["namespace"], "ns-alice");
  const json& labels = sts["metadata"]["labels"];
  EXPECT_EQ(labels["app"], "demo");
  EXPECT_EQ(labels["cloud.sealos.io/app-deploy-manager"], "demo");
  EXPECT_EQ(labels["app.kubernetes.io/managed-by"], "sandboxd");
  EXPECT_EQ(labels["sandboxd.io/sandbox-id"], "0b5e4a0e-1111-4222-8333-444455556666");
  EXPECT_EQ(labels["sandboxd.io/owner"], "alice");
  const json& ann = sts["metadata"]["annotations"];
  EXPECT_EQ(ann["originImageName"], "ghcr.io/org/sandbox:v1");
  EXPECT_EQ(ann["deploy.cloud.sealos.io/minReplicas"], "1");
  EXPECT_EQ(ann["deploy.cloud.sealos.io/maxReplicas"], "1");
  EXPECT_EQ(ann["deploy.cloud.sealos.io/resize"], "5Gi");

  const json& spec = sts["spec"];
  EXPECT_EQ(spec["replicas"], 1);
  EXPECT_EQ(spec["serviceName"], "demo-service");
  EXPECT_EQ(spec["updateStrategy"]["type"], "RollingUpdate");
  // A never-Ready pod does not block the rollout of a fixed template (kubernetes#67250).
  EXPECT_EQ(spec["podManagementPolicy"], "Parallel");
  EXPECT_EQ(spec["selector"]["matchLabels"], json({{"app", "demo"}}));
  EXPECT_EQ(spec["template"]["metadata"]["labels"]["app"], "demo");

  const json& pod = spec["template"]["spec"];
  EXPECT_FALSE(pod.contains("volumes")) << "the VCT is mounted through volumeMounts only";
  const json& c = pod["containers"][0];
  EXPECT_EQ(c["name"], "sandbox");
  EXPECT_EQ(c["image"], "ghcr.io/org/sandbox:v1");
  EXPECT_EQ(c["volumeMounts"],
            json::array({{{"name", "vn-homevn-agent"}, {"mountPath", "/home/agent"}}}));
  EXPECT_EQ(c["ports"][0]["containerPort"], 3000);
  EXPECT_EQ(c["resources"]["requests"]["cpu"], "100m");
  EXPECT_EQ(c["resources"]["limits"]["memory"], "4Gi");

  ASSERT_EQ(spec["volumeClaimTemplates"].size(), 1u);
  const json& vct = spec["volumeClaimTemplates"][0];
  EXPECT_EQ(vct["metadata"]["name"], "vn-homevn-agent");
  EXPECT_EQ(vct["metadata"]["annotations"]["path"], "/home/agent");
  EXPECT_EQ(vct["metadata"]["annotations"]["value"], "5");
  EXPECT_EQ(vct["spec"]["accessModes"], json::array({"ReadWriteOnce"}));
  EXPECT_EQ(vct["spec"]["resources"]["requests"]["storage"], "5Gi");
  EXPECT_FALSE(vct["spec"].contains("storageClassName")) << "cluster default unless configured";
}

TEST(Renderer, EnvIsStructuredAndSecretValuesOnlyInTheSecret) {
  auto out = renderer()->render(demoSpec());
  ASSERT_OK(out);
  const json* k = findEnv(podSpecOf(*out), "K");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ((*k)["value"], "V");
  const json* s = findEnv(podSpecOf(*out), "S");
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->contains("value"));
  EXPECT_EQ((*s)["valueFrom"]["secretKeyRef"],
            json({{"name", "demo-env"}, {"key", "S"}}));
  EXPECT_NE(findEnv(podSpecOf(*out), "SANDBOX_NAME"), nullptr);
  EXPECT_EQ(out->statefulSet.dump().find("\"v\""), std::string::npos)
      << "the secret value must not appear in the StatefulSet";
  ASSERT_TRUE(out->secret.has_value());
  EXPECT_EQ((*out->secret)["metadata"]["name"], "demo-env");
  EXPECT_EQ((*out->secret)["stringData"], json({{"S", "v"}}));
}

TEST(Renderer, NoSecretWithoutSecretValues) {
  SandboxSpec spec = demoSpec();
  spec.secretEnv.clear();
  auto out = renderer()->render(spec);
  ASSERT_OK(out);
  EXPECT_FALSE(out->secret.has_value());
  EXPECT_EQ(out->all().size(), 5u);  // NetworkPolicy, Service, StatefulSet, two Ingresses
}

TEST(Renderer, HeadlessServiceAndIngresses) {
  auto out = renderer()->render(demoSpec());
  ASSERT_OK(out);
  const json& svc = out->service;
  EXPECT_EQ(svc["metadata"]["name"], "demo-service");
  EXPECT_EQ(svc["spec"]["clusterIP"], "None");
  EXPECT_EQ(svc["spec"]["selector"], json({{"app", "demo"}}));
  EXPECT_EQ(svc["spec"]["ports"].size(), 2u);
  ASSERT_EQ(out->ingresses.size(), 2u);
  const json& ing = out->ingresses[0];
  EXPECT_EQ(ing["metadata"]["name"], "demo-app-ingress");
  EXPECT_EQ(ing["metadata"]["labels"]["cloud.sealos.io/app-deploy-manager-domain"], "demo-app");
  EXPECT_EQ(ing["spec"]["rules"][0]["host"], "demo-app.sandbox.example.com");
  EXPECT_EQ(ing["spec"]["tls"][0]["secretName"], "wildcard-cert");
  const json& backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"];
  EXPECT_EQ(backend["name"], "demo-service");
  EXPECT_EQ(backend["port"]["number"], 3000);
  EXPECT_EQ(out->ingresses[1]["metadata"]["name"], "demo-ttyd-ingress");
}

TEST(Renderer, ConfigKnobsReachTheManifests) {
  Config config;
  config.sandbox.storageClass = "fast-ssd";
  config.sandbox.nodeSelector = {{"pool", "sandboxes"}};
  config.sandbox.tolerations = {{"dedicated", "Equal", "sandbox", "NoSchedule"}};
  config.sandbox.resources.cpuLimit = "4";
  config.sandbox.ports = {{"web", 8080, true}, {"ssh", 22, false}};
  SandboxSpec spec = demoSpec();
  spec.storage = "20Gi";
  auto out = renderer(config)->render(spec);
  ASSERT_OK(out);
  const json& sts = out->statefulSet;
  EXPECT_EQ(sts["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"], "fast-ssd");
  EXPECT_EQ(sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
            "20Gi");
  EXPECT_EQ(sts["spec"]["volumeClaimTemplates"][0]["metadata"]["annotations"]["value"], "20");
  EXPECT_EQ(sts["metadata"]["annotations"]["deploy.cloud.sealos.io/resize"], "20Gi");
  EXPECT_EQ(sts["spec"]["template"]["spec"]["nodeSelector"], json({{"pool", "sandboxes"}}));
  EXPECT_EQ(sts["spec"]["template"]["spec"]["tolerations"][0]["effect"], "NoSchedule");
  EXPECT_EQ(sts["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"], "4");
  ASSERT_EQ(out->ingresses.size(), 1u) << "only ports marked ingress get an Ingress";
  EXPECT_EQ(out->ingresses[0]["metadata"]["name"], "demo-web-ingress");
  EXPECT_EQ(out->service["spec"]["ports"].size(), 2u);
}

TEST(Renderer, UserValuesNeverChangeStructure) {
  const std::string yamlInjection = "x\n  - name: EVIL\n    value: 1";
  const std::string placeholder = "{{name}}";
  SandboxSpec spec = demoSpec();
  spec.env = {{"A", yamlInjection}, {"B", placeholder}, {"C", "'; DROP: [1, 2]"}};
  spec.secretEnv = {{"S", yamlInjection}};
  auto out = renderer()->render(spec);
  ASSERT_OK(out);
  EXPECT_EQ((*findEnv(podSpecOf(*out), "A"))["value"], yamlInjection);
  EXPECT_EQ((*findEnv(podSpecOf(*out), "B"))["value"], placeholder);
  EXPECT_EQ(findEnv(podSpecOf(*out), "EVIL"), nullptr);
  EXPECT_EQ((*out->secret)["stringData"]["S"], yamlInjection);

  // The YAML text reads back as the same objects: nothing added, nothing re-typed.
  std::string text = toYamlDocuments(out->all());
  std::vector<json> reparsed;
  size_t start = 0;
  while (true) {
    size_t next = text.find("---\n", start + 4);
    std::string doc = text.substr(start + 4, next == std::string::npos ? std::string::npos
                                                                       : next - start - 4);
    auto parsed = yamlToJson(doc, "doc");
    ASSERT_OK(parsed);
    reparsed.push_back(*parsed);
    if (next == std::string::npos) {
      break;
    }
    start = next;
  }
  EXPECT_EQ(reparsed, out->all());
}

TEST(Renderer, IsDeterministic) {
  auto r = renderer();
  std::string a = toYamlDocuments(r->render(demoSpec())->all());
  std::string b = toYamlDocuments(renderer()->render(demoSpec())->all());
  EXPECT_EQ(a, b);
}

TEST(YamlToJson, KeepsQuotedScalarsAsStrings) {
  auto parsed = yamlToJson("a: '1'\nb: 1\nc: true\nd: \"true\"\ne: ~\nf: 1.5\ng: x\n", "t");
  ASSERT_OK(parsed);
  EXPECT_EQ((*parsed)["a"], "1");
  EXPECT_EQ((*parsed)["b"], 1);
  EXPECT_EQ((*parsed)["c"], true);
  EXPECT_EQ((*parsed)["d"], "true");
  EXPECT_TRUE((*parsed)["e"].is_null());
  EXPECT_EQ((*parsed)["f"], 1.5);
  EXPECT_EQ((*parsed)["g"], "x");
  EXPECT_KIND(yamlToJson("a: [1, 2", "t"), InvalidArgument);
}

TEST(ToYamlDocuments, QuotesStringsThatWouldReadAsOtherTypes) {
  json object = {{"a", "1"}, {"b", "true"}, {"c", "null"}, {"d", "plain"}, {"e", ""},
                 {"f", "yes"}, {"g", "1.5"}, {"h", 2}};
  auto back = yamlToJson(toYamlDocuments({object}).substr(4), "t");
  ASSERT_OK(back);
  EXPECT_EQ(*back, object);
}

TEST(Renderer, PodIsHardenedByDefault) {
  auto out = renderer()->render(demoSpec());
  ASSERT_OK(out);
  const json& pod = podSpecOf(*out);
  EXPECT_EQ(pod["automountServiceAccountToken"], false);
  EXPECT_EQ(pod["enableServiceLinks"], false);
  const json& psc = pod["securityContext"];
  EXPECT_EQ(psc["runAsNonRoot"], true);
  EXPECT_EQ(psc["runAsUser"], 1000);
  EXPECT_EQ(psc["runAsGroup"], 1000);
  EXPECT_EQ(psc["fsGroup"], 1000);
  EXPECT_EQ(psc["fsGroupChangePolicy"], "OnRootMismatch");  // from the template, kept
  EXPECT_EQ(psc["seccompProfile"], json({{"type", "RuntimeDefault"}}));
  const json& csc = pod["containers"][0]["securityContext"];
  EXPECT_EQ(csc["allowPrivilegeEscalation"], false);
  EXPECT_EQ(csc["capabilities"]["drop"], json::array({"ALL"}));
  EXPECT_EQ(csc["runAsNonRoot"], true);
  const json& resources = pod["containers"][0]["resources"];
  EXPECT_EQ(resources["requests"]["ephemeral-storage"], "1Gi");
  EXPECT_EQ(resources["limits"]["ephemeral-storage"], "10Gi");
  EXPECT_EQ(resources["requests"]["cpu"], "100m");
  EXPECT_EQ(resources["limits"]["memory"], "4Gi");
}

TEST(Renderer, PodSecurityFollowsTheConfig) {
  Config config;
  SecurityConfig& sec = config.sandbox.security;
  sec.runAsNonRoot = false;
  sec.runAsUser = 0;
  sec.runAsGroup.reset();
  sec.fsGroup = 2000;
  sec.allowPrivilegeEscalation = true;
  sec.dropAllCapabilities = false;
  sec.seccompProfile = "";
  sec.automountServiceAccountToken = true;
  sec.enableServiceLinks = true;
  config.sandbox.resources.ephemeralStorageRequest = "";
  config.sandbox.resources.ephemeralStorageLimit = "3Gi";
  auto out = renderer(config)->render(demoSpec());
  ASSERT_OK(out);
  const json& pod = podSpecOf(*out);
  EXPECT_EQ(pod["automountServiceAccountToken"], true);
  EXPECT_EQ(pod["enableServiceLinks"], true);
  const json& psc = pod["securityContext"];
  EXPECT_FALSE(psc.contains("runAsNonRoot"));
  EXPECT_EQ(psc["runAsUser"], 0);
  EXPECT_FALSE(psc.contains("runAsGroup"));
  EXPECT_EQ(psc["fsGroup"], 2000);
  EXPECT_FALSE(psc.contains("seccompProfile"));
  const json& csc = pod["containers"][0]["securityContext"];
  EXPECT_EQ(csc["allowPrivilegeEscalation"], true);
  EXPECT_FALSE(csc.contains("capabilities"));
  EXPECT_FALSE(csc.contains("runAsNonRoot"));
  const json& resources = pod["containers"][0]["resources"];
  EXPECT_FALSE(resources["requests"].contains("ephemeral-storage"));
  EXPECT_EQ(resources["limits"]["ephemeral-storage"], "3Gi");
}

TEST(Renderer, NetworkPolicyAdmitsOnlyTheIngressControllerToTheIngressPorts) {
  Config config;
  config.sandbox.ports = {{"app", 3000, true}, {"ttyd", 7681, true}, {"debug", 9229, false}};
  auto out = renderer(config)->render(demoSpec());
  ASSERT_OK(out);
  ASSERT_TRUE(out->networkPolicy.has_value());
  const json& np = *out->networkPolicy;
  EXPECT_EQ(np["apiVersion"], "networking.k8s.io/v1");
  EXPECT_EQ(np["kind"], "NetworkPolicy");
  EXPECT_EQ(np["metadata"]["name"], "demo-netpol");
  EXPECT_EQ(np["metadata"]["namespace"], "ns-alice");
  EXPECT_EQ(np["metadata"]["labels"]["app"], "demo");
  EXPECT_EQ(np["metadata"]["labels"]["app.kubernetes.io/managed-by"], "sandboxd");
  EXPECT_EQ(np["metadata"]["labels"]["sandboxd.io/sandbox-id"], demoSpec().sandboxId);
  // It selects exactly the pods the StatefulSet makes.
  const json& selector = np["spec"]["podSelector"]["matchLabels"];
  const json& podLabels = out->statefulSet["spec"]["template"]["metadata"]["labels"];
  for (const auto& [key, value] : selector.items()) {
    EXPECT_EQ(podLabels[key], value) << key;
  }
  EXPECT_EQ(selector["app"], "demo");
  EXPECT_EQ(np["spec"]["policyTypes"], json::array({"Ingress"}));  // egress open
  EXPECT_FALSE(np["spec"].contains("egress"));
  ASSERT_EQ(np["spec"]["ingress"].size(), 1u);
  const json& rule = np["spec"]["ingress"][0];
  EXPECT_EQ(rule["from"], json::parse(R"([{"namespaceSelector":
      {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}])"));
  EXPECT_EQ(rule["ports"], json::parse(R"([{"protocol": "TCP", "port": 3000},
                                            {"protocol": "TCP", "port": 7681}])"));
  // Applied before the pod can exist.
  const auto all = out->all();
  const auto at = [&](const char* kind) {
    return std::find_if(all.begin(), all.end(), [&](const json& o) { return o["kind"] == kind; }) -
           all.begin();
  };
  EXPECT_LT(at("NetworkPolicy"), at("StatefulSet"));
}

TEST(Renderer, NetworkPolicyFollowsTheConfig) {
  Config config;
  NetworkPolicyConfig& np = config.sandbox.networkPolicy;
  np.ingressNamespaceSelector = {{"team", "edge"}};
  np.ingressPodSelector = {{"app.kubernetes.io/name", "ingress-nginx"}};
  np.egress = "restricted";
  np.egressAllowCidrs = {"0.0.0.0/0", "fd00::/8"};
  np.egressExceptCidrs = {"10.0.0.0/8", "169.254.169.254/32"};
  auto out = renderer(config)->render(demoSpec());
  ASSERT_OK(out);
  const json& spec = (*out->networkPolicy)["spec"];
  EXPECT_EQ(spec["policyTypes"], json::array({"Ingress", "Egress"}));
  EXPECT_EQ(spec["ingress"][0]["from"], json::parse(R"([{
      "namespaceSelector": {"matchLabels": {"team": "edge"}},
      "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}}}])"));
  // DNS, then the allowed CIDRs, each with the exceptions that lie inside it (the API server
  // refuses others).
  EXPECT_EQ(spec["egress"], json::parse(R"([
      {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
      {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "169.254.169.254/32"]}},
              {"ipBlock": {"cidr": "fd00::/8"}}]}])"));

  np.egressAllowCidrs.clear();
  out = renderer(config)->render(demoSpec());
  ASSERT_OK(out);
  EXPECT_EQ((*out->networkPolicy)["spec"]["egress"].size(), 1u);  // DNS only

  config.sandbox.ports = {{"app", 3000, false}};
  out = renderer(config)->render(demoSpec());
  ASSERT_OK(out);
  EXPECT_EQ((*out->networkPolicy)["spec"]["ingress"], json::array());  // nothing comes in

  config.sandbox.networkPolicy.enabled = false;
  out = renderer(config)->render(demoSpec());
  ASSERT_OK(out);
  EXPECT_FALSE(out->networkPolicy.has_value());
  for (const json& object : out->all()) {
    EXPECT_NE(object["kind"], "NetworkPolicy");
  }
}

TEST(Renderer, ProbesCheckTheTerminalPort) {
  auto out = renderer()->render(demoSpec());
  ASSERT_OK(out);
  const json& c = podSpecOf(*out)["containers"][0];
  EXPECT_EQ(c["startupProbe"], json::parse(R"({"tcpSocket": {"port": 7681},
      "periodSeconds": 5, "timeoutSeconds": 1, "failureThreshold": 60, "successThreshold": 1})"));
  EXPECT_EQ(c["readinessProbe"], json::parse(R"({"tcpSocket": {"port": 7681},
      "periodSeconds": 10, "timeoutSeconds": 1, "failureThreshold": 3, "successThreshold": 1})"));
  EXPECT_FALSE(c.contains("livenessProbe"));
  // The probed port is the container's terminal port.
  bool probed = false;
  for (const auto& port : c["ports"]) {
    probed = probed || (port["name"] == "ttyd" && port["containerPort"] == 7681);
  }
  EXPECT_TRUE(probed);
}

TEST(Renderer, ProbesFollowTheConfig) {
  Config config;
  config.sandbox.ports = {{"web", 8080, true}};
  config.sandbox.probes.port = "web";
  config.sandbox.probes.startup.enabled = false;
  config.sandbox.probes.liveness = {true, 20, 4, 5};
  auto out = renderer(config)->render(demoSpec());
  ASSERT_OK(out);
  const json& c = podSpecOf(*out)["containers"][0];
  EXPECT_FALSE(c.contains("startupProbe"));
  EXPECT_EQ(c["readinessProbe"]["tcpSocket"]["port"], 8080);
  EXPECT_EQ(c["livenessProbe"], json::parse(R"({"tcpSocket": {"port": 8080},
      "periodSeconds": 20, "timeoutSeconds": 4, "failureThreshold": 5, "successThreshold": 1})"));

  config.sandbox.probes.port = "";
  out = renderer(config)->render(demoSpec());
  ASSERT_OK(out);
  const json& none = podSpecOf(*out)["containers"][0];
  EXPECT_FALSE(none.contains("startupProbe"));
  EXPECT_FALSE(none.contains("readinessProbe"));
  EXPECT_FALSE(none.contains("livenessProbe"));
}

// Golden files: tests/testdata/manifests/*.yaml. SANDBOXD_UPDATE_GOLDEN=1 rewrites them;
// review the diff.
void expectGolden(const std::string& file, const std::string& actual) {
  std::string path = std::string(SANDBOXD_SOURCE_DIR) + "/tests/testdata/manifests/" + file;
  if (std::getenv("SANDBOXD_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << actual;
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "missing golden file " << path
                         << " (run with SANDBOXD_UPDATE_GOLDEN=1)";
  std::stringstream buf;
  buf << in.rdbuf();
  std::string expected = buf.str();
  expected.erase(std::remove(expected.begin(), expected.end(), '\r'), expected.end());
  EXPECT_EQ(actual, expected) << "rendered manifests differ from " << path;
}

TEST(Renderer, MatchesGoldenDefault) {
  SandboxSpec spec = demoSpec();
  spec.image = "";
  spec.env.clear();
  spec.secretEnv.clear();
  expectGolden("default.yaml", toYamlDocuments(renderer()->render(spec)->all()));
}

TEST(Renderer, MatchesGoldenCustomised) {
  Config config;
  config.sandbox.storageClass = "fast-ssd";
  config.sandbox.nodeSelector = {{"pool", "sandboxes"}};
  config.sandbox.tolerations = {{"dedicated", "Equal", "sandbox", "NoSchedule"}};
  SandboxSpec spec = demoSpec();
  spec.storage = "20Gi";
  expectGolden("customised.yaml", toYamlDocuments(renderer(config)->render(spec)->all()));
}

// tests/testdata/profiles.yaml: small and large.
Config profilesConfig() {
  auto config = applyConfigYaml(Config{}, testing::profilesYaml(), "profiles.yaml");
  EXPECT_OK(config);
  return *config;
}

TEST(Renderer, MatchesGoldenProfileSmall) {
  SandboxSpec spec = demoSpec();
  spec.profile = "small";
  spec.storage = "";
  expectGolden("profile-small.yaml",
               toYamlDocuments(renderer(profilesConfig())->render(spec)->all()));
}

TEST(Renderer, MatchesGoldenProfileLarge) {
  SandboxSpec spec = demoSpec();
  spec.profile = "large";
  spec.storage = "";
  expectGolden("profile-large.yaml",
               toYamlDocuments(renderer(profilesConfig())->render(spec)->all()));
}

TEST(Renderer, ProfilesShapeThePodAndKeepThePlatformMetadata) {
  auto r = renderer(profilesConfig());
  SandboxSpec spec = demoSpec();
  spec.profile = "large";
  spec.storage = "";
  auto large = r->render(spec);
  ASSERT_OK(large);
  const json& pod = podSpecOf(*large);
  const json& c = pod["containers"][0];
  EXPECT_EQ(c["resources"]["requests"]["cpu"], "2");
  EXPECT_EQ(c["resources"]["limits"]["memory"], "32Gi");
  // Keys a profile leaves out keep sandbox.*'s values.
  EXPECT_EQ(c["resources"]["limits"]["ephemeral-storage"], "10Gi");
  EXPECT_EQ(pod["nodeSelector"], json({{"pool", "large"}}));
  EXPECT_EQ(pod["tolerations"][0]["value"], "large");
  EXPECT_EQ(pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
               ["nodeSelectorTerms"][0]["matchExpressions"][0]["values"],
            json::array({"amd64"}));
  EXPECT_EQ(pod["securityContext"]["runAsUser"], 2000);
  EXPECT_EQ(c["readinessProbe"]["periodSeconds"], 5);
  EXPECT_EQ(c["readinessProbe"]["failureThreshold"], 6);
  EXPECT_EQ(c["livenessProbe"]["periodSeconds"], 20);
  // Extra ports after sandbox.ports; an Ingress only for the one that asks for it.
  ASSERT_EQ(c["ports"].size(), 4u);
  EXPECT_EQ(c["ports"][2]["containerPort"], 5900);
  EXPECT_EQ(large->service["spec"]["ports"].size(), 4u);
  ASSERT_EQ(large->ingresses.size(), 3u);
  EXPECT_EQ(large->ingresses[2]["metadata"]["name"], "demo-docs-ingress");
  const json& vct = large->statefulSet["spec"]["volumeClaimTemplates"][0];
  EXPECT_EQ(vct["spec"]["storageClassName"], "fast-ssd");
  EXPECT_EQ(vct["spec"]["resources"]["requests"]["storage"], "20Gi");
  for (const json* meta : {&large->statefulSet["metadata"],
                           &large->statefulSet["spec"]["template"]["metadata"]}) {
    EXPECT_EQ((*meta)["labels"]["tier"], "large");
    EXPECT_EQ((*meta)["labels"]["app"], "demo");
    EXPECT_EQ((*meta)["labels"]["sandboxd.io/owner"], "alice");
    EXPECT_EQ((*meta)["annotations"]["cost-center"], "gpu-team");
  }

  spec.profile = "small";
  auto small = r->render(spec);
  ASSERT_OK(small);
  EXPECT_FALSE(podSpecOf(*small).contains("nodeSelector"));
  EXPECT_FALSE(podSpecOf(*small).contains("tolerations"));
  EXPECT_FALSE(podSpecOf(*small).contains("affinity"));
  EXPECT_EQ(small->ingresses.size(), 2u);
  EXPECT_EQ(podSpecOf(*small)["containers"][0]["resources"]["limits"]["cpu"], "1");

  spec.profile = "huge";
  EXPECT_KIND(r->render(spec), InvalidArgument);
}

TEST(Renderer, WithoutProfilesTheDefaultProfileIsTheSandboxSettings) {
  SandboxSpec spec = demoSpec();
  auto unnamed = renderer()->render(spec);
  spec.profile = "default";
  auto named = renderer()->render(spec);
  ASSERT_OK(named);
  EXPECT_EQ(named->all(), unnamed->all());
  spec.profile = "large";
  EXPECT_KIND(renderer()->render(spec), InvalidArgument);
}

TEST(Renderer, TemplatesDirOverridesEmbeddedTemplates) {
  Config config;
  config.server.templatesDir = std::string(SANDBOXD_SOURCE_DIR) + "/yaml/sandbox";
  auto fromDir = renderer(config)->render(demoSpec());
  auto embedded = renderer()->render(demoSpec());
  ASSERT_OK(fromDir);
  EXPECT_EQ(fromDir->all(), embedded->all());
  config.server.templatesDir = "/nonexistent";
  EXPECT_KIND(makeTemplateRenderer(config), InvalidArgument);
}

}  // namespace
}  // namespace sandboxd
