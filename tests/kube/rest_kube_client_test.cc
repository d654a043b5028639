// RestKubeClient against a local HTTPS server started by the test (127.0.0.1, random port,
// certificates made in-process): TLS trust, credentials, retries, error mapping and the shape
// of each request. Retry delays go through a recording sleep, so nothing waits.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/status_matchers.h"
#include "kube/rest/rest_kube_client_internal.h"
#include "kube/test_https_server.h"
#include "sandboxd/kube/kube_client.h"
#include "sandboxd/kube/kube_connection.h"

namespace sandboxd {
namespace {

using namespace std::chrono_literals;
using testing::KeyAndCert;
using testing::makeCert;
using testing::RecordedRequest;
using testing::ScriptedResponse;
using testing::TestHttpsServer;

namespace fs = std::filesystem;

struct Pki {
  KeyAndCert ca = makeCert("sandboxd test CA", nullptr, true);
  KeyAndCert server = makeCert("127.0.0.1", &ca, false);
  KeyAndCert client = makeCert("sandboxd-client", &ca, false);
  KeyAndCert otherCa = makeCert("some other CA", nullptr, true);
  KeyAndCert otherServer = makeCert("127.0.0.1", &otherCa, false);
  KeyAndCert wrongHost = makeCert("elsewhere.example", &ca, false, "DNS:elsewhere.example");
};

const Pki& pki() {
  static const Pki* p = new Pki();
  return *p;
}

std::string statusBody(int code, const std::string& reason, const std::string& message,
                       const json& causes = json()) {
  json s = {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
            {"code", code},     {"reason", reason},   {"message", message}};
  if (!causes.is_null()) {
    s["details"] = {{"causes", causes}};
  }
  return s.dump();
}

ScriptedResponse answer(int status, std::string body = "{}",
                        std::vector<std::pair<std::string, std::string>> headers = {}) {
  ScriptedResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "kube_test_XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name, const std::string& content) const {
    const std::string p = (fs::path(path_) / name).string();
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class RestKubeClientTest : public ::testing::Test {
 protected:
  RestKubeClientTest() {
    retry_.maxAttempts = 3;
    retry_.baseDelay = 1ms;
    retry_.maxDelay = 4ms;
    retry_.maxRetryAfter = 5000ms;
    retry_.requestTimeout = 10s;
  }

  KubeConnectionConfig configFor(const TestHttpsServer& server) const {
    KubeConnectionConfig c;
    c.server = server.url();
    c.caPem = pki().ca.certPem;
    c.source = "test";
    return c;
  }

  KubeClientPtr client(const KubeConnectionConfig& config) {
    auto made = kube_internal::makeRestKubeClientForTest(config, retry_, [this](auto d) {
      std::lock_guard<std::mutex> lock(mu_);
      sleeps_.push_back(d);
    });
    EXPECT_OK(made);
    return made.isOk() ? *made : nullptr;
  }

  std::vector<std::chrono::milliseconds> sleeps() {
    std::lock_guard<std::mutex> lock(mu_);
    return sleeps_;
  }

  RetryPolicy retry_;
  std::mutex mu_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

// ---------------------------------------------------------------------------------------------
// TLS trust

TEST_F(RestKubeClientTest, TrustsTheConfiguredCa) {
  TestHttpsServer server(pki().server);
  server.enqueue(answer(200, R"({"kind":"Pod","metadata":{"name":"p1"}})"));
  auto c = client(configFor(server));
  auto pod = c->get(resources::pods(), "ns1", "p1");
  ASSERT_OK(pod);
  EXPECT_EQ((*pod)["metadata"]["name"], "p1");
  ASSERT_EQ(server.requestCount(), 1u);
  const RecordedRequest r = server.lastRequest();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/api/v1/namespaces/ns1/pods/p1");
  EXPECT_EQ(r.header("accept"), "application/json");
  EXPECT_EQ(r.header("authorization"), "");
}

TEST_F(RestKubeClientTest, RefusesAServerCertificateFromAnotherCa) {
  TestHttpsServer server(pki().otherServer);
  auto c = client(configFor(server));
  auto pod = c->get(resources::pods(), "ns1", "p1");
  EXPECT_KIND(pod, Unavailable);
  EXPECT_NE(pod.status().message().find("certificate could not be verified"), std::string::npos)
      << pod.status().message();
  EXPECT_EQ(server.requestCount(), 0u);
  EXPECT_TRUE(sleeps().empty()) << "a refused certificate is not retried";
}

TEST_F(RestKubeClientTest, RefusesACertificateForAnotherHost) {
  TestHttpsServer server(pki().wrongHost);
  auto pod = client(configFor(server))->get(resources::pods(), "ns1", "p1");
  EXPECT_KIND(pod, Unavailable);
  EXPECT_NE(pod.status().message().find("certificate could not be verified"), std::string::npos)
      << pod.status().message();
  EXPECT_NE(pod.status().message().find("not valid for the host 127.0.0.1"), std::string::npos)
      << pod.status().message();
  EXPECT_EQ(server.requestCount(), 0u);
}

TEST_F(RestKubeClientTest, WithoutACaTheSystemStoreDoesNotTrustATestCa) {
  TestHttpsServer server(pki().server);
  KubeConnectionConfig config = configFor(server);
  config.caPem.clear();
  auto pod = client(config)->get(resources::pods(), "ns1", "p1");
  EXPECT_KIND(pod, Unavailable);
  EXPECT_EQ(server.requestCount(), 0u);
}

TEST_F(RestKubeClientTest, InsecureSkipTlsVerifyWorksWithoutACa) {
  TestHttpsServer server(pki().otherServer);
  KubeConnectionConfig config = configFor(server);
  config.caPem.clear();
  config.insecureSkipTlsVerify = true;
  EXPECT_OK(client(config)->get(resources::pods(), "ns1", "p1"));
  EXPECT_EQ(server.requestCount(), 1u);
}

// deferSystemTrustStore() changes the environment of this process: each test restores it.
class DeferredSystemTrustTest : public RestKubeClientTest {
 protected:
  DeferredSystemTrustTest() {
    const char* before = std::getenv("SSL_CERT_FILE");
    before_ = before != nullptr ? std::optional<std::string>(before) : std::nullopt;
  }
  ~DeferredSystemTrustTest() override {
    if (before_) {
      setenv("SSL_CERT_FILE", before_->c_str(), 1);
    } else {
      unsetenv("SSL_CERT_FILE");
    }
  }

  // How many certificates OpenSSL's default load (what cpprestsdk does for every connection)
  // puts into a fresh context's store.
  static int defaultLoadCertificates() {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                         SSL_CTX_free);
    SSL_CTX_set_default_verify_paths(ctx.get());
    return sk_X509_OBJECT_num(X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx.get())));
  }

