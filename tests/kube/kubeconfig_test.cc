// loadKubeconfig / loadInClusterConfig on files written to a temporary directory.
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "fakes/status_matchers.h"
#include "sandboxd/kube/kube_connection.h"

namespace sandboxd {
namespace {

namespace fs = std::filesystem;

const std::string kCaPem =
    "-----BEGIN CERTIFICATE-----\nQ0EgZm9yIHRlc3Rz\n-----END CERTIFICATE-----\n";
const std::string kCertPem =
    "-----BEGIN CERTIFICATE-----\nY2xpZW50IGNlcnQ=\n-----END CERTIFICATE-----\n";
const std::string kKeyPem =
    "-----BEGIN PRIVATE KEY-----\na2V5IGJ5dGVz\n-----END PRIVATE KEY-----\n";

std::string base64(const std::string& s) {
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(s.data()),
                                static_cast<int>(s.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Sets an environment variable for the scope, restoring the previous value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    if (old != nullptr) {
      old_ = old;
    }
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class KubeconfigTest : public ::testing::Test {
 protected:
  KubeconfigTest() {
    std::string tmpl = (fs::temp_directory_path() / "kubeconfig_test_XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
  }
  ~KubeconfigTest() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write(const std::string& name, const std::string& content) {
    const fs::path p = fs::path(dir_) / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
    return p.string();
  }

  // Two clusters, users and contexts; current-context "dev".
  std::string standardConfig() {
    write("certs/ca.crt", kCaPem);
    write("certs/client.crt", kCertPem);
    write("certs/client.key", kKeyPem);
    write("token.txt", "file-token\n");
    return write("kube/config", R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://dev.example:6443/
    certificate-authority-data: )" + base64(kCaPem) + R"(
- name: prod-cluster
  cluster:
    server: https://prod.example:6443
    certificate-authority: ../certs/ca.crt
    tls-server-name: kubernetes.default.svc
- name: lab-cluster
  cluster:
    server: https://lab.example
    insecure-skip-tls-verify: true
users:
- name: dev-user
  user:
    token: dev-token
- name: prod-user
  user:
    client-certificate: ../certs/client.crt
    client-key: ../certs/client.key
- name: data-user
  user:
    client-certificate-data: )" + base64(kCertPem) + R"(
    client-key-data: )" + base64(kKeyPem) + R"(
- name: file-user
  user:
    tokenFile: ../token.txt
- name: exec-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: aws
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: dev-ns}
- name: prod
  context: {cluster: prod-cluster, user: prod-user}
- name: data
  context: {cluster: dev-cluster, user: data-user}
- name: lab
  context: {cluster: lab-cluster, user: file-user, namespace: lab-ns}
- name: exec
  context: {cluster: dev-cluster, user: exec-user}
- name: dangling
  context: {cluster: missing-cluster, user: dev-user}
)");
  }

  std::string dir_;
};

TEST_F(KubeconfigTest, UsesTheCurrentContext) {
  const std::string path = standardConfig();
  auto config = loadKubeconfig(path);
  ASSERT_OK(config);
  EXPECT_EQ(config->server, "https://dev.example:6443");  // trailing slash dropped
  EXPECT_EQ(config->caPem, kCaPem);                        // from certificate-authority-data
  EXPECT_EQ(config->token, "dev-token");
  EXPECT_EQ(config->tokenFile, "");
  EXPECT_EQ(config->nameSpace, "dev-ns");
  EXPECT_FALSE(config->insecureSkipTlsVerify);
  EXPECT_NE(config->source.find(path), std::string::npos);
}

TEST_F(KubeconfigTest, NamedContextWithFilesRelativeToTheKubeconfig) {
  auto config = loadKubeconfig(standardConfig(), "prod");
  ASSERT_OK(config);
  EXPECT_EQ(config->server, "https://prod.example:6443");
  EXPECT_EQ(config->caPem, kCaPem);
  EXPECT_EQ(config->clientCertPem, kCertPem);
  EXPECT_EQ(config->clientKeyPem, kKeyPem);
  EXPECT_EQ(config->tlsServerName, "kubernetes.default.svc");
  EXPECT_EQ(config->token, "");
  EXPECT_EQ(config->nameSpace, "");
}

TEST_F(KubeconfigTest, ClientCertificateAndKeyData) {
  auto config = loadKubeconfig(standardConfig(), "data");
  ASSERT_OK(config);
  EXPECT_EQ(config->clientCertPem, kCertPem);
  EXPECT_EQ(config->clientKeyPem, kKeyPem);
}

TEST_F(KubeconfigTest, TokenFileAndInsecureFlag) {
  auto config = loadKubeconfig(standardConfig(), "lab");
  ASSERT_OK(config);
  EXPECT_TRUE(config->insecureSkipTlsVerify);
  EXPECT_EQ(config->caPem, "");
  EXPECT_EQ(fs::weakly_canonical(config->tokenFile), fs::weakly_canonical(dir_ + "/token.txt"));
  EXPECT_EQ(config->nameSpace, "lab-ns");
}

TEST_F(KubeconfigTest, MissingContextIsAClearError) {
  const std::string path = standardConfig();
  auto config = loadKubeconfig(path, "staging");
  EXPECT_KIND(config, InvalidArgument);
  const std::string& m = config.status().message();
  EXPECT_NE(m.find(path), std::string::npos) << m;
  EXPECT_NE(m.find("\"staging\" not found"), std::string::npos) << m;
  EXPECT_NE(m.find("dev, prod"), std::string::npos) << "lists the available contexts: " << m;
}

TEST_F(KubeconfigTest, MissingClusterIsAClearError) {
  auto config = loadKubeconfig(standardConfig(), "dangling");
  EXPECT_KIND(config, InvalidArgument);
  EXPECT_NE(config.status().message().find("missing-cluster"), std::string::npos);
}

TEST_F(KubeconfigTest, ExecAuthIsNotSupported) {
  auto config = loadKubeconfig(standardConfig(), "exec");
  EXPECT_KIND(config, InvalidArgument);
  EXPECT_NE(config.status().message().find("not supported: use a token or client certificate"),
            std::string::npos)
      << config.status().message();
  EXPECT_NE(config.status().message().find("exec"), std::string::npos);
}

TEST_F(KubeconfigTest, FieldErrorsNameTheField) {
  struct Case {
    std::string name;
    std::string yaml;
    std::string contains;
  };
  const std::vector<Case> cases = {
      {"no current context", "apiVersion: v1\nkind: Config\n", "current-context"},
      {"bad base64",
       "current-context: a\nclusters: [{name: c, cluster: {server: 'https://x', "
       "certificate-authority-data: '@@@@'}}]\ncontexts: [{name: a, context: {cluster: c}}]\n",
       "certificate-authority-data"},
      {"missing CA file",
       "current-context: a\nclusters: [{name: c, cluster: {server: 'https://x', "
       "certificate-authority: nope.crt}}]\ncontexts: [{name: a, context: {cluster: c}}]\n",
       "nope.crt"},
      {"no server",
       "current-context: a\nclusters: [{name: c, cluster: {}}]\n"
       "contexts: [{name: a, context: {cluster: c}}]\n",
       "server"},
      {"cert without key",
       "current-context: a\nclusters: [{name: c, cluster: {server: 'https://x'}}]\n"
       "users: [{name: u, user: {client-certificate-data: " +
           base64(kCertPem) + "}}]\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n",
       "client-key"},
      {"bad insecure flag",
       "current-context: a\nclusters: [{name: c, cluster: {server: 'https://x', "
       "insecure-skip-tls-verify: maybe}}]\ncontexts: [{name: a, context: {cluster: c}}]\n",
       "insecure-skip-tls-verify"},
      {"invalid yaml", "clusters: [unclosed\n", "invalid YAML"},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.name);
    const std::string path = write("bad-config", tc.yaml);
    auto config = loadKubeconfig(path);
    EXPECT_KIND(config, InvalidArgument);
    EXPECT_NE(config.status().message().find(tc.contains), std::string::npos)
        << config.status().message();
    EXPECT_NE(config.status().message().find(path), std::string::npos)
        << config.status().message();
  }
}

TEST_F(KubeconfigTest, MissingFileNamesTheFile) {
  auto config = loadKubeconfig(dir_ + "/does-not-exist");
  EXPECT_KIND(config, InvalidArgument);
  EXPECT_NE(config.status().message().find("does-not-exist"), std::string::npos);
}

TEST_F(KubeconfigTest, Base64PaddingIsHandled) {
  // PEM payloads whose lengths give 0, 1 and 2 padding characters.
  for (const std::string extra : {"", "x", "xy"}) {
    const std::string pem = kCaPem + extra;
    const std::string path = write("pad-config",
                                   "current-context: a\nclusters: [{name: c, cluster: {server: "
                                   "'https://x', certificate-authority-data: '" +
                                       base64(pem) +
                                       "'}}]\ncontexts: [{name: a, context: {cluster: c}}]\n");
    auto config = loadKubeconfig(path);
    ASSERT_OK(config);
    EXPECT_EQ(config->caPem, pem);
  }
}

TEST_F(KubeconfigTest, EmptyPathUsesTheFirstKubeconfigEntry) {
  const std::string path = standardConfig();
  ScopedEnv env("KUBECONFIG", (":" + path + ":/nonexistent/other").c_str());
  auto config = loadKubeconfig("");
  ASSERT_OK(config);
  EXPECT_EQ(config->server, "https://dev.example:6443");
}

TEST_F(KubeconfigTest, EmptyPathFallsBackToHome) {
  standardConfig();
  write("home/.kube/config", "current-context: a\nclusters: [{name: c, cluster: {server: "
                             "'https://home.example'}}]\ncontexts: [{name: a, context: {cluster: "
                             "c}}]\n");
  ScopedEnv kubeconfig("KUBECONFIG", nullptr);
  ScopedEnv home("HOME", (dir_ + "/home").c_str());
  auto config = loadKubeconfig("");
  ASSERT_OK(config);
  EXPECT_EQ(config->server, "https://home.example");
}

TEST_F(KubeconfigTest, InClusterConfig) {
  write("sa/token", "sa-token");
  write("sa/ca.crt", kCaPem);
  write("sa/namespace", "sandboxes\n");
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  auto config = loadInClusterConfig(dir_ + "/sa");
  ASSERT_OK(config);
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->tokenFile, dir_ + "/sa/token");
  EXPECT_EQ(config->token, "");
  EXPECT_EQ(config->caPem, kCaPem);
  EXPECT_EQ(config->nameSpace, "sandboxes");
  EXPECT_FALSE(config->insecureSkipTlsVerify);
}

TEST_F(KubeconfigTest, InClusterIpv6IsBracketedAndTheClientSaysWhyItCannotConnect) {
  write("sa/token", "sa-token");
  write("sa/ca.crt", kCaPem);
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "fd00:10:96::1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  auto config = loadInClusterConfig(dir_ + "/sa");
  ASSERT_OK(config);
  EXPECT_EQ(config->server, "https://[fd00:10:96::1]:443");
  EXPECT_EQ(config->nameSpace, "");
  auto client = makeRestKubeClient(*config);
  EXPECT_KIND(client, InvalidArgument);
  EXPECT_NE(client.status().message().find("IPv6"), std::string::npos);
}

TEST_F(KubeconfigTest, InClusterNeedsTheEnvironmentAndFiles) {
  {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", nullptr);
    ScopedEnv port("KUBERNETES_SERVICE_PORT", nullptr);
    auto config = loadInClusterConfig(dir_);
    EXPECT_KIND(config, InvalidArgument);
    EXPECT_NE(config.status().message().find("KUBERNETES_SERVICE_HOST"), std::string::npos);
  }
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  auto config = loadInClusterConfig(dir_ + "/no-such-dir");
  EXPECT_KIND(config, InvalidArgument);
  EXPECT_NE(config.status().message().find("token"), std::string::npos);
}

}  // namespace
}  // namespace sandboxd
