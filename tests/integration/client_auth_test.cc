// The REST client against the real API server's TLS and authentication.
#include "integration/cluster_env.h"

namespace sandboxd::integration {
namespace {

class ClientAuthTest : public ClusterTest {};

TEST_F(ClientAuthTest, TrustsOnlyTheConfiguredCa) {
  if (stateDir().empty()) {
    GTEST_SKIP() << "needs the test control plane's state (own-cluster mode)";
  }
  KubeConnectionConfig wrong = connection_;
  wrong.caPem = readFile(stateDir() + "/wrong-ca.crt");
  auto client = makeRestKubeClient(wrong);
  ASSERT_OK(client);
  auto result = (*client)->get(resources::namespaces(), "", ns_);
  EXPECT_KIND(result, Unavailable);
  EXPECT_NE(result.status().message().find("certificate"), std::string::npos)
      << result.status().message();
}

TEST_F(ClientAuthTest, ABadTokenIsAClearError) {
  KubeConnectionConfig bad = connection_;
  bad.token = "not-a-valid-token";
  bad.tokenFile.clear();
  bad.clientCertPem.clear();
  bad.clientKeyPem.clear();
  auto client = makeRestKubeClient(bad);
  ASSERT_OK(client);
  auto result = (*client)->get(resources::namespaces(), "", ns_);
  EXPECT_KIND(result, Unauthenticated);
}

TEST_F(ClientAuthTest, RbacDenialIsPermissionDenied) {
  if (stateDir().empty()) {
    GTEST_SKIP() << "needs the test control plane's state (own-cluster mode)";
  }
  KubeConnectionConfig alice = connection_;
  alice.token = trim(readFile(stateDir() + "/alice.token"));
  alice.tokenFile.clear();
  auto client = makeRestKubeClient(alice);
  ASSERT_OK(client);
  EXPECT_KIND((*client)->list(resources::statefulSets(), ns_), PermissionDenied);
}

TEST_F(ClientAuthTest, ClientCertificateAuthWorks) {
  if (stateDir().empty()) {
    GTEST_SKIP() << "needs the test control plane's state (own-cluster mode)";
  }
  auto cert = loadKubeconfig(stateDir() + "/kubeconfig-cert");
  ASSERT_OK(cert);
  EXPECT_FALSE(cert->clientCertPem.empty());
  auto client = makeRestKubeClient(*cert);
  ASSERT_OK(client);
  EXPECT_OK((*client)->get(resources::namespaces(), "", ns_));
}

}  // namespace
}  // namespace sandboxd::integration