  std::optional<std::string> before_;
  TempDir dir_;
};

TEST_F(DeferredSystemTrustTest, TheDefaultLoadFindsNothingAndAConfiguredCaIsStillTrusted) {
  // The "system bundle" is the test CA: a client without a CA trusts its server only if it
  // loads the bundle itself.
  setenv("SSL_CERT_FILE", dir_.file("bundle.pem", pki().ca.certPem).c_str(), 1);
  ASSERT_EQ(defaultLoadCertificates(), 1);
  deferSystemTrustStore();
  deferSystemTrustStore();  // a second call changes nothing
  EXPECT_EQ(defaultLoadCertificates(), 0) << "cpprestsdk's per-connection load is now empty";

  TestHttpsServer server(pki().server);
  EXPECT_OK(client(configFor(server))->get(resources::pods(), "ns1", "p1"));
  EXPECT_EQ(server.requestCount(), 1u);
  // Only the configured CA, as before: not the bundle.
  TestHttpsServer other(pki().otherServer);
  KubeConnectionConfig config = configFor(other);
  setenv("SSL_CERT_FILE", dir_.file("other.pem", pki().otherCa.certPem).c_str(), 1);
  deferSystemTrustStore();
  EXPECT_KIND(client(config)->get(resources::pods(), "ns1", "p1"), Unavailable);
  EXPECT_EQ(other.requestCount(), 0u);
}

TEST_F(DeferredSystemTrustTest, WithoutACaTheBundleTheDefaultLoadWouldHaveReadIsTrusted) {
  setenv("SSL_CERT_FILE", dir_.file("bundle.pem", pki().ca.certPem).c_str(), 1);
  deferSystemTrustStore();
  TestHttpsServer server(pki().server);
  KubeConnectionConfig config = configFor(server);
  config.caPem.clear();
  EXPECT_OK(client(config)->get(resources::pods(), "ns1", "p1"));
  EXPECT_EQ(server.requestCount(), 1u);

  TestHttpsServer other(pki().otherServer);  // signed by a CA the bundle does not hold
  config = configFor(other);
  config.caPem.clear();
  EXPECT_KIND(client(config)->get(resources::pods(), "ns1", "p1"), Unavailable);
  EXPECT_EQ(other.requestCount(), 0u);
}

TEST_F(RestKubeClientTest, TlsServerNameIsAcceptedWithAWarning) {
  TestHttpsServer server(pki().server);
  KubeConnectionConfig config = configFor(server);
  config.tlsServerName = "kubernetes.default.svc";
  EXPECT_OK(client(config)->get(resources::pods(), "ns1", "p1"));
}

// ---------------------------------------------------------------------------------------------
// Credentials

TEST_F(RestKubeClientTest, SendsTheBearerToken) {
  TestHttpsServer server(pki().server);
  KubeConnectionConfig config = configFor(server);
  config.token = "static-token";
  EXPECT_OK(client(config)->get(resources::pods(), "ns1", "p1"));
  EXPECT_EQ(server.lastRequest().header("authorization"), "Bearer static-token");
}

TEST_F(RestKubeClientTest, ReReadsTheTokenFileWhenItChanges) {
  TempDir dir;
  const std::string tokenFile = dir.file("token", "token-one\n");
  TestHttpsServer server(pki().server);
  KubeConnectionConfig config = configFor(server);
  config.token = "ignored-static";
  config.tokenFile = tokenFile;
  auto c = client(config);
  EXPECT_OK(c->get(resources::pods(), "ns1", "p1"));
  EXPECT_EQ(server.lastRequest().header("authorization"), "Bearer token-one");

  const auto before = fs::last_write_time(tokenFile);
  dir.file("token", "token-two");
  fs::last_write_time(tokenFile, before + 5s);  // a rotation is a new mtime
  EXPECT_OK(c->get(resources::pods(), "ns1", "p1"));
  EXPECT_EQ(server.lastRequest().header("authorization"), "Bearer token-two");
}

TEST_F(RestKubeClientTest, ReReadsTheTokenFileAfterA401) {
  TempDir dir;
  const std::string tokenFile = dir.file("token", "old");
  TestHttpsServer server(pki().server);
  server.setHandler([](const RecordedRequest& r) {
    return r.header("authorization") == "Bearer new"
               ? answer(200)
               : answer(401, statusBody(401, "Unauthorized", "Unauthorized"));
  });
  KubeConnectionConfig config = configFor(server);
  config.tokenFile = tokenFile;
  auto c = client(config);
  EXPECT_KIND(c->get(resources::pods(), "ns1", "p1"), Unauthenticated);

  // Same mtime: only the 401 tells the client its cached token is stale.
  const auto mtime = fs::last_write_time(tokenFile);
  dir.file("token", "new");
  fs::last_write_time(tokenFile, mtime);
  const size_t before = server.requestCount();
  EXPECT_OK(c->get(resources::pods(), "ns1", "p1"));
  EXPECT_EQ(server.requestCount() - before, 2u);
}

TEST_F(RestKubeClientTest, UnreadableTokenFileIsRejectedAtConstruction) {
  TestHttpsServer server(pki().server);
  KubeConnectionConfig config = configFor(server);
  config.tokenFile = "/nonexistent/token";
  EXPECT_KIND(kube_internal::makeRestKubeClientForTest(config, retry_, nullptr), InvalidArgument);
}

TEST_F(RestKubeClientTest, ClientCertificateIsPresented) {
  TestHttpsServer server(pki().server, pki().ca.certPem);
  KubeConnectionConfig config = configFor(server);
  config.clientCertPem = pki().client.certPem;
  config.clientKeyPem = pki().client.keyPem;
  EXPECT_OK(client(config)->get(resources::pods(), "ns1", "p1"));
  EXPECT_EQ(server.requestCount(), 1u);
}

TEST_F(RestKubeClientTest, WithoutAClientCertificateTheServerRefuses) {
  TestHttpsServer server(pki().server, pki().ca.certPem);
  auto pod = client(configFor(server))->get(resources::pods(), "ns1", "p1");
  EXPECT_KIND(pod, Unavailable);
  EXPECT_EQ(server.requestCount(), 0u);
  EXPECT_GE(server.failedHandshakes(), 1);
}

TEST_F(RestKubeClientTest, BadTlsMaterialIsRejectedAtConstruction) {
  KubeConnectionConfig config;
  config.server = "https://127.0.0.1:1";
  config.caPem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  EXPECT_KIND(makeRestKubeClient(config, retry_), InvalidArgument);

  config.caPem = pki().ca.certPem;
  config.clientCertPem = pki().client.certPem;  // no key
  EXPECT_KIND(makeRestKubeClient(config, retry_), InvalidArgument);

  config.clientKeyPem = pki().server.keyPem;  // key of another certificate
  auto mismatched = makeRestKubeClient(config, retry_);
  EXPECT_KIND(mismatched, InvalidArgument);
}

TEST_F(RestKubeClientTest, BadServerAddressesAreRejected) {
  KubeConnectionConfig config;
  EXPECT_KIND(makeRestKubeClient(config, retry_), InvalidArgument);
  config.server = "ftp://example";
  EXPECT_KIND(makeRestKubeClient(config, retry_), InvalidArgument);
  config.server = "https://[fd00::1]:443";
  auto v6 = makeRestKubeClient(config, retry_);
  EXPECT_KIND(v6, InvalidArgument);
  EXPECT_NE(v6.status().message().find("IPv6"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Retries

TEST_F(RestKubeClientTest, Retries429HonouringRetryAfter) {
  TestHttpsServer server(pki().server);
  server.enqueue(answer(429, statusBody(429, "TooManyRequests", "slow down"),
                        {{"Retry-After", "1"}}));
  server.enqueue(answer(200, R"({"kind":"Pod"})"));
  EXPECT_OK(client(configFor(server))->get(resources::pods(), "ns1", "p1"));
  EXPECT_EQ(server.requestCount(), 2u);
  EXPECT_EQ(sleeps(), std::vector<std::chrono::milliseconds>{1000ms});
}

TEST_F(RestKubeClientTest, RetryAfterIsCapped) {
  retry_.maxRetryAfter = 250ms;
  TestHttpsServer server(pki().server);
  server.enqueue(answer(429, statusBody(429, "TooManyRequests", "slow down"),
                        {{"Retry-After", "3600"}}));
  EXPECT_OK(client(configFor(server))->get(resources::pods(), "ns1", "p1"));
  EXPECT_EQ(sleeps(), std::vector<std::chrono::milliseconds>{250ms});
}

TEST_F(RestKubeClientTest, GetRetries503ThenSucceeds) {
  TestHttpsServer server(pki().server);
  server.enqueue(answer(503, statusBody(503, "ServiceUnavailable", "etcd down")));
  server.enqueue(answer(503, statusBody(503, "ServiceUnavailable", "etcd down")));
  server.enqueue(answer(200, R"({"kind":"Pod"})"));
  EXPECT_OK(client(configFor(server))->get(resources::pods(), "ns1", "p1"));
  EXPECT_EQ(server.requestCount(), 3u);
  EXPECT_EQ(sleeps().size(), 2u);
}

TEST_F(RestKubeClientTest, PostIsNotRetriedOn503) {
  TestHttpsServer server(pki().server);
  server.enqueue(answer(503, statusBody(503, "ServiceUnavailable", "etcd down")));
  auto created = client(configFor(server))
                     ->create(resources::secrets(), "ns1", {{"metadata", {{"name", "s"}}}});
  EXPECT_KIND(created, Unavailable);
  EXPECT_EQ(server.requestCount(), 1u);
}

TEST_F(RestKubeClientTest, PostIsRetriedOn429) {
  TestHttpsServer server(pki().server);
  server.enqueue(answer(429, statusBody(429, "TooManyRequests", "slow down")));
  server.enqueue(answer(201, R"({"kind":"Secret"})"));
  EXPECT_OK(client(configFor(server))
                ->create(resources::secrets(), "ns1", {{"metadata", {{"name", "s"}}}}));
  EXPECT_EQ(server.requestCount(), 2u);
}

TEST_F(RestKubeClientTest, Exhausted429IsResourceExhausted) {
  TestHttpsServer server(pki().server);
  server.setHandler([](const RecordedRequest&) {
    return answer(429, statusBody(429, "TooManyRequests", "slow down"));
  });
  EXPECT_KIND(client(configFor(server))->get(resources::pods(), "ns1", "p1"), ResourceExhausted);
  EXPECT_EQ(server.requestCount(), 3u);
}

TEST_F(RestKubeClientTest, Exhausted5xxIsUnavailable) {
  TestHttpsServer server(pki().server);
  server.setHandler([](const RecordedRequest&) {
    return answer(500, statusBody(500, "InternalError", "boom"));
  });
  auto r = client(configFor(server))->patch(resources::statefulSets(), "ns1", "web",
                                            PatchType::Merge, {{"spec", {{"replicas", 1}}}});
  EXPECT_KIND(r, Unavailable);
  EXPECT_EQ(server.requestCount(), 3u);
}

TEST_F(RestKubeClientTest, DroppedConnectionIsRetriedForGetButNotForPost) {
  TestHttpsServer server(pki().server);
  ScriptedResponse drop;
  drop.closeWithoutAnswer = true;
  server.enqueue(drop);
  server.enqueue(answer(200, R"({"kind":"Pod"})"));
  auto c = client(configFor(server));
  EXPECT_OK(c->get(resources::pods(), "ns1", "p1"));
  EXPECT_EQ(server.requestCount(), 2u);

  // A fresh client, so the POST goes out on a new connection. (On a pooled connection the
  // server closed, cpprestsdk itself resends once, POST included.)
  server.enqueue(drop);
  auto created = client(configFor(server))
                     ->create(resources::secrets(), "ns1", {{"metadata", {{"name", "s"}}}});
  EXPECT_KIND(created, Unavailable);
  EXPECT_NE(created.status().message().find("may or may not have been applied"),
            std::string::npos)
      << created.status().message();
  EXPECT_EQ(server.requestCount(), 3u);
}

// An answer whose headers came but whose body was cut short: the request may have been
// applied, so a GET is retried and a POST is not.
TEST_F(RestKubeClientTest, AnAnswerCutShortIsRetriedForGetButNotForPost) {
  TestHttpsServer server(pki().server);
  ScriptedResponse cut = answer(200, R"({"kind":"Pod","metadata":{"name":"p1"}})");
  cut.cutBodyAt = 10;
  server.enqueue(cut);
  server.enqueue(answer(200, R"({"kind":"Pod","metadata":{"name":"p1"}})"));
  auto got = client(configFor(server))->get(resources::pods(), "ns1", "p1");
  ASSERT_OK(got);
  EXPECT_EQ((*got)["metadata"]["name"], "p1");
  EXPECT_EQ(server.requestCount(), 2u);

  server.enqueue(cut);
  auto created = client(configFor(server))
                     ->create(resources::secrets(), "ns1", {{"metadata", {{"name", "s"}}}});
  EXPECT_KIND(created, Unavailable);
  EXPECT_NE(created.status().message().find("failed to read the response body"),
            std::string::npos)
      << created.status().message();
  EXPECT_NE(created.status().message().find("may or may not have been applied"),
            std::string::npos)
      << created.status().message();
  EXPECT_EQ(server.requestCount(), 3u);
}

TEST_F(RestKubeClientTest, ConnectionRefusedIsRetriedEvenForPost) {
  // A port nobody listens on.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  KubeConnectionConfig config;
  config.server = "https://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  config.caPem = pki().ca.certPem;
  auto created = client(config)->create(resources::secrets(), "ns1", {{"metadata", {{"name", "s"}}}});
  EXPECT_KIND(created, Unavailable);
  EXPECT_EQ(sleeps().size(), 2u) << "3 attempts: nothing was sent, so POST may retry";
}

// ---------------------------------------------------------------------------------------------
// Error mapping

struct ErrorCase {
  std::string name;
  int status;
  std::string reason;
  json causes;
  ErrorKind kind;
  std::string messageContains;
};

TEST_F(RestKubeClientTest, MapsStatusBodiesToErrorKinds) {
  const std::vector<ErrorCase> cases = {
      {"not found", 404, "NotFound", json(), ErrorKind::NotFound, "the message"},
      {"already exists", 409, "AlreadyExists", json(), ErrorKind::AlreadyExists, "the message"},
      {"conflict", 409, "Conflict", json(), ErrorKind::Aborted, "the message"},
      {"invalid with causes", 422, "Invalid",
       json::array({{{"reason", "FieldValueInvalid"},
                     {"message", "must be >= 0"},
                     {"field", "spec.replicas"}}}),
       ErrorKind::InvalidArgument, "spec.replicas: must be >= 0"},
      {"bad request", 400, "BadRequest", json(), ErrorKind::InvalidArgument, "the message"},
      {"unauthorized", 401, "Unauthorized", json(), ErrorKind::Unauthenticated, "the message"},
      {"forbidden", 403, "Forbidden", json(), ErrorKind::PermissionDenied, "the message"},
      {"gone", 410, "Expired", json(), ErrorKind::Aborted, "Gone"},
  };
  TestHttpsServer server(pki().server);
  auto c = client(configFor(server));
  for (const ErrorCase& tc : cases) {
    SCOPED_TRACE(tc.name);
    server.enqueue(answer(tc.status, statusBody(tc.status, tc.reason, "the message", tc.causes)));
    const size_t before = server.requestCount();
    auto r = c->get(resources::statefulSets(), "ns1", "web");
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().kind(), tc.kind) << r.status().toString();
    EXPECT_NE(r.status().message().find(tc.messageContains), std::string::npos)
        << r.status().message();
    EXPECT_EQ(server.requestCount() - before, 1u) << "client errors are not retried";
  }
}

TEST_F(RestKubeClientTest, NonJsonErrorBodiesStillMap) {
  TestHttpsServer server(pki().server);
  server.enqueue(answer(404, "404 page not found", {{"Content-Type", "text/plain"}}));
  auto r = client(configFor(server))->get(resources::pods(), "ns1", "p1");
  EXPECT_KIND(r, NotFound);
  EXPECT_NE(r.status().message().find("404 page not found"), std::string::npos);
}

TEST_F(RestKubeClientTest, InvalidJsonInASuccessIsInternal) {
  TestHttpsServer server(pki().server);
  server.enqueue(answer(200, "not json"));
  EXPECT_KIND(client(configFor(server))->get(resources::pods(), "ns1", "p1"), Internal);
}

// ---------------------------------------------------------------------------------------------
// Request shapes

TEST_F(RestKubeClientTest, PatchUsesTheContentTypeOfItsKind) {
  TestHttpsServer server(pki().server);
  auto c = client(configFor(server));
  const std::vector<std::pair<PatchType, std::string>> types = {
      {PatchType::Merge, "application/merge-patch+json"},
      {PatchType::StrategicMerge, "application/strategic-merge-patch+json"},
      {PatchType::Json, "application/json-patch+json"},
  };
  for (const auto& [type, contentType] : types) {
    const json body = type == PatchType::Json
                          ? json::array({{{"op", "replace"}, {"path", "/spec/replicas"},
                                          {"value", 2}}})
                          : json{{"spec", {{"replicas", 2}}}};
    EXPECT_OK(c->patch(resources::statefulSets(), "ns1", "web", type, body));
    const RecordedRequest r = server.lastRequest();
    EXPECT_EQ(r.method, "PATCH");
    EXPECT_EQ(r.header("content-type"), contentType);
    EXPECT_EQ(json::parse(r.body), body);
  }
}

TEST_F(RestKubeClientTest, ScaleSubresourcePath) {
  TestHttpsServer server(pki().server);
  server.enqueue(answer(200, R"({"kind":"Scale","spec":{"replicas":0}})"));
  auto scale = client(configFor(server))
                   ->patch(resources::statefulSets(), "ns1", "web", PatchType::Merge,
                           {{"spec", {{"replicas", 0}}}}, {}, "scale");
  ASSERT_OK(scale);
  EXPECT_EQ((*scale)["kind"], "Scale");
  const RecordedRequest r = server.lastRequest();
  EXPECT_EQ(r.path(), "/apis/apps/v1/namespaces/ns1/statefulsets/web/scale");
  EXPECT_EQ(r.query(), "fieldManager=sandboxd");
}

TEST_F(RestKubeClientTest, WritesCarryDryRunAndFieldManager) {
  TestHttpsServer server(pki().server);
  auto c = client(configFor(server));
  WriteOptions options;
  options.dryRun = true;
  options.fieldManager = "sandboxd test";
  EXPECT_OK(c->create(resources::services(), "ns1", {{"metadata", {{"name", "svc"}}}}, options));
  RecordedRequest r = server.lastRequest();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/api/v1/namespaces/ns1/services?dryRun=All&fieldManager=sandboxd%20test");
  EXPECT_EQ(r.header("content-type"), "application/json");
  const json sent = json::parse(r.body);
  EXPECT_EQ(sent["kind"], "Service");
  EXPECT_EQ(sent["apiVersion"], "v1");
  EXPECT_EQ(sent["metadata"]["name"], "svc");

  const json object = {{"apiVersion", "v1"}, {"kind", "Service"},
                       {"metadata", {{"name", "svc"}, {"resourceVersion", "7"}}}};
  EXPECT_OK(c->replace(resources::services(), "ns1", "svc", object));
  r = server.lastRequest();
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.target, "/api/v1/namespaces/ns1/services/svc?fieldManager=sandboxd");
  EXPECT_EQ(json::parse(r.body), object);
}

TEST_F(RestKubeClientTest, CreateTakesTheNamespaceFromTheObjectWhenNotGiven) {
  TestHttpsServer server(pki().server);
  EXPECT_OK(client(configFor(server))
                ->create(resources::secrets(), "",
                         {{"metadata", {{"name", "s"}, {"namespace", "team-a"}}}}));
  EXPECT_EQ(server.lastRequest().path(), "/api/v1/namespaces/team-a/secrets");
}

TEST_F(RestKubeClientTest, ListEncodesSelectorsLimitAndContinue) {
  TestHttpsServer server(pki().server);
  server.enqueue(answer(200, R"({"kind":"PodList","items":[{"metadata":{"name":"a"}}],
                                 "metadata":{"continue":"tok"}})"));
  ListOptions options;
  options.labelSelector = "app=web,tier in (a,b)";
  options.fieldSelector = "status.phase!=Running";
  options.limit = 50;
  options.continueToken = "abc/+=";
  auto list = client(configFor(server))->list(resources::pods(), "ns1", options);
  ASSERT_OK(list);
  EXPECT_EQ((*list)["items"].size(), 1u);
  EXPECT_EQ(server.lastRequest().target,
            "/api/v1/namespaces/ns1/pods?labelSelector=app%3Dweb%2Ctier%20in%20%28a%2Cb%29"
            "&fieldSelector=status.phase%21%3DRunning&limit=50&continue=abc%2F%2B%3D");
}

TEST_F(RestKubeClientTest, ListTextIsTheSameRequestAnsweredWithTheServersText) {
  TestHttpsServer server(pki().server);
  const std::string body = R"({"kind":"PodList","items":[{"metadata":{"name":"a"},"spec":{}}],
                              "metadata":{"resourceVersion":"9"}})";
  server.enqueue(answer(200, body));
  ListOptions options;
  options.labelSelector = "app";
  options.resourceVersion = "0";
  options.itemFields = std::make_shared<const FieldMask>(FieldMask::keys({"metadata"}));
  auto text = client(configFor(server))->listText(resources::pods(), "ns1", options);
  ASSERT_OK(text);
  EXPECT_EQ(*text, body) << "as sent: the mask is left to whoever parses it";
  EXPECT_EQ(server.lastRequest().target,
            "/api/v1/namespaces/ns1/pods?labelSelector=app&resourceVersion=0");
  server.enqueue(answer(403, R"({"kind":"Status","reason":"Forbidden","message":"no"})"));
  EXPECT_KIND(client(configFor(server))->listText(resources::pods(), "ns1", options),
              PermissionDenied);
}

