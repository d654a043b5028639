#include "sandboxd/config/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include "fakes/status_matchers.h"
#include "sandboxd/common/embedded_files.h"

namespace sandboxd {

// Field-by-field equality, so a test can compare whole configs (test-only).
bool operator==(const PortConfig& a, const PortConfig& b) {
  return a.name == b.name && a.port == b.port && a.ingress == b.ingress;
}
bool operator==(const TolerationConfig& a, const TolerationConfig& b) {
  return a.key == b.key && a.op == b.op && a.value == b.value && a.effect == b.effect;
}
bool operator==(const ResourcesConfig& a, const ResourcesConfig& b) {
  return a.cpuRequest == b.cpuRequest && a.memoryRequest == b.memoryRequest &&
         a.cpuLimit == b.cpuLimit && a.memoryLimit == b.memoryLimit &&
         a.ephemeralStorageRequest == b.ephemeralStorageRequest &&
         a.ephemeralStorageLimit == b.ephemeralStorageLimit;
}
bool operator==(const SecurityConfig& a, const SecurityConfig& b) {
  return a.runAsNonRoot == b.runAsNonRoot && a.runAsUser == b.runAsUser &&
         a.runAsGroup == b.runAsGroup && a.fsGroup == b.fsGroup &&
         a.allowPrivilegeEscalation == b.allowPrivilegeEscalation &&
         a.dropAllCapabilities == b.dropAllCapabilities &&
         a.seccompProfile == b.seccompProfile &&
         a.automountServiceAccountToken == b.automountServiceAccountToken &&
         a.enableServiceLinks == b.enableServiceLinks;
}
bool operator==(const NetworkPolicyConfig& a, const NetworkPolicyConfig& b) {
  return a.enabled == b.enabled && a.ingressNamespaceSelector == b.ingressNamespaceSelector &&
         a.ingressPodSelector == b.ingressPodSelector && a.egress == b.egress &&
         a.egressAllowCidrs == b.egressAllowCidrs && a.egressExceptCidrs == b.egressExceptCidrs;
}
bool operator==(const ProbeConfig& a, const ProbeConfig& b) {
  return a.enabled == b.enabled && a.periodSeconds == b.periodSeconds &&
         a.timeoutSeconds == b.timeoutSeconds && a.failureThreshold == b.failureThreshold;
}
bool operator==(const ProbesConfig& a, const ProbesConfig& b) {
  return a.port == b.port && a.startup == b.startup && a.readiness == b.readiness &&
         a.liveness == b.liveness;
}
bool operator==(const SandboxConfig& a, const SandboxConfig& b) {
  return a.nameSpace == b.nameSpace && a.image == b.image &&
         a.allowedImages == b.allowedImages && a.storage == b.storage &&
         a.minStorage == b.minStorage && a.maxStorage == b.maxStorage &&
         a.storageClass == b.storageClass && a.mountPath == b.mountPath &&
         a.resources == b.resources && a.ports == b.ports && a.nodeSelector == b.nodeSelector &&
         a.tolerations == b.tolerations && a.domain == b.domain &&
         a.ingressClass == b.ingressClass && a.tlsSecret == b.tlsSecret &&
         a.urlScheme == b.urlScheme && a.reservedEnv == b.reservedEnv &&
         a.maxEnvVars == b.maxEnvVars && a.maxEnvValueBytes == b.maxEnvValueBytes &&
         a.idleStopMinutes == b.idleStopMinutes &&
         a.maxIdleStopMinutes == b.maxIdleStopMinutes && a.security == b.security &&
         a.networkPolicy == b.networkPolicy &&
         a.probes == b.probes && a.affinity == b.affinity && a.labels == b.labels &&
         a.annotations == b.annotations && a.profiles == b.profiles &&
         a.defaultProfile == b.defaultProfile;
}
bool operator==(const QuotaConfig& a, const QuotaConfig& b) {
  return a.maxSandboxes == b.maxSandboxes && a.maxRunning == b.maxRunning &&
         a.maxStorage == b.maxStorage;
}
bool operator==(const ServerConfig& a, const ServerConfig& b) {
  return a.listen == b.listen && a.db == b.db && a.kube == b.kube &&
         a.kubeContext == b.kubeContext && a.corsOrigins == b.corsOrigins &&
         a.maxBodyBytes == b.maxBodyBytes && a.maxHeaderBytes == b.maxHeaderBytes &&
         a.threads == b.threads && a.ioThreads == b.ioThreads && a.logFormat == b.logFormat &&
         a.logLevel == b.logLevel &&
         a.memoryReadyDelayMs == b.memoryReadyDelayMs &&
         a.reconcileIntervalMs == b.reconcileIntervalMs && a.templatesDir == b.templatesDir &&
         a.rateLimit.requestsPerSecond == b.rateLimit.requestsPerSecond &&
         a.rateLimit.burst == b.rateLimit.burst &&
         a.rateLimit.adminsExempt == b.rateLimit.adminsExempt &&
         a.forwardAuth.sessionTtlSeconds == b.forwardAuth.sessionTtlSeconds &&
         a.forwardAuth.checkUrl == b.forwardAuth.checkUrl &&
         a.forwardAuth.signinUrl == b.forwardAuth.signinUrl;
}

namespace {

const char* kEnvVars[] = {"SANDBOXD_CONFIG",    "SANDBOXD_LISTEN",     "SANDBOXD_DB",
                          "SANDBOXD_KUBE",      "SANDBOXD_NAMESPACE",  "SANDBOXD_LOG_FORMAT",
                          "SANDBOXD_LOG_LEVEL"};

// Clears the SANDBOXD_* variables for the test and restores them afterwards.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kEnvVars) {
      const char* v = getenv(name);
      saved_.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
      unsetenv(name);
    }
    dir_ = std::filesystem::temp_directory_path() /
           ("sandboxd-config-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) {
      if (value) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
    std::filesystem::remove_all(dir_);
  }

