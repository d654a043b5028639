// deploy/ against this sandboxd: the ConfigMap's configuration file is one sandboxd accepts,
// and the StatefulSet, Service, ServiceAccount and Role refer to each other and to that file
// consistently (ports, paths, names, namespaces, probes, the drain, the image's user). The API
// server's view of the same objects is tests/integration/deploy_test.cc.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "api/api_server_options.h"
#include "fakes/status_matchers.h"
#include "sandboxd/config/config.h"
#include "sandboxd/model/naming.h"
#include "support/deploy_files.h"

namespace sandboxd {
namespace {

using ::sandboxd::testing::findObject;
using ::sandboxd::testing::kustomizationObjects;

class DeployManifestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    objects_ = kustomizationObjects();
    for (const auto& [kind, name] :
         std::vector<std::pair<const char*, const char*>>{{"StatefulSet", "sandboxd"},
                                                          {"Service", "sandboxd"},
                                                          {"ConfigMap", "sandboxd-config"},
                                                          {"ServiceAccount", "sandboxd"},
                                                          {"Role", "sandboxd"},
                                                          {"RoleBinding", "sandboxd"},
                                                          {"Ingress", "sandboxd-auth"}}) {
      const json* o = findObject(objects_, kind, name);
      ASSERT_NE(o, nullptr) << kind << " " << name << " is not in the kustomization";
      byKind_[kind] = *o;
    }
    const json& sts = byKind_["StatefulSet"];
    pod_ = sts["spec"]["template"]["spec"];
    ASSERT_EQ(pod_["containers"].size(), 1u);
    container_ = pod_["containers"][0];
  }

  std::string ns(const char* kind) { return byKind_[kind]["metadata"].value("namespace", ""); }

  // The configuration file the ConfigMap holds, as sandboxd loads it.
  Config config() {
    const json& data = byKind_["ConfigMap"]["data"];
    EXPECT_TRUE(data.contains("sandboxd.yaml"));
    auto loaded = applyConfigYaml(Config{}, data.value("sandboxd.yaml", ""), "deploy/configmap.yaml");
    EXPECT_OK(loaded);
    return loaded.isOk() ? *loaded : Config{};
  }

  // The container port named `name`, 0 if none.
  int containerPort(const std::string& name) {
    for (const json& p : container_.value("ports", json::array())) {
      if (p.value("name", "") == name) {
        return p.value("containerPort", 0);
      }
    }
    return 0;
  }

  std::vector<json> objects_;
  std::map<std::string, json> byKind_;
  json pod_;
  json container_;
};

TEST_F(DeployManifestsTest, TheConfigFileIsValidAndInCluster) {
  const Config c = config();
  EXPECT_EQ(c.server.kube, "in-cluster");
  // Reachable by the kubelet's probes and the Service, on the container port "http".
  EXPECT_EQ(c.server.listen, "0.0.0.0:" + std::to_string(containerPort("http")));
  EXPECT_EQ(byKind_["Service"]["spec"]["ports"][0].value("targetPort", ""), "http");
  // The database is on the StatefulSet's volume.
  const std::string dbDir = c.server.db.substr(0, c.server.db.rfind('/'));
  bool onVolume = false;
  for (const json& mount : container_["volumeMounts"]) {
    for (const json& vct : byKind_["StatefulSet"]["spec"]["volumeClaimTemplates"]) {
      onVolume = onVolume || (mount.value("name", "") == vct["metadata"].value("name", "") &&
                              mount.value("mountPath", "") == dbDir);
    }
  }
  EXPECT_TRUE(onVolume) << c.server.db << " is not on a volumeClaimTemplate's mount";
}