TEST_F(RestKubeClientTest, ListAcrossNamespaces) {
  TestHttpsServer server(pki().server);
  EXPECT_OK(client(configFor(server))->list(resources::statefulSets(), ""));
  EXPECT_EQ(server.lastRequest().target, "/apis/apps/v1/statefulsets");
}

TEST_F(RestKubeClientTest, DeleteSendsDeleteOptions) {
  TestHttpsServer server(pki().server);
  server.enqueue(answer(200, statusBody(200, "", "deleted")));
  DeleteOptions options;
  options.propagationPolicy = "Foreground";
  options.preconditionUid = "1234-uid";
  auto removed = client(configFor(server))->remove(resources::statefulSets(), "ns1", "web", options);
  ASSERT_OK(removed);
  const RecordedRequest r = server.lastRequest();
  EXPECT_EQ(r.method, "DELETE");
  EXPECT_EQ(r.target, "/apis/apps/v1/namespaces/ns1/statefulsets/web");
  EXPECT_EQ(r.header("content-type"), "application/json");
  const json body = json::parse(r.body);
  EXPECT_EQ(body["kind"], "DeleteOptions");
  EXPECT_EQ(body["apiVersion"], "v1");
  EXPECT_EQ(body["propagationPolicy"], "Foreground");
  EXPECT_EQ(body["preconditions"]["uid"], "1234-uid");
}