  std::string writeFile(const std::string& name, const std::string& text) {
    auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  StatusOr<Config> parse(const std::string& yaml) { return applyConfigYaml(Config{}, yaml, "t.yaml"); }

  // The error message of a parse that must fail with InvalidArgument.
  std::string parseError(const std::string& yaml) {
    auto c = parse(yaml);
    EXPECT_KIND(c, InvalidArgument);
    return c.isOk() ? "" : c.status().message();
  }

  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
  std::filesystem::path dir_;
};

TEST_F(ConfigTest, DefaultsWithoutFileOrEnvironment) {
  auto c = loadConfig("");
  ASSERT_OK(c);
  EXPECT_TRUE(c->server == ServerConfig{});
  EXPECT_TRUE(c->sandbox == SandboxConfig{});
  EXPECT_EQ(c->server.listen, "127.0.0.1:8080");
  EXPECT_EQ(c->server.threads, 8);
  EXPECT_EQ(c->sandbox.ports.size(), 2u);
}

TEST_F(ConfigTest, EmptyDocumentAndEmptySectionsChangeNothing) {
  for (const char* yaml : {"", "# only a comment\n", "server:\nsandbox:\n", "{}"}) {
    auto c = parse(yaml);
    ASSERT_OK(c);
    EXPECT_TRUE(c->server == ServerConfig{}) << yaml;
    EXPECT_TRUE(c->sandbox == SandboxConfig{}) << yaml;
  }
}

TEST_F(ConfigTest, FileOverridesOnlyTheKeysPresent) {
  auto c = parse(R"(
server:
  listen: 0.0.0.0:9090
  threads: 4
  ioThreads: 3
  corsOrigins: [https://a.example.com, "https://b.example.com"]
  maxBodyBytes: 5000000000
  logFormat: json
sandbox:
  namespace: sandboxes
  storageClass:
  resources:
    cpuLimit: "4"
  ports:
    - name: web
      port: 8000
    - name: admin
      port: 9000
      ingress: false
  nodeSelector: {pool: sandboxes, "zone": "a"}
  tolerations:
    - key: dedicated
      operator: Equal
      value: sandboxes
      effect: NoSchedule
    - operator: Exists
  reservedEnv: []
  maxEnvVars: 10
  probes:
    port: web
    liveness: {enabled: true}
)");
  ASSERT_OK(c);
  EXPECT_EQ(c->sandbox.probes.port, "web");
  EXPECT_TRUE(c->sandbox.probes.liveness.enabled);
  EXPECT_EQ(c->sandbox.probes.liveness.periodSeconds, 30);  // untouched sibling
  EXPECT_EQ(c->server.listen, "0.0.0.0:9090");
  EXPECT_EQ(c->server.threads, 4);
  EXPECT_EQ(c->server.ioThreads, 3);
  EXPECT_EQ(c->server.corsOrigins,
            (std::vector<std::string>{"https://a.example.com", "https://b.example.com"}));
  EXPECT_EQ(c->server.maxBodyBytes, 5000000000LL);
  EXPECT_EQ(c->server.logFormat, "json");
  EXPECT_EQ(c->server.db, "sandboxd.db");  // untouched
  EXPECT_EQ(c->sandbox.nameSpace, "sandboxes");
  EXPECT_EQ(c->sandbox.storageClass, "");
  EXPECT_EQ(c->sandbox.resources.cpuLimit, "4");
  EXPECT_EQ(c->sandbox.resources.cpuRequest, "100m");  // untouched sibling
  ASSERT_EQ(c->sandbox.ports.size(), 2u);  // replaced, not merged
  EXPECT_TRUE((c->sandbox.ports[0] == PortConfig{"web", 8000, true}));
  EXPECT_TRUE((c->sandbox.ports[1] == PortConfig{"admin", 9000, false}));
  EXPECT_EQ(c->sandbox.nodeSelector,
            (std::map<std::string, std::string>{{"pool", "sandboxes"}, {"zone", "a"}}));
  ASSERT_EQ(c->sandbox.tolerations.size(), 2u);
  EXPECT_TRUE((c->sandbox.tolerations[0] ==
               TolerationConfig{"dedicated", "Equal", "sandboxes", "NoSchedule"}));
  EXPECT_TRUE((c->sandbox.tolerations[1] == TolerationConfig{"", "Exists", "", ""}));
  EXPECT_TRUE(c->sandbox.reservedEnv.empty());
  EXPECT_EQ(c->sandbox.maxEnvVars, 10);
  EXPECT_EQ(c->sandbox.image, SandboxConfig{}.image);
}

TEST_F(ConfigTest, AppliesOverTheGivenBase) {
  Config base;
  base.server.db = "/var/lib/sandboxd/db.sqlite";
  auto c = applyConfigYaml(base, "server:\n  threads: 2\n", "t.yaml");
  ASSERT_OK(c);
  EXPECT_EQ(c->server.db, "/var/lib/sandboxd/db.sqlite");
  EXPECT_EQ(c->server.threads, 2);
}

TEST(IoThreadsTest, OnePerCoreAtLeastTwoUnlessGiven) {
  ServerConfig server;
  EXPECT_EQ(ioThreadsFor(server, 2), 2);
  EXPECT_EQ(ioThreadsFor(server, 16), 16);
  EXPECT_EQ(ioThreadsFor(server, 1), 2);
  EXPECT_EQ(ioThreadsFor(server, 0), 2) << "cores unknown";
  server.ioThreads = 5;
  EXPECT_EQ(ioThreadsFor(server, 2), 5);
  EXPECT_EQ(ioThreadsFor(server, 64), 5);
}

TEST_F(ConfigTest, UnknownKeysAreErrorsNamingTheKey) {
  struct Case {
    const char* name;
    const char* yaml;
    const char* key;
  };
  const Case cases[] = {
      {"top level", "servr:\n  listen: 1.2.3.4:80\n", "servr"},
      {"server", "server:\n  listn: 1.2.3.4:80\n", "server.listn"},
      {"sandbox", "sandbox:\n  imgae: x\n", "sandbox.imgae"},
      {"resources", "sandbox:\n  resources:\n    cpu: 1\n", "sandbox.resources.cpu"},
      {"port entry", "sandbox:\n  ports:\n    - name: a\n      port: 1\n      host: x\n",
       "sandbox.ports[0].host"},
      {"toleration entry", "sandbox:\n  tolerations:\n    - op: Exists\n",
       "sandbox.tolerations[0].op"},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.name);
    const std::string message = parseError(tc.yaml);
    EXPECT_NE(message.find(tc.key), std::string::npos) << message;
    EXPECT_NE(message.find("unknown key"), std::string::npos) << message;
    EXPECT_NE(message.find("t.yaml:"), std::string::npos) << message;
  }
}

TEST_F(ConfigTest, ErrorsCarryTheLineNumber) {
  const std::string message = parseError("server:\n  listen: 1.2.3.4:80\n  thread: 3\n");
  EXPECT_NE(message.find("t.yaml:3: server.thread"), std::string::npos) << message;
}

TEST_F(ConfigTest, WrongTypesAreErrorsNamingTheKey) {
  struct Case {
    const char* name;
    const char* yaml;
    const char* key;
  };
  const Case cases[] = {
      {"string given a list", "server:\n  listen: [a, b]\n", "server.listen"},
      {"int given text", "server:\n  threads: many\n", "server.threads"},
      {"int given a float", "server:\n  threads: 2.5\n", "server.threads"},
      {"int overflow", "server:\n  threads: 99999999999\n", "server.threads"},
      {"int given a map", "sandbox:\n  maxEnvVars: {a: 1}\n", "sandbox.maxEnvVars"},
      {"list given a scalar", "server:\n  corsOrigins: https://x\n", "server.corsOrigins"},
      {"list of non-strings", "sandbox:\n  reservedEnv: [[a]]\n", "sandbox.reservedEnv[0]"},
      {"bool given text", "sandbox:\n  ports:\n    - {name: a, port: 1, ingress: maybe}\n",
       "sandbox.ports[0].ingress"},
      {"map given a list", "sandbox:\n  nodeSelector: [a]\n", "sandbox.nodeSelector"},
      {"section given a scalar", "server: 3\n", "server"},
      {"ports given a map", "sandbox:\n  ports: {name: a}\n", "sandbox.ports"},
      {"port missing number", "sandbox:\n  ports:\n    - name: a\n", "sandbox.ports[0]"},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.name);
    const std::string message = parseError(tc.yaml);
    EXPECT_NE(message.find(tc.key), std::string::npos) << message;
  }
}

