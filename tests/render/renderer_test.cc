// Rendering: every field DESIGN.md §1 names, golden files, and injection attempts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "fakes/manifest_lookup.h"
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
  EXPECT_EQ(out->all().size(), 4u);  // Service, StatefulSet, two Ingresses
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