TEST_F(RestKubeClientTest, DeleteDryRun) {
  TestHttpsServer server(pki().server);
  DeleteOptions options;
  options.dryRun = true;
  EXPECT_OK(client(configFor(server))->remove(resources::pods(), "ns1", "p1", options));
  const RecordedRequest r = server.lastRequest();
  EXPECT_EQ(r.query(), "dryRun=All");
  EXPECT_FALSE(json::parse(r.body).contains("preconditions"));
}

TEST_F(RestKubeClientTest, NamesArePercentEncodedAndRequired) {
  TestHttpsServer server(pki().server);
  auto c = client(configFor(server));
  EXPECT_OK(c->get(resources::pods(), "ns1", "a b"));
  EXPECT_EQ(server.lastRequest().target, "/api/v1/namespaces/ns1/pods/a%20b");
  EXPECT_KIND(c->get(resources::pods(), "ns1", ""), InvalidArgument);
  const size_t before = server.requestCount();
  EXPECT_KIND(c->create(resources::secrets(), "ns1", {{"metadata", {{"name", "bad\xff"}}}}),
              InvalidArgument)
      << "invalid UTF-8 is reported, not thrown";
  EXPECT_EQ(server.requestCount(), before);
}

TEST_F(RestKubeClientTest, PingUsesReadyz) {
  TestHttpsServer server(pki().server);
  server.enqueue(answer(200, "ok", {{"Content-Type", "text/plain"}}));
  auto c = client(configFor(server));
  EXPECT_OK(c->ping());
  EXPECT_EQ(server.lastRequest().target, "/readyz");
  server.setHandler([](const RecordedRequest&) { return answer(500, "[-]etcd failed"); });
  EXPECT_KIND(c->ping(), Unavailable);
}