TEST_F(DeployManifestsTest, NamesAndNamespacesReferToEachOther) {
  const Config c = config();
  EXPECT_EQ(ns("Role"), c.sandbox.nameSpace) << "the Role must be where sandboxes are made";
  EXPECT_EQ(ns("RoleBinding"), c.sandbox.nameSpace);
  const json& binding = byKind_["RoleBinding"];
  EXPECT_EQ(binding["roleRef"].value("kind", ""), "Role");
  EXPECT_EQ(binding["roleRef"].value("name", ""), byKind_["Role"]["metadata"].value("name", ""));
  ASSERT_EQ(binding["subjects"].size(), 1u);
  EXPECT_EQ(binding["subjects"][0].value("kind", ""), "ServiceAccount");
  EXPECT_EQ(binding["subjects"][0].value("name", ""),
            byKind_["ServiceAccount"]["metadata"].value("name", ""));
  EXPECT_EQ(binding["subjects"][0].value("namespace", ""), ns("ServiceAccount"));
  EXPECT_EQ(pod_.value("serviceAccountName", ""),
            byKind_["ServiceAccount"]["metadata"].value("name", ""));
  for (const char* kind : {"StatefulSet", "Service", "ConfigMap"}) {
    EXPECT_EQ(ns(kind), ns("ServiceAccount")) << kind;
  }
  EXPECT_NE(ns("StatefulSet"), c.sandbox.nameSpace)
      << "sandboxd's own namespace is not the sandboxes' (the Role grants nothing there)";
  // Selectors.
  const json labels = byKind_["StatefulSet"]["spec"]["template"]["metadata"]["labels"];
  for (const auto& [key, value] : byKind_["StatefulSet"]["spec"]["selector"]["matchLabels"].items()) {
    EXPECT_EQ(labels.value(key, ""), value);
  }
  for (const auto& [key, value] : byKind_["Service"]["spec"]["selector"].items()) {
    EXPECT_EQ(labels.value(key, ""), value);
  }
  EXPECT_EQ(byKind_["StatefulSet"]["spec"].value("serviceName", ""),
            byKind_["Service"]["metadata"].value("name", ""));
}

// Forward auth: ingress-nginx's check reaches the Service, browsers' sign-in the auth Ingress,
// whose host shares the sandboxes' domain (the session cookie's scope) and can be no sandbox's.
TEST_F(DeployManifestsTest, ForwardAuthUrlsMeetTheServiceAndTheAuthIngress) {
  const Config c = config();
  const json& service = byKind_["Service"];
  const json& ingress = byKind_["Ingress"];
  ASSERT_TRUE(ingress.is_object());
  EXPECT_EQ(c.server.forwardAuth.checkUrl,
            "http://" + service["metadata"].value("name", "") + "." + ns("Service") +
                ".svc/auth/check");
  EXPECT_EQ(service["spec"]["ports"][0].value("port", 0), 80);
  EXPECT_EQ(ns("Ingress"), ns("Service"));
  EXPECT_EQ(ingress["spec"].value("ingressClassName", ""), c.sandbox.ingressClass);
  ASSERT_EQ(ingress["spec"]["rules"].size(), 1u);
  const json& rule = ingress["spec"]["rules"][0];
  const std::string host = rule.value("host", "");
  EXPECT_EQ(host, "auth." + c.sandbox.domain);
  EXPECT_FALSE(names::parseHost(host, c.sandbox.domain, {"app", "ttyd"}).has_value());
  ASSERT_EQ(rule["http"]["paths"].size(), 1u);
  const json& path = rule["http"]["paths"][0];
  EXPECT_EQ(c.server.forwardAuth.signinUrl, "https://" + host + path.value("path", ""));
  EXPECT_EQ(path.value("pathType", ""), "Exact") << "only the sign-in page is published";
  EXPECT_EQ(path["backend"]["service"].value("name", ""), service["metadata"].value("name", ""));
  EXPECT_EQ(path["backend"]["service"]["port"].value("name", ""),
            service["spec"]["ports"][0].value("name", ""));
}