TEST_F(ConfigTest, DuplicateKeysAreErrors) {
  const std::string message = parseError("server:\n  threads: 2\n  threads: 3\n");
  EXPECT_NE(message.find("server.threads: duplicate key"), std::string::npos) << message;
}

TEST_F(ConfigTest, MalformedYamlIsInvalidArgument) {
  const std::string message = parseError("server:\n  listen: [unclosed\n");
  EXPECT_NE(message.find("invalid YAML"), std::string::npos) << message;
  parseError("- just\n- a list\n");
}

TEST_F(ConfigTest, ValidationNamesTheKey) {
  struct Case {
    const char* name;
    const char* yaml;
    const char* key;
  };
  const Case cases[] = {
      {"log format", "server:\n  logFormat: xml\n", "server.logFormat"},
      {"log level", "server:\n  logLevel: loud\n", "server.logLevel"},
      {"threads zero", "server:\n  threads: 0\n", "server.threads"},
      {"threads too many", "server:\n  threads: 257\n", "server.threads"},
      {"ioThreads negative", "server:\n  ioThreads: -1\n", "server.ioThreads"},
      {"ioThreads too many", "server:\n  ioThreads: 257\n", "server.ioThreads"},
      {"listen without port", "server:\n  listen: localhost\n", "server.listen"},
      {"listen bad port", "server:\n  listen: localhost:70000\n", "server.listen"},
      {"listen no host", "server:\n  listen: :8080\n", "server.listen"},
      {"listen bare ipv6", "server:\n  listen: ::1:8080\n", "server.listen"},
      {"port zero", "sandbox:\n  ports: [{name: a, port: 0}]\n", "sandbox.ports[0].port"},
      {"port too big", "sandbox:\n  ports: [{name: a, port: 65536}]\n", "sandbox.ports[0].port"},
      {"port name upper", "sandbox:\n  ports: [{name: App, port: 80}]\n",
       "sandbox.ports[0].name"},
      {"port name too long", "sandbox:\n  ports: [{name: abcdefghijklmnop, port: 80}]\n",
       "sandbox.ports[0].name"},
      {"duplicate port name", "sandbox:\n  ports: [{name: a, port: 80}, {name: a, port: 81}]\n",
       "sandbox.ports[1].name"},
      {"duplicate port number",
       "sandbox:\n  ports: [{name: a, port: 80}, {name: b, port: 80}]\n", "sandbox.ports[1].port"},
      {"no ports", "sandbox:\n  ports: []\n", "sandbox.ports"},
      {"namespace", "sandbox:\n  namespace: Bad_NS\n", "sandbox.namespace"},
      {"toleration operator", "sandbox:\n  tolerations: [{key: a, operator: In}]\n",
       "sandbox.tolerations[0].operator"},
      {"toleration effect", "sandbox:\n  tolerations: [{key: a, effect: Never}]\n",
       "sandbox.tolerations[0].effect"},
      {"url scheme", "sandbox:\n  urlScheme: ftp\n", "sandbox.urlScheme"},
      {"body size", "server:\n  maxBodyBytes: 0\n", "server.maxBodyBytes"},
      {"root with runAsNonRoot", "sandbox:\n  security: {runAsUser: 0}\n",
       "sandbox.security.runAsUser"},
      {"negative uid", "sandbox:\n  security: {runAsNonRoot: false, fsGroup: -1}\n",
       "sandbox.security.fsGroup"},
      {"seccomp", "sandbox:\n  security: {seccompProfile: Localhost}\n",
       "sandbox.security.seccompProfile"},
      {"default image not allowed",
       "sandbox:\n  image: docker.io/x/y:1\n  allowedImages: [ghcr.io/acme/]\n",
       "sandbox.image"},
      {"empty image pattern", "sandbox:\n  allowedImages: ['']\n", "sandbox.allowedImages[0]"},
      {"probe port unknown", "sandbox:\n  probes: {port: ssh}\n", "sandbox.probes.port"},
      {"probe period", "sandbox:\n  probes: {liveness: {periodSeconds: 0}}\n",
       "sandbox.probes.liveness"},
      {"egress mode", "sandbox:\n  networkPolicy: {egress: closed}\n",
       "sandbox.networkPolicy.egress"},
      {"cidrs with open egress", "sandbox:\n  networkPolicy: {egressAllowCidrs: [10.0.0.0/8]}\n",
       "sandbox.networkPolicy.egressAllowCidrs"},
      {"bad cidr",
       "sandbox:\n  networkPolicy: {egress: restricted, egressExceptCidrs: [10.0.0.0]}\n",
       "sandbox.networkPolicy.egressExceptCidrs"},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.name);
    const std::string message = parseError(tc.yaml);
    EXPECT_NE(message.find(tc.key), std::string::npos) << message;
  }
}