TEST_F(RestKubeClientTest, ConcurrentCallsShareOneClient) {
  TestHttpsServer server(pki().server);
  server.setHandler([](const RecordedRequest& r) {
    return answer(200, json{{"path", r.path()}}.dump());
  });
  auto c = client(configFor(server));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string name = "p" + std::to_string(t) + "-" + std::to_string(i);
        auto r = c->get(resources::pods(), "ns1", name);
        if (r.isOk() && (*r)["path"] == "/api/v1/namespaces/ns1/pods/" + name) {
          ++ok;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), 60);
  EXPECT_EQ(server.requestCount(), 60u);
}

TEST_F(RestKubeClientTest, WorksFromALoadedKubeconfig) {
  TestHttpsServer server(pki().server, pki().ca.certPem);
  TempDir dir;
  dir.file("ca.pem", pki().ca.certPem);
  dir.file("client.pem", pki().client.certPem);
  dir.file("client-key.pem", pki().client.keyPem);
  const std::string path = dir.file("config", R"(apiVersion: v1
kind: Config
current-context: test
clusters:
- name: local
  cluster:
    server: )" + server.url() + R"(/
    certificate-authority: ca.pem
users:
- name: me
  user:
    token: kubeconfig-token
    client-certificate: client.pem
    client-key: client-key.pem
contexts:
- name: test
  context: {cluster: local, user: me, namespace: team-a}
)");
  auto config = loadKubeconfig(path);
  ASSERT_OK(config);
  EXPECT_OK(client(*config)->get(resources::pods(), config->nameSpace, "p1"));
  const RecordedRequest r = server.lastRequest();
  EXPECT_EQ(r.target, "/api/v1/namespaces/team-a/pods/p1");
  EXPECT_EQ(r.header("authorization"), "Bearer kubeconfig-token");
}