TEST_F(DeployManifestsTest, TheConfigVariableNamesTheConfigMapsFile) {
  std::string configEnv;
  for (const json& e : container_.value("env", json::array())) {
    if (e.value("name", "") == "SANDBOXD_CONFIG") {
      configEnv = e.value("value", "");
    }
  }
  std::string volumeName;
  for (const json& v : pod_["volumes"]) {
    if (v.contains("configMap") && v["configMap"].value("name", "") == "sandboxd-config") {
      volumeName = v.value("name", "");
    }
  }
  ASSERT_FALSE(volumeName.empty()) << "the ConfigMap is not a volume";
  std::string mountPath;
  for (const json& m : container_["volumeMounts"]) {
    if (m.value("name", "") == volumeName) {
      mountPath = m.value("mountPath", "");
    }
  }
  EXPECT_EQ(configEnv, mountPath + "/sandboxd.yaml")
      << "`kubectl exec … sandboxd token create` must find the same file as serve";
}

TEST_F(DeployManifestsTest, ProbesDrainAndReplicas) {
  EXPECT_EQ(byKind_["StatefulSet"]["spec"].value("replicas", 0), 1)
      << "one writer of the SQLite registry";
  for (const char* probe : {"startupProbe", "livenessProbe"}) {
    EXPECT_EQ(container_[probe]["httpGet"].value("path", ""), "/healthz") << probe;
    EXPECT_EQ(container_[probe]["httpGet"].value("port", ""), "http") << probe;
  }
  EXPECT_EQ(container_["readinessProbe"]["httpGet"].value("path", ""), "/readyz");
  EXPECT_EQ(container_["readinessProbe"]["httpGet"].value("port", ""), "http");
  const auto grace = std::chrono::seconds(pod_.value("terminationGracePeriodSeconds", 30));
  EXPECT_GT(grace, api::ApiServerOptions{}.drainTimeout)
      << "the kubelet's SIGKILL would cut serve's SIGTERM drain short";
}

TEST_F(DeployManifestsTest, RestrictedSecurityContextAndTheImagesUser) {
  const json& sc = container_["securityContext"];
  EXPECT_EQ(sc.value("readOnlyRootFilesystem", false), true);
  EXPECT_EQ(sc.value("allowPrivilegeEscalation", true), false);
  EXPECT_EQ(sc.value("runAsNonRoot", false), true);
  EXPECT_EQ(sc["capabilities"]["drop"], json::array({"ALL"}));
  EXPECT_FALSE(sc["capabilities"].contains("add"));
  EXPECT_EQ(sc["seccompProfile"].value("type", ""), "RuntimeDefault");
  EXPECT_EQ(pod_["securityContext"]["seccompProfile"].value("type", ""), "RuntimeDefault");
  // The user the pod runs as is the one the image makes (Dockerfile: useradd --uid N).
  std::ifstream in(std::string(SANDBOXD_SOURCE_DIR) + "/Dockerfile");
  std::stringstream dockerfile;
  dockerfile << in.rdbuf();
  std::smatch uid;
  const std::string text = dockerfile.str();
  ASSERT_TRUE(std::regex_search(text, uid, std::regex("useradd[^\\n]*--uid (\\d+)")));
  EXPECT_EQ(pod_["securityContext"].value("runAsUser", 0), std::stoi(uid[1]));
  EXPECT_TRUE(std::regex_search(text, std::regex("\\nUSER " + uid[1].str())))
      << "the image does not run as that user";
  // A writable /tmp for SQLite's temporary files, the root filesystem being read-only.
  bool tmp = false;
  for (const json& m : container_["volumeMounts"]) {
    tmp = tmp || m.value("mountPath", "") == "/tmp";
  }
  EXPECT_TRUE(tmp);
}

TEST_F(DeployManifestsTest, RequestsAndLimits) {
  for (const char* bound : {"requests", "limits"}) {
    for (const char* resource : {"cpu", "memory"}) {
      EXPECT_TRUE(container_["resources"][bound].contains(resource)) << bound << "." << resource;
    }
  }
}

}  // namespace
}  // namespace sandboxd