TEST_F(ConfigTest, SecurityIdsMayBeUnsetAndRootAllowedOnlyWithoutRunAsNonRoot) {
  auto c = applyConfigYaml(Config{}, R"(
sandbox:
  security:
    runAsNonRoot: false
    runAsUser: 0
    runAsGroup: null
    fsGroup:
    seccompProfile: ""
  networkPolicy:
    egress: restricted
    egressAllowCidrs: [0.0.0.0/0, "fd00::/8"]
    egressExceptCidrs: [10.0.0.0/8]
    ingressNamespaceSelector: {team: edge}
)", "t.yaml");
  ASSERT_OK(c);
  EXPECT_FALSE(c->sandbox.security.runAsNonRoot);
  EXPECT_EQ(c->sandbox.security.runAsUser, std::optional<int64_t>(0));
  EXPECT_FALSE(c->sandbox.security.runAsGroup.has_value());
  EXPECT_FALSE(c->sandbox.security.fsGroup.has_value());
  EXPECT_EQ(c->sandbox.security.seccompProfile, "");
  EXPECT_EQ(c->sandbox.networkPolicy.egressAllowCidrs,
            (std::vector<std::string>{"0.0.0.0/0", "fd00::/8"}));
  EXPECT_EQ(c->sandbox.networkPolicy.ingressNamespaceSelector,
            (std::map<std::string, std::string>{{"team", "edge"}}));
}