// ---------------------------------------------------------------------------------------------
// Watch

std::string watchLine(const std::string& type, const json& object) {
  return json{{"type", type}, {"object", object}}.dump() + "\n";
}

json podAt(const std::string& name, const std::string& rv) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", "ns1"}, {"resourceVersion", rv}}}};
}

// Events collected by a watch callback, and a way to wait for them.
struct SeenEvents {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<WatchEvent> events;

  WatchCallback callback() {
    return [this](const WatchEvent& e) {
      {
        std::lock_guard<std::mutex> lock(mu);
        events.push_back(e);
      }
      cv.notify_all();
    };
  }
  bool waitFor(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, [&] { return events.size() >= n; });
  }
  std::vector<WatchEvent> snapshot() {
    std::lock_guard<std::mutex> lock(mu);
    return events;
  }
};

TEST_F(RestKubeClientTest, WatchDeliversEventsWhileTheStreamIsStillOpen) {
  TestHttpsServer server(pki().server);
  SeenEvents seen;
  std::atomic<bool> firstSeenWhileOpen{false};
  ScriptedResponse r;
  r.stream = [&](const std::function<bool(const std::string&)>& write) {
    write(watchLine("ADDED", podAt("p1", "10")));
    // Hold the stream open until the client has seen the first event.
    firstSeenWhileOpen = seen.waitFor(1, 5s);
    const std::string modified = watchLine("MODIFIED", podAt("p1", "11"));
    write(modified.substr(0, 10));  // one event split across chunks
    write(modified.substr(10) +
          watchLine("BOOKMARK", {{"kind", "Pod"},
                                 {"apiVersion", "v1"},
                                 {"metadata", {{"resourceVersion", "12"}}}}) +
          watchLine("DELETED", podAt("p1", "13")));
  };
  server.enqueue(r);
  WatchOptions options;
  options.labelSelector = "app=sandbox";
  options.resourceVersion = "9";
  options.timeoutSeconds = 60;
  Status st = client(configFor(server))
                  ->watch(resources::pods(), "ns1", options, seen.callback(), nullptr);
  EXPECT_OK(st);
  EXPECT_TRUE(firstSeenWhileOpen) << "the first event arrived only when the stream ended";
  const auto events = seen.snapshot();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].type, WatchEventType::Added);
  EXPECT_EQ(events[1].type, WatchEventType::Modified);
  EXPECT_EQ(events[1].object["metadata"]["resourceVersion"], "11");
  EXPECT_EQ(events[2].type, WatchEventType::Bookmark);
  EXPECT_EQ(events[3].type, WatchEventType::Deleted);
  const RecordedRequest req = server.lastRequest();
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path(), "/api/v1/namespaces/ns1/pods");
  EXPECT_EQ(req.query(),
            "watch=1&labelSelector=app%3Dsandbox&resourceVersion=9&allowWatchBookmarks=true&"
            "timeoutSeconds=60");
}

// The body is read a whole arrival at a time: an event larger than one read (here ~200 KB,
// written in 7 KB pieces), blank and CRLF-ended lines, and a last event without its newline.
TEST_F(RestKubeClientTest, WatchAssemblesLargeEventsAndALastLineWithoutNewline) {
  TestHttpsServer server(pki().server);
  SeenEvents seen;
  json big = podAt("big", "20");
  big["metadata"]["annotations"]["note"] = std::string(200 * 1024, 'x');
  ScriptedResponse r;
  r.stream = [&](const std::function<bool(const std::string&)>& write) {
    const std::string line = watchLine("MODIFIED", big);
    for (size_t at = 0; at < line.size(); at += 7000) {
      write(line.substr(at, 7000));
    }
    std::string crlf = watchLine("ADDED", podAt("p2", "21"));
    crlf.insert(crlf.size() - 1, "\r");
    write("\n" + crlf);
    std::string last = watchLine("DELETED", podAt("p2", "22"));
    last.pop_back();
    write(last);
  };
  server.enqueue(r);
  WatchOptions options;
  options.resourceVersion = "19";
  Status st = client(configFor(server))
                  ->watch(resources::pods(), "ns1", options, seen.callback(), nullptr);
  EXPECT_OK(st);
  const auto events = seen.snapshot();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, WatchEventType::Modified);
  EXPECT_EQ(events[0].object, big);
  EXPECT_EQ(events[1].type, WatchEventType::Added);
  EXPECT_EQ(events[1].object["metadata"]["resourceVersion"], "21");
  EXPECT_EQ(events[2].type, WatchEventType::Deleted);
  EXPECT_EQ(events[2].object["metadata"]["resourceVersion"], "22");
}