TEST_F(ConfigTest, AcceptedListenForms) {
  for (const char* listen : {"0.0.0.0:80", "localhost:0", "[::1]:8080", "sandboxd.local:65535"}) {
    auto c = parse(std::string("server:\n  listen: \"") + listen + "\"\n");
    EXPECT_OK(c);
  }
}

TEST_F(ConfigTest, LoadsAnExplicitFile) {
  const std::string path = writeFile("c.yaml", "server:\n  db: /tmp/x.db\n  threads: 3\n");
  auto c = loadConfig(path);
  ASSERT_OK(c);
  EXPECT_EQ(c->server.db, "/tmp/x.db");
  EXPECT_EQ(c->server.threads, 3);
}

TEST_F(ConfigTest, ExplicitMissingFileIsAnError) {
  auto c = loadConfig((dir_ / "missing.yaml").string());
  EXPECT_KIND(c, NotFound);
  setenv("SANDBOXD_CONFIG", (dir_ / "missing.yaml").string().c_str(), 1);
  EXPECT_KIND(loadConfig(""), NotFound);
}

TEST_F(ConfigTest, ConfigFileFromEnvironment) {
  const std::string path = writeFile("env.yaml", "server:\n  kube: in-cluster\n");
  setenv("SANDBOXD_CONFIG", path.c_str(), 1);
  auto c = loadConfig("");
  ASSERT_OK(c);
  EXPECT_EQ(c->server.kube, "in-cluster");
}