TEST_F(RestKubeClientTest, WatchErrorEvent410IsGone) {
  TestHttpsServer server(pki().server);
  ScriptedResponse r;
  r.stream = [](const std::function<bool(const std::string&)>& write) {
    write(watchLine("ERROR", json::parse(statusBody(410, "Expired", "too old resource version"))));
  };
  server.enqueue(r);
  SeenEvents seen;
  WatchOptions options;
  options.resourceVersion = "5";
  Status st = client(configFor(server))
                  ->watch(resources::statefulSets(), "ns1", options, seen.callback(), nullptr);
  EXPECT_KIND(st, Aborted);
  EXPECT_TRUE(isGone(st)) << st.toString();
  EXPECT_NE(st.message().find("too old resource version"), std::string::npos) << st.message();
  ASSERT_EQ(seen.snapshot().size(), 1u);
  EXPECT_EQ(seen.snapshot()[0].type, WatchEventType::Error);
}

TEST_F(RestKubeClientTest, WatchBuildsOnlyTheObjectFieldsAskedForAndErrorsWhole) {
  TestHttpsServer server(pki().server);
  json big = podAt("big", "20");
  big["metadata"]["annotations"]["note"] = std::string(200 * 1024, 'x');
  big["spec"] = {{"nodeName", "n1"}, {"containers", json::array({{{"name", "c"}}})}};
  const json status = json::parse(statusBody(410, "Expired", "too old resource version"));
  ScriptedResponse r;
  r.stream = [&](const std::function<bool(const std::string&)>& write) {
    const std::string line = watchLine("MODIFIED", big);
    for (size_t at = 0; at < line.size(); at += 7000) {
      write(line.substr(at, 7000));
    }
    write(watchLine("ERROR", status));
  };
  server.enqueue(r);
  SeenEvents seen;
  WatchOptions options;
  options.resourceVersion = "19";
  options.objectFields = std::make_shared<const FieldMask>(
      FieldMask{{"metadata", FieldMask::keys({"name", "resourceVersion"})},
                {"spec", FieldMask::keys({"nodeName"})}});
  Status st = client(configFor(server))
                  ->watch(resources::pods(), "ns1", options, seen.callback(), nullptr);
  EXPECT_TRUE(isGone(st)) << st.toString();
  const auto events = seen.snapshot();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].object, json::parse(R"({"metadata": {"name": "big", "resourceVersion": "20"},
                                              "spec": {"nodeName": "n1"}})"));
  EXPECT_EQ(events[1].type, WatchEventType::Error);
  EXPECT_EQ(events[1].object, status);
}

TEST_F(RestKubeClientTest, WatchHttpErrorsMap) {
  TestHttpsServer server(pki().server);
  server.enqueue(answer(410, statusBody(410, "Gone", "too old")));
  server.enqueue(answer(403, statusBody(403, "Forbidden", "no watch for you")));
  auto c = client(configFor(server));
  SeenEvents seen;
  Status gone = c->watch(resources::pods(), "ns1", {}, seen.callback(), nullptr);
  EXPECT_TRUE(isGone(gone)) << gone.toString();
  Status denied = c->watch(resources::pods(), "ns1", {}, seen.callback(), nullptr);
  EXPECT_KIND(denied, PermissionDenied);
  EXPECT_FALSE(isGone(denied));
  EXPECT_TRUE(seen.snapshot().empty());
  EXPECT_TRUE(sleeps().empty()) << "watch() leaves retries to its caller";
}

TEST_F(RestKubeClientTest, WatchRejectsALineThatIsNotAnEvent) {
  TestHttpsServer server(pki().server);
  ScriptedResponse r;
  r.stream = [](const std::function<bool(const std::string&)>& write) {
    write("this is not json\n");
  };
  server.enqueue(r);
  SeenEvents seen;
  EXPECT_KIND(client(configFor(server))
                  ->watch(resources::pods(), "ns1", {}, seen.callback(), nullptr),
              Internal);
}

TEST_F(RestKubeClientTest, WatchCancellationEndsAnOpenStreamPromptly) {
  TestHttpsServer server(pki().server);
  ScriptedResponse r;
  r.stream = [](const std::function<bool(const std::string&)>& write) {
    write(watchLine("ADDED", podAt("p1", "10")));
    // Keep the stream open (blank lines, which watchers ignore) until the client goes away.
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < until && write("\n")) {
      std::this_thread::sleep_for(20ms);
    }
  };
  server.enqueue(r);
  auto c = client(configFor(server));
  SeenEvents seen;
  WatchCancellation cancel;
  Status result = internalError("not run");
  std::thread watcher([&] {
    result = c->watch(resources::pods(), "ns1", {}, seen.callback(), &cancel);
  });
  ASSERT_TRUE(seen.waitFor(1, 5s));
  const auto start = std::chrono::steady_clock::now();
  cancel.cancel();
  watcher.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_OK(result);
  EXPECT_EQ(seen.snapshot().size(), 1u);
}

}  // namespace
}  // namespace sandboxd