TEST_F(ConfigTest, FileErrorsNameTheFile) {
  const std::string path = writeFile("bad.yaml", "server:\n  thredas: 3\n");
  auto c = loadConfig(path);
  EXPECT_KIND(c, InvalidArgument);
  EXPECT_NE(c.status().message().find(path + ":2: server.thredas"), std::string::npos)
      << c.status().message();
}

TEST_F(ConfigTest, EnvironmentOverridesTheFile) {
  const std::string path = writeFile("c.yaml", R"(
server:
  listen: 127.0.0.1:1111
  db: file.db
  kube: memory
  logFormat: text
  logLevel: info
sandbox:
  namespace: from-file
)");
  setenv("SANDBOXD_LISTEN", "0.0.0.0:2222", 1);
  setenv("SANDBOXD_DB", "/data/env.db", 1);
  setenv("SANDBOXD_KUBE", "/etc/kubeconfig", 1);
  setenv("SANDBOXD_NAMESPACE", "from-env", 1);
  setenv("SANDBOXD_LOG_FORMAT", "json", 1);
  setenv("SANDBOXD_LOG_LEVEL", "debug", 1);
  auto c = loadConfig(path);
  ASSERT_OK(c);
  EXPECT_EQ(c->server.listen, "0.0.0.0:2222");
  EXPECT_EQ(c->server.db, "/data/env.db");
  EXPECT_EQ(c->server.kube, "/etc/kubeconfig");
  EXPECT_EQ(c->sandbox.nameSpace, "from-env");
  EXPECT_EQ(c->server.logFormat, "json");
  EXPECT_EQ(c->server.logLevel, "debug");
}

TEST_F(ConfigTest, EmptyEnvironmentVariableIsIgnored) {
  setenv("SANDBOXD_DB", "", 1);
  auto c = loadConfig("");
  ASSERT_OK(c);
  EXPECT_EQ(c->server.db, "sandboxd.db");
}

TEST_F(ConfigTest, InvalidEnvironmentValueIsAnErrorNamingTheVariable) {
  setenv("SANDBOXD_LOG_FORMAT", "yaml", 1);
  auto c = loadConfig("");
  EXPECT_KIND(c, InvalidArgument);
  EXPECT_NE(c.status().message().find("SANDBOXD_LOG_FORMAT"), std::string::npos)
      << c.status().message();
  EXPECT_NE(c.status().message().find("server.logFormat"), std::string::npos)
      << c.status().message();
}

TEST_F(ConfigTest, RateLimitAndForwardAuthAreReadAndChecked) {
  auto c = applyConfigYaml(Config{}, R"(
server:
  rateLimit: {requestsPerSecond: 20, burst: 100, adminsExempt: false}
  forwardAuth:
    sessionTtlSeconds: 3600
    checkUrl: http://sandboxd.sandboxd-system.svc:8080/auth/check
    signinUrl: https://auth.sandbox.example.com/auth/signin
)", "test");
  ASSERT_OK(c);
  EXPECT_EQ(c->server.rateLimit.requestsPerSecond, 20);
  EXPECT_EQ(c->server.rateLimit.burst, 100);
  EXPECT_FALSE(c->server.rateLimit.adminsExempt);
  EXPECT_EQ(c->server.forwardAuth.sessionTtlSeconds, 3600);
  EXPECT_EQ(c->server.forwardAuth.signinUrl, "https://auth.sandbox.example.com/auth/signin");
  for (const char* bad : {
           "server: {rateLimit: {requestsPerSecond: -1}}",
           "server: {rateLimit: {burst: 0}}",
           "server: {rateLimit: {perMinute: 5}}",
           "server: {forwardAuth: {sessionTtlSeconds: 10}}",
           "server: {forwardAuth: {checkUrl: http://x/auth/check}}",
           "server: {forwardAuth: {checkUrl: ftp://x, signinUrl: https://y}}",
       }) {
    EXPECT_KIND(applyConfigYaml(Config{}, bad, "test"), InvalidArgument) << bad;
  }
}

// The documented example sets every key to its default, so it must parse to exactly the
// defaults; checked both for the embedded copy and for the file in the source tree.
TEST_F(ConfigTest, ExampleFileParsesToTheDefaults) {
  auto embedded = embeddedFile("config/sandboxd.example.yaml");
  ASSERT_TRUE(embedded.has_value());
  auto c = applyConfigYaml(Config{}, *embedded, "sandboxd.example.yaml");
  ASSERT_OK(c);
  EXPECT_TRUE(c->server == ServerConfig{});
  EXPECT_TRUE(c->sandbox == SandboxConfig{});
  EXPECT_TRUE(c->quotas == QuotaConfig{});

  // Over a non-default base every key of the example must win, proving it lists them all.
  Config base;
  base.server.listen = "10.0.0.1:1";
  base.server.db = "x";
  base.server.kube = "x";
  base.server.kubeContext = "x";
  base.server.corsOrigins = {"x"};
  base.server.maxBodyBytes = 1;
  base.server.maxHeaderBytes = 1;
  base.server.threads = 1;
  base.server.logFormat = "json";
  base.server.logLevel = "off";
  base.server.memoryReadyDelayMs = 1;
  base.server.reconcileIntervalMs = 100;
  base.server.templatesDir = "x";
  base.server.rateLimit = {5, 7, false};
  base.server.forwardAuth = {60, "http://x", "https://x"};
  base.sandbox.nameSpace = "x";
  base.sandbox.image = "x";
  base.sandbox.allowedImages = {"x"};
  base.sandbox.storage = "x";
  base.sandbox.minStorage = "x";
  base.sandbox.maxStorage = "x";
  base.sandbox.storageClass = "x";
  base.sandbox.mountPath = "/x";
  base.sandbox.resources = {"x", "x", "x", "x", "x", "x"};
  base.sandbox.ports = {{"x", 1, false}};
  base.sandbox.probes = {"x", {false, 9, 9, 9}, {false, 9, 9, 9}, {true, 9, 9, 9}};
  base.sandbox.nodeSelector = {{"x", "y"}};
  base.sandbox.tolerations = {{"x", "Exists", "", ""}};
  base.sandbox.domain = "x";
  base.sandbox.ingressClass = "x";
  base.sandbox.tlsSecret = "x";
  base.sandbox.urlScheme = "http";
  base.sandbox.reservedEnv = {"X"};
  base.sandbox.maxEnvVars = 1;
  base.sandbox.maxEnvValueBytes = 1;
  base.sandbox.idleStopMinutes = 7;
  base.sandbox.maxIdleStopMinutes = 9;
  base.sandbox.security = {false, 7, 7, 7, true, false, "Unconfined", true, true};
  base.sandbox.networkPolicy = {false, {{"x", "y"}}, {{"x", "y"}}, "restricted", {"1.2.3.4/32"},
                                {"1.2.3.4/32"}};
  base.sandbox.affinity = "nodeAffinity: {}";
  base.sandbox.labels = {{"x", "y"}};
  base.sandbox.annotations = {{"x", "y"}};
  base.sandbox.profiles = {{"x", std::make_shared<SandboxConfig>()}};
  base.sandbox.defaultProfile = "x";
  base.quotas = {1, 1, "1Gi"};
  auto over = applyConfigYaml(base, *embedded, "sandboxd.example.yaml");
  ASSERT_OK(over);
  EXPECT_TRUE(over->server == ServerConfig{});
  EXPECT_TRUE(over->sandbox == SandboxConfig{});
  EXPECT_TRUE(over->quotas == QuotaConfig{});

  std::ifstream in(std::string(SANDBOXD_SOURCE_DIR) + "/config/sandboxd.example.yaml");
  ASSERT_TRUE(in.good());
  std::string onDisk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(onDisk, *embedded);
}

}  // namespace
}  // namespace sandboxd
