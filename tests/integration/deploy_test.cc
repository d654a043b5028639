// deploy/ against the real control plane, and `--kube in-cluster` proven with sandboxd's own
// ServiceAccount:
// - every object of the kustomization (and of deploy/examples/) is accepted by the API server,
//   and sandboxd's pod is admitted under the Pod Security "restricted" profile;
// - with a TokenRequest token of the ServiceAccount in a service-account directory laid out as
//   the kubelet does, `serve --kube in-cluster` runs the whole lifecycle, the watch cache, a
//   reconcile pass, migrate and its rollback, and doctor, with no other identity; the API
//   server's audit log of that run holds exactly the (group, resource, verb) triples the Role
//   grants;
// - a token file that starts invalid and is then rotated (the old token revoked) is re-read
//   without a restart;
// - with the Role's ingresses rule taken out, a create answers a clear error, sandboxd keeps
//   serving, /readyz says which permissions are missing, and the registry stays consistent
//   (and converges once the rule is back).
// The namespaces are renamed per test (sandboxd → it-…-sd, sandboxes → it-…), as an overlay
// would; nothing else of deploy/ is changed.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <yaml-cpp/yaml.h>

#include "integration/served_cluster.h"
#include "sandboxd/service/required_permissions.h"
#include "support/deploy_files.h"
#include "support/legacy_objects.h"

namespace sandboxd::integration {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::sandboxd::testing::deployPath;
using ::sandboxd::testing::deployResourceType;
using ::sandboxd::testing::describe;
using ::sandboxd::testing::findObject;
using ::sandboxd::testing::grantedBy;
using ::sandboxd::testing::kustomizationObjects;
using ::sandboxd::testing::withNamespaces;
using ::sandboxd::testing::without;
using ::sandboxd::testing::yamlDocuments;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The message of an error envelope ({"error": {"code", "message"}}), "" for anything else.
std::string errorMessageOf(const ::sandboxd::testing::HttpResult& r) {
  const json j = r.json();
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    return j["error"].value("message", "");
  }
  return "";
}

const ResourceType& roles() {
  return *deployResourceType("rbac.authorization.k8s.io/v1", "Role");
}

// ---------------------------------------------------------------------------------------------
// The manifests

class DeployManifestsTest : public ClusterTest {
 protected:
  void TearDown() override {
    for (const auto& ns : extraNamespaces_) {
      if (std::getenv("SANDBOXD_IT_KEEP") == nullptr) {
        (void)client_->remove(resources::namespaces(), "", ns);
      }
    }
    ClusterTest::TearDown();
  }

  // Creates `object` (server-side dry-run when `dryRun`); an existing Namespace gets the
  // object's labels instead, as `kubectl apply` would give them.
  Status apply(const json& object, bool dryRun) {
    const ResourceType* type =
        deployResourceType(object.value("apiVersion", ""), object.value("kind", ""));
    if (type == nullptr) {
      return invalidArgument("no resource type for " + object.value("apiVersion", "") + " " +
                             object.value("kind", ""));
    }
    WriteOptions options;
    options.dryRun = dryRun;
    const std::string ns = object["metadata"].value("namespace", "");
    auto created = client_->create(*type, ns, object, options);
    if (!created.isOk() && created.status().kind() == ErrorKind::AlreadyExists &&
        type->kind == "Namespace") {
      json labels = {{"metadata", {{"labels", object["metadata"].value("labels", json::object())}}}};
      return client_
          ->patch(*type, "", object["metadata"]["name"], PatchType::Merge, labels, options)
          .status();
    }
    return created.isOk() ? Status::ok() : created.status();
  }

  std::vector<std::string> extraNamespaces_;
};

TEST_F(DeployManifestsTest, EveryObjectIsAcceptedAndSandboxdsPodIsAdmittedAsRestricted) {
  const std::string sdNs = ns_ + "-sd";
  extraNamespaces_.push_back(sdNs);
  const std::map<std::string, std::string> names = {{"sandboxd", sdNs}, {"sandboxes", ns_}};

  const std::vector<json> objects = kustomizationObjects();
  ASSERT_GE(objects.size(), 8u);
  std::set<std::string> kinds;
  for (const json& object : objects) {
    const std::string what = object.value("kind", "") + " " + object["metadata"].value("name", "");
    kinds.insert(object.value("kind", ""));
    // For real: the pod below must be admitted, and RBAC objects can only be checked by being.
    EXPECT_OK(apply(withNamespaces(object, names), /*dryRun=*/false)) << what;
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"Namespace", "ServiceAccount", "Role", "RoleBinding",
                                          "ConfigMap", "Service", "StatefulSet", "Ingress"}));

  // The StatefulSet controller's pod is admitted in a namespace that enforces "restricted":
  // non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp.
  auto ns = client_->get(resources::namespaces(), "", sdNs);
  ASSERT_OK(ns);
  EXPECT_EQ(labelOf(*ns, "pod-security.kubernetes.io/enforce"), "restricted");
  std::string last;
  EXPECT_TRUE(eventually(
      [&] {
        auto pod = client_->get(resources::pods(), sdNs, "sandboxd-0");
        last = pod.isOk() ? "" : pod.status().toString();
        return pod.isOk();
      },
      60s))
      << "no pod sandboxd-0 (refused at admission?): " << last;
  auto sts = client_->get(resources::statefulSets(), sdNs, "sandboxd");
  ASSERT_OK(sts);
  std::string events;
  // A refused pod leaves a FailedCreate event on the StatefulSet.
  ListOptions onSts;
  onSts.fieldSelector = "involvedObject.name=sandboxd";
  auto list = client_->list(resources::events(), sdNs, onSts);
  ASSERT_OK(list);
  for (const json& e : (*list)["items"]) {
    EXPECT_NE(e.value("reason", ""), "FailedCreate") << e.value("message", "");
  }
  // The registry's claim is made from the volumeClaimTemplate.
  EXPECT_TRUE(eventually(
      [&] { return client_->get(resources::persistentVolumeClaims(), sdNs, "data-sandboxd-0").isOk(); },
      60s));
}

TEST_F(DeployManifestsTest, TheExamplesAreAcceptedAndTheirRulesAreTheRoles) {
  const std::string sdNs = ns_ + "-sd";
  const std::string teamNs = ns_ + "-ta";
  extraNamespaces_ = {sdNs, teamNs};
  for (const auto& ns : {sdNs, teamNs}) {
    ASSERT_OK(client_->create(resources::namespaces(), "",
                              json{{"metadata", {{"name", ns}, {"labels", {{"sandboxd-test", "true"}}}}}}));
  }
  const std::map<std::string, std::string> names = {
      {"sandboxd", sdNs}, {"sandboxes", ns_}, {"team-a", teamNs}};
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(deployPath("examples"))) {
    for (const json& object : yamlDocuments(entry.path().string())) {
      // Dry-run only: cluster-scoped roles would outlive the test.
      EXPECT_OK(apply(withNamespaces(object, names), /*dryRun=*/true))
          << entry.path().filename() << ": " << object.value("kind", "") << " "
          << object["metadata"].value("name", "");
      ++checked;
    }
  }
  EXPECT_GE(checked, 4);

  const std::vector<json> objects = kustomizationObjects();
  const json* role = findObject(objects, "Role", "sandboxd");
  ASSERT_NE(role, nullptr);
  const auto examples = yamlDocuments(deployPath("examples/several-namespaces.yaml"));
  const json* clusterRole = findObject(examples, "ClusterRole", "sandboxd-sandboxes");
  ASSERT_NE(clusterRole, nullptr);
  EXPECT_EQ(grantedBy((*clusterRole)["rules"]), grantedBy((*role)["rules"]));
}

// ---------------------------------------------------------------------------------------------
// `serve --kube in-cluster` with the ServiceAccount

// One request in the API server's audit log (tools/k8s/up.sh logs service accounts' requests).
struct AuditedRequest {
  std::string verb;
  std::string group;
  std::string resource;  // "statefulsets/scale" with a subresource; "" for a non-resource URL
  std::string nameSpace;
  std::string uri;
  int code = 0;
  std::string credential;  // a service account token's "JTI=<its jti>"
};

// The "jti" claim of a JSON Web Token ("" if it has none): what the API server's audit log
// names a service account token by.
std::string jtiOf(const std::string& token) {
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  if (first == std::string::npos || second == std::string::npos) {
    return "";
  }
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string payload;
  uint32_t bits = 0;
  int count = 0;
  for (char c : token.substr(first + 1, second - first - 1)) {
    const auto v = alphabet.find(c);
    if (v == std::string::npos) {
      break;
    }
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      payload.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  const json claims = json::parse(payload, nullptr, false);
  return claims.is_object() ? claims.value("jti", "") : "";
}

// The requests made as `user`, each once (by audit id, its last stage).
std::vector<AuditedRequest> auditedRequests(const std::string& user) {
  std::map<std::string, AuditedRequest> byId;
  std::ifstream in(stateDir() + "/audit.log");
  for (std::string line; std::getline(in, line);) {
    json event = json::parse(line, nullptr, false);
    if (!event.is_object() || event["user"].value("username", "") != user) {
      continue;
    }
    AuditedRequest r;
    r.verb = event.value("verb", "");
    r.uri = event.value("requestURI", "");
    if (event.contains("objectRef")) {
      const json& ref = event["objectRef"];
      r.group = ref.value("apiGroup", "");
      r.resource = ref.value("resource", "");
      if (!ref.value("subresource", "").empty()) {
        r.resource += "/" + ref.value("subresource", "");
      }
      r.nameSpace = ref.value("namespace", "");
    }
    if (event.contains("responseStatus")) {
      r.code = event["responseStatus"].value("code", 0);
    }
    const json extra = event["user"].value("extra", json::object());
    const json ids = extra.value("authentication.kubernetes.io/credential-id", json::array());
    if (ids.is_array() && !ids.empty() && ids[0].is_string()) {
      r.credential = ids[0].get<std::string>();
    }
    byId[event.value("auditID", line)] = r;
  }
  std::vector<AuditedRequest> out;
  for (auto& [id, r] : byId) {
    out.push_back(std::move(r));
  }
  return out;
}

class InClusterTest : public ServedClusterTest {
 protected:
  void SetUp() override {
    ServedClusterTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    if (stateDir().empty()) {
      GTEST_SKIP() << "needs the test control plane's state: its CA for the service-account "
                      "directory and its audit log (own-cluster mode)";
    }
    sdNs_ = ns_ + "-sd";
    names_ = {{"sandboxd", sdNs_}, {"sandboxes", ns_}};
    user_ = "system:serviceaccount:" + sdNs_ + ":sandboxd";
    // sandboxd's namespace, its ServiceAccount and its Role from deploy/, for real.
    for (const char* file : {"namespace.yaml", "serviceaccount.yaml", "rbac.yaml"}) {
      for (const json& object : yamlDocuments(deployPath(file))) {
        const json renamed = withNamespaces(object, names_);
        const ResourceType* type =
            deployResourceType(renamed.value("apiVersion", ""), renamed.value("kind", ""));
        ASSERT_NE(type, nullptr) << file;
        auto created = client_->create(*type, renamed["metadata"].value("namespace", ""), renamed);
        if (!created.isOk() && renamed.value("kind", "") == "Namespace" &&
            created.status().kind() == ErrorKind::AlreadyExists) {
          continue;  // the test's own namespace
        }
        ASSERT_OK(created) << file;
        if (renamed.value("kind", "") == "Role") {
          role_ = renamed;
        }
      }
    }
    ASSERT_TRUE(role_.is_object()) << "no Role in deploy/rbac.yaml";
    const std::string server = connection_.server;  // https://127.0.0.1:PORT
    const auto colon = server.rfind(':');
    ASSERT_NE(colon, std::string::npos);
    apiHost_ = server.substr(server.find("://") + 3, colon - server.find("://") - 3);
    apiPort_ = server.substr(colon + 1);
    saDir_ = dir_ + "/serviceaccount";
    ASSERT_TRUE(fs::create_directories(saDir_));
    writeConfig();
  }

  void TearDown() override {
    if (serve_.running()) {
      serve_.stop();
    }
    if (!sdNs_.empty() && std::getenv("SANDBOXD_IT_KEEP") == nullptr) {
      (void)client_->remove(resources::namespaces(), "", sdNs_);
    }
    ServedClusterTest::TearDown();
  }

  // The deployed configuration file (deploy/configmap.yaml), with passes every second instead
  // of every 10 s so that repairs show up sooner. The listen address, the database and the
  // namespace come from the test (flags and SANDBOXD_NAMESPACE, which override the file).
  void writeConfig() {
    const std::vector<json> docs = yamlDocuments(deployPath("configmap.yaml"));
    const json* configMap = findObject(docs, "ConfigMap", "sandboxd-config");
    ASSERT_NE(configMap, nullptr);
    const std::string text = (*configMap)["data"].value("sandboxd.yaml", "");
    YAML::Node config = YAML::Load(text);
    ASSERT_EQ(config["server"]["kube"].as<std::string>(), "in-cluster");
    config["server"]["reconcileIntervalMs"] = 1000;
    YAML::Emitter out;
    out << config;
    configPath_ = dir_ + "/sandboxd.yaml";
    std::ofstream(configPath_) << out.c_str() << "\n";
  }

  // A TokenRequest token of the ServiceAccount, valid for an hour; bound to the Secret
  // `boundSecret` (in sandboxd's namespace) when given: deleting the Secret revokes it.
  std::string requestToken(const std::string& boundSecret = "") {
    const ResourceType tokenRequests{"/api/v1", "serviceaccounts/sandboxd/token", "TokenRequest",
                                     "authentication.k8s.io/v1", true};
    json request = {{"apiVersion", "authentication.k8s.io/v1"},
                    {"kind", "TokenRequest"},
                    {"spec", {{"expirationSeconds", 3600}}}};
    if (!boundSecret.empty()) {
      request["spec"]["boundObjectRef"] = {
          {"kind", "Secret"}, {"apiVersion", "v1"}, {"name", boundSecret}};
    }
    WriteOptions options;
    options.fieldManager.clear();
    auto answer = client_->create(tokenRequests, sdNs_, request, options);
    EXPECT_OK(answer);
    return answer.isOk() ? (*answer)["status"].value("token", "") : "";
  }

  // Writes token, ca.crt and namespace as the kubelet's atomic writer does: a new timestamped
  // directory, `..data` switched to it by a rename, the files symbolic links through `..data`.
  void writeServiceAccountFiles(const std::string& token) {
    const std::string generation = "..gen-" + std::to_string(++generation_);
    const fs::path dir = fs::path(saDir_) / generation;
    fs::create_directories(dir);
    std::ofstream(dir / "token") << token;
    fs::copy_file(stateDir() + "/ca.crt", dir / "ca.crt");
    std::ofstream(dir / "namespace") << sdNs_;
    const fs::path tmp = fs::path(saDir_) / "..data_tmp";
    fs::remove(tmp);
    fs::create_directory_symlink(generation, tmp);
    fs::rename(tmp, fs::path(saDir_) / "..data");
    for (const char* file : {"token", "ca.crt", "namespace"}) {
      const fs::path link = fs::path(saDir_) / file;
      if (!fs::is_symlink(link)) {
        fs::create_symlink(fs::path("..data") / file, link);
      }
    }
    if (generation_ > 1) {
      fs::remove_all(fs::path(saDir_) / ("..gen-" + std::to_string(generation_ - 1)));
    }
  }

  // What a pod's container has: the API server's address from the environment, the
  // service-account directory (moved: SANDBOXD_SERVICEACCOUNT_DIR), and the namespace.
  std::map<std::string, std::string> podEnvironment() const {
    return {{"KUBERNETES_SERVICE_HOST", apiHost_},
            {"KUBERNETES_SERVICE_PORT", apiPort_},
            {"SANDBOXD_SERVICEACCOUNT_DIR", saDir_},
            {"SANDBOXD_NAMESPACE", ns_}};
  }

  // `serve` as the StatefulSet runs it: the deployed config file, in-cluster. Waits for
  // `readyPath`; makes token_ (alice) and adminToken_.
  bool startServe(const std::string& readyPath = "/readyz") {
    const bool started =
        serve_.start(dir_, {"--config", configPath_}, readyPath, 60s, podEnvironment());
    EXPECT_TRUE(started) << "/readyz: " << call("GET", "/readyz").body << "\n" << serve_.log();
    if (token_.empty()) {
      token_ = serve_.createToken("alice");
      adminToken_ = serve_.createToken("admin", true);
    }
    return started;
  }

  // A local command (migrate, doctor) as `kubectl exec` runs it in the pod: in-cluster, with
  // the deployed config file and the pod's environment.
  ProcessResult inPod(std::vector<std::string> args) {
    args.insert(args.begin(), SANDBOXD_BINARY);
    args.insert(args.end(), {"--config", configPath_, "--db", serve_.db()});
    return runProcess(args, podEnvironment());
  }

  // The Role with the rule for `resource` taken out (or back in, `restore`); waits until the
  // API server's authorizer applies it to the ServiceAccount.
  void setIngressRule(bool present) {
    auto current = client_->get(roles(), ns_, "sandboxd");
    ASSERT_OK(current);
    json updated = *current;
    updated["rules"] = json::array();
    for (const json& rule : role_["rules"]) {
      const bool ingresses = rule["resources"] == json::array({"ingresses"});
      if (present || !ingresses) {
        updated["rules"].push_back(rule);
      }
    }
    ASSERT_OK(client_->replace(roles(), ns_, "sandboxd", updated));
    KubeConnectionConfig sa = connection_;
    sa.token = saToken_;
    sa.tokenFile.clear();
    sa.clientCertPem.clear();
    sa.clientKeyPem.clear();
    auto client = makeRestKubeClient(sa);
    ASSERT_OK(client);
    ASSERT_TRUE(eventually(
        [&] {
          auto listed = (*client)->list(resources::ingresses(), ns_);
          return present ? listed.isOk() : listed.status().kind() == ErrorKind::PermissionDenied;
        },
        30s))
        << "the Role change did not take effect";
  }

  ::sandboxd::testing::HttpResult callAs(const std::string& token, const std::string& method,
                                         const std::string& path, const std::string& body = "") {
    try {
      return ::sandboxd::testing::httpCall(serve_.port(), method, path, token, body);
    } catch (const std::exception& e) {
      ::sandboxd::testing::HttpResult r;
      r.body = e.what();
      return r;
    }
  }

  // Stops serve and waits until the audit log no longer grows.
  std::vector<AuditedRequest> finishedAudit() {
    if (serve_.running()) {
      EXPECT_EQ(serve_.stop(), 0) << serve_.log();
    }
    size_t previous = 0;
    std::vector<AuditedRequest> requests;
    for (int i = 0; i < 20; ++i) {
      requests = auditedRequests(user_);
      if (i > 0 && requests.size() == previous) {
        break;
      }
      previous = requests.size();
      std::this_thread::sleep_for(500ms);
    }
    return requests;
  }

  std::string sdNs_;
  std::map<std::string, std::string> names_;
  std::string user_;
  json role_;
  std::string apiHost_;
  std::string apiPort_;
  std::string saDir_;
  std::string saToken_;
  std::string configPath_;
  std::string adminToken_;
  int generation_ = 0;
};

TEST_F(InClusterTest, TheWholeLifecycleIssuesExactlyWhatTheRoleGrants) {
  saToken_ = requestToken();
  ASSERT_FALSE(saToken_.empty());
  writeServiceAccountFiles(saToken_);
  ASSERT_TRUE(startServe());
  EXPECT_TRUE(contains(serve_.log(), "in-cluster service account " + saDir_)) << serve_.log();

  // Create (with a secret value), read, list, stop, start.
  ASSERT_TRUE(lifecycle("alpha", "create",
                        json{{"env", {{"A", "1"}}}, {"secretEnv", {{"S", "s1"}}}}));
  ASSERT_FALSE(waitStatus("alpha", "RUNNING").is_null());
  auto listed = call("GET", "/api/v1/sandboxes");
  EXPECT_EQ(listed.status, 200) << listed.body;
  ASSERT_TRUE(lifecycle("alpha", "stop"));
  ASSERT_FALSE(waitStatus("alpha", "STOPPED").is_null());
  ASSERT_TRUE(lifecycle("alpha", "start"));
  ASSERT_FALSE(waitStatus("alpha", "RUNNING").is_null());

  // Env: a plain value, a secret one into the existing Secret, a secret one removed.
  auto env = call("PATCH", "/api/v1/sandboxes/alpha/env",
                  json{{"set", {{"B", "2"}}}, {"setSecret", {{"T", "t1"}}}, {"unset", {"S"}}}
                      .dump());
  EXPECT_EQ(env.status, 200) << env.body;

  // The home volume grows: a PATCH of its claim (the test storage's class allows expansion).
  auto grown = call("PATCH", "/api/v1/sandboxes/alpha", json{{"storage", "6Gi"}}.dump());
  EXPECT_EQ(grown.status, 200) << grown.body;
  auto claim = get(resources::persistentVolumeClaims(), names::pvc("alpha"));
  ASSERT_OK(claim);
  EXPECT_EQ((*claim)["spec"]["resources"]["requests"].value("storage", ""), "6Gi");

  // The reconciler re-creates a Service deleted behind sandboxd's back.
  auto service = get(resources::services(), names::service("alpha"));
  ASSERT_OK(service);
  const std::string oldUid = (*service)["metadata"].value("uid", "");
  ASSERT_OK(client_->remove(resources::services(), ns_, names::service("alpha")));
  EXPECT_TRUE(eventually([&] {
    auto now = get(resources::services(), names::service("alpha"));
    return now.isOk() && (*now)["metadata"].value("uid", "") != oldUid;
  })) << "the reconciler did not re-create the Service";

  // A pod the API server refuses (here the LimitRanger admission plugin: a LimitRange caps a
  // container's cpu below the sandbox's limit): the status says why, from the StatefulSet's
  // FailedCreate event.
  const ResourceType limitRanges{"/api/v1", "limitranges", "LimitRange", "v1", true};
  ASSERT_OK(client_->create(
      limitRanges, ns_,
      json{{"metadata", {{"name", "tiny"}}},
           {"spec", {{"limits", json::array({{{"type", "Container"},
                                               {"max", {{"cpu", "10m"}}}}})}}}}));
  ASSERT_TRUE(lifecycle("refused", "create"));
  const json refused = waitStatus("refused", "ERROR", "PodRefused");
  ASSERT_TRUE(refused.is_object());
  EXPECT_TRUE(contains(refused.value("message", ""), "maximum cpu usage per Container"))
      << refused.dump();
  ASSERT_OK(client_->remove(limitRanges, ns_, "tiny"));
  EXPECT_TRUE(purge("refused"));

  // doctor, in the pod: registry and cluster agree.
  ProcessResult doctor = inPod({"doctor"});
  EXPECT_EQ(doctor.exitCode, 0) << doctor.out << doctor.err;

  // A legacy Deployment sandbox: migrated (while serve runs, as `kubectl exec` would), rolled
  // back with serve stopped (the reconciler would re-create the StatefulSet the rollback
  // removes before the registry says Deployment again), then stopped and purged through the
  // API as a legacy sandbox.
  ASSERT_OK(client_->create(resources::deployments(), ns_,
                            ::sandboxd::testing::legacyDeployment("legacy", 1)));
  ASSERT_OK(client_->create(resources::services(), ns_,
                            ::sandboxd::testing::clusterIpService("legacy", "legacy")));
  ASSERT_OK(client_->create(resources::ingresses(), ns_,
                            ::sandboxd::testing::ingress("legacy", "legacy")));
  // A sandbox whose pod never becomes Ready (for the env fix below).
  ASSERT_TRUE(lifecycle("stuck", "create", json{{"image", kUnpullableImage}}));
  ASSERT_FALSE(waitStatus("stuck", "ERROR", "ImagePullBackOff").is_null());
  ProcessResult migrated = inPod({"migrate", "--owner", "alice", "--timeout", "120"});
  ASSERT_EQ(migrated.exitCode, 0) << migrated.out << migrated.err;
  EXPECT_TRUE(contains(migrated.out, "migrated 1, skipped 0, failed 0")) << migrated.out;
  ASSERT_EQ(serve_.stop(), 0) << serve_.log();
  // While serve is down: "stuck"'s StatefulSet as sandboxd made it before podManagementPolicy
  // Parallel (an immutable field): re-created as OrderedReady, its pod orphaned and adopted.
  std::string stuckPodUid;
  {
    auto sts = client_->get(resources::statefulSets(), ns_, "stuck");
    ASSERT_OK(sts);
    auto pod = client_->get(resources::pods(), ns_, names::pod("stuck"));
    ASSERT_OK(pod);
    stuckPodUid = (*pod)["metadata"].value("uid", "");
    DeleteOptions orphan;
    orphan.propagationPolicy = "Orphan";
    ASSERT_OK(client_->remove(resources::statefulSets(), ns_, "stuck", orphan));
    ASSERT_TRUE(eventually([&] {
      return client_->get(resources::statefulSets(), ns_, "stuck").status().kind() ==
             ErrorKind::NotFound;
    }));
    json legacySts = {{"apiVersion", "apps/v1"},
                      {"kind", "StatefulSet"},
                      {"metadata",
                       {{"name", "stuck"},
                        {"labels", (*sts)["metadata"].value("labels", json::object())},
                        {"annotations", (*sts)["metadata"].value("annotations", json::object())}}},
                      {"spec", (*sts)["spec"]}};
    legacySts["spec"].erase("podManagementPolicy");
    ASSERT_OK(client_->create(resources::statefulSets(), ns_, legacySts));
  }
  ProcessResult rolledBack = inPod({"migrate", "--rollback", "legacy"});
  ASSERT_EQ(rolledBack.exitCode, 0) << rolledBack.out << rolledBack.err;
  ASSERT_TRUE(startServe());
  const json legacy = waitStatus("legacy", "RUNNING");
  ASSERT_TRUE(legacy.is_object());
  EXPECT_EQ(legacy.value("workload", ""), "Deployment") << legacy.dump();
  ASSERT_TRUE(lifecycle("legacy", "stop"));
  ASSERT_FALSE(waitStatus("legacy", "STOPPED").is_null());
  EXPECT_TRUE(purge("legacy"));

  // kubernetes#67250: an OrderedReady StatefulSet keeps its never-Ready pod through a template
  // change; the env change deletes that pod, so the controller makes one with the new value.
  auto fix = call("PATCH", "/api/v1/sandboxes/stuck/env", json{{"set", {{"FIXED", "1"}}}}.dump());
  EXPECT_EQ(fix.status, 200) << fix.body;
  json newPod;
  EXPECT_TRUE(eventually([&] {
    auto pod = client_->get(resources::pods(), ns_, names::pod("stuck"));
    newPod = pod.isOk() ? *pod : json();
    return pod.isOk() && (*pod)["metadata"].value("uid", "") != stuckPodUid &&
           (*pod)["spec"]["containers"][0].dump().find("FIXED") != std::string::npos;
  })) << "the stuck pod was not replaced: " << newPod.dump();
  EXPECT_TRUE(purge("stuck"));

  // Delete (the home volume kept), then purge.
  auto deleted = call("DELETE", "/api/v1/sandboxes/alpha");
  EXPECT_EQ(deleted.status, 202) << deleted.body;
  EXPECT_TRUE(purge("alpha"));
  EXPECT_TRUE(eventually([&] {
    return leftovers("alpha").empty() && leftovers("legacy").empty() && leftovers("stuck").empty();
  }))
      << ::testing::PrintToString(leftovers("alpha"))
      << ::testing::PrintToString(leftovers("legacy"));

  // What sandboxd issued, as the API server recorded it.
  const std::vector<AuditedRequest> requests = finishedAudit();
  ASSERT_FALSE(requests.empty()) << "nothing in " << stateDir() << "/audit.log for " << user_;
  std::set<Permission> used;
  std::set<std::string> nonResource;
  bool reviewedItsPermissions = false;
  for (const auto& r : requests) {
    EXPECT_NE(r.code, 401) << r.verb << " " << r.uri;
    EXPECT_NE(r.code, 403) << r.verb << " " << r.uri;
    if (r.resource.empty()) {
      nonResource.insert(r.uri.substr(0, r.uri.find('?')));
      continue;
    }
    if (r.group == "authorization.k8s.io" && r.resource == "selfsubjectrulesreviews") {
      // The readiness check's question about its own permissions: Kubernetes' default
      // ClusterRole system:basic-user lets every authenticated identity ask it; not the Role's.
      EXPECT_EQ(r.verb, "create");
      reviewedItsPermissions = true;
      continue;
    }
    EXPECT_EQ(r.nameSpace, ns_) << r.verb << " " << r.uri << ": outside the sandboxes' namespace";
    used.insert(Permission{r.group, r.resource, r.verb});
  }
  EXPECT_TRUE(reviewedItsPermissions) << "serve never reviewed its permissions";
  for (const auto& path : nonResource) {
    EXPECT_EQ(path, "/readyz") << "a non-resource request the code does not make";
  }
  const std::set<Permission> granted = grantedBy(role_["rules"]);
  EXPECT_TRUE(without(used, granted).empty())
      << "used, but not granted by deploy/rbac.yaml:" << describe(without(used, granted));
  EXPECT_TRUE(without(granted, used).empty())
      << "granted by deploy/rbac.yaml, but not used in this run:"
      << describe(without(granted, used));
  std::set<Permission> table;
  for (const auto& row : requiredPermissions()) {
    table.insert(row.permission);
  }
  EXPECT_EQ(table, used) << "src/service/required_permissions.cc differs from what was used:"
                         << "\n only in the table:" << describe(without(table, used))
                         << "\n only used:" << describe(without(used, table));
}

TEST_F(InClusterTest, ATokenFileReplacedByTheKubeletIsReadAgainWithoutARestart) {
  // The directory starts with a token the API server does not accept.
  writeServiceAccountFiles("not-a-valid-token");
  ASSERT_TRUE(startServe("/healthz"));
  auto notReady = call("GET", "/readyz");
  EXPECT_EQ(notReady.status, 503) << notReady.body;
  EXPECT_TRUE(contains(notReady.body, "credentials")) << notReady.body;
  auto refused = call("POST", "/api/v1/sandboxes", json{{"name", "early"}}.dump());
  EXPECT_EQ(refused.status, 503) << "sandboxd's bad credentials are not the caller's: "
                                 << refused.body;

  // The kubelet writes a valid token (bound to a Secret, so it can be revoked below).
  ASSERT_OK(client_->create(resources::secrets(), sdNs_,
                            json{{"metadata", {{"name", "token-a"}}}, {"type", "Opaque"}}));
  saToken_ = requestToken("token-a");
  writeServiceAccountFiles(saToken_);
  const pid_t pid = serve_.pid();
  ::sandboxd::testing::HttpResult ready;
  EXPECT_TRUE(eventually(
      [&] {
        ready = call("GET", "/readyz");
        return ready.status == 200;
      },
      120s))
      << ready.status << " " << ready.body << "\n" << serve_.log();
  ASSERT_TRUE(lifecycle("rotated", "create"));
  ASSERT_FALSE(waitStatus("rotated", "RUNNING").is_null());

  // Rotation proper: a new token, and the old one revoked (its Secret deleted).
  ASSERT_OK(client_->create(resources::secrets(), sdNs_,
                            json{{"metadata", {{"name", "token-b"}}}, {"type", "Opaque"}}));
  const std::string tokenB = requestToken("token-b");
  writeServiceAccountFiles(tokenB);
  ASSERT_OK(client_->remove(resources::secrets(), sdNs_, "token-a"));
  KubeConnectionConfig old = connection_;
  old.token = saToken_;
  old.tokenFile.clear();
  old.clientCertPem.clear();
  old.clientKeyPem.clear();
  auto oldClient = makeRestKubeClient(old);
  ASSERT_OK(oldClient);
  ASSERT_TRUE(eventually([&] {
    return (*oldClient)->list(resources::pods(), ns_).status().kind() ==
           ErrorKind::Unauthenticated;
  })) << "the first token still works after its Secret was deleted";
  ASSERT_TRUE(lifecycle("rotated", "stop"));
  ASSERT_FALSE(waitStatus("rotated", "STOPPED").is_null());
  EXPECT_EQ(call("GET", "/readyz").status, 200);
  EXPECT_EQ(serve_.pid(), pid) << "serve restarted";
  EXPECT_TRUE(purge("rotated"));

  // The one process used both tokens, and the stop was made with the new one.
  const std::string jtiA = "JTI=" + jtiOf(saToken_);
  const std::string jtiB = "JTI=" + jtiOf(tokenB);
  ASSERT_NE(jtiA, jtiB);
  std::set<std::string> credentials;
  std::set<std::string> stoppedWith;
  for (const auto& r : finishedAudit()) {
    EXPECT_NE(r.code, 403) << r.verb << " " << r.uri;
    credentials.insert(r.credential);
    if (r.resource == "statefulsets/scale" && r.code == 200) {
      stoppedWith.insert(r.credential);
    }
  }
  EXPECT_EQ(credentials.count(jtiA), 1u) << "the first token was never used";
  EXPECT_EQ(credentials.count(jtiB), 1u) << "the rotated token was never used";
  EXPECT_EQ(stoppedWith, std::set<std::string>{jtiB});
}

TEST_F(InClusterTest, WithoutTheIngressRuleACreateFailsClearlyAndEverythingElseGoesOn) {
  saToken_ = requestToken();
  writeServiceAccountFiles(saToken_);
  ASSERT_TRUE(startServe());
  ASSERT_TRUE(lifecycle("before", "create"));
  ASSERT_FALSE(waitStatus("before", "RUNNING").is_null());

  setIngressRule(false);
  if (HasFatalFailure()) {
    return;
  }

  // The affected operation: the error envelope names the verb and the resource. A 503, not a
  // 403: the caller may create sandboxes, sandboxd itself may not create Ingresses.
  auto created = call("POST", "/api/v1/sandboxes", json{{"name", "after"}}.dump());
  EXPECT_EQ(created.status, 503) << created.body;
  EXPECT_EQ(created.errorCode(), "unavailable") << created.body;
  EXPECT_TRUE(contains(errorMessageOf(created),
                       "cannot create resource \"ingresses\" in API group \"networking.k8s.io\""))
      << created.body;

  // The same through the CLI: one line on stderr, exit 1.
  ProcessResult cli = runProcess({SANDBOXD_BINARY, "create", "bycli", "--server", serve_.url(),
                                  "--token", token_});
  EXPECT_EQ(cli.exitCode, 1) << cli.out << cli.err;
  EXPECT_TRUE(cli.out.empty()) << cli.out;
  EXPECT_EQ(std::count(cli.err.begin(), cli.err.end(), '\n'), 1) << cli.err;
  EXPECT_TRUE(contains(cli.err, "error: ")) << cli.err;
  EXPECT_TRUE(contains(cli.err, "cannot create resource \"ingresses\"")) << cli.err;

  // /readyz says which permissions are missing.
  ::sandboxd::testing::HttpResult readyz;
  std::string why;
  EXPECT_TRUE(eventually(
      [&] {
        readyz = call("GET", "/readyz");
        why = errorMessageOf(readyz);
        return readyz.status == 503 &&
               contains(why, "create ingresses in API group \"networking.k8s.io\"");
      },
      60s))
      << readyz.status << " " << readyz.body;
  EXPECT_TRUE(contains(why, "namespace " + ns_)) << why;
  for (const char* verb : {"delete", "get", "list"}) {
    EXPECT_TRUE(contains(why, std::string(verb) + " ingresses")) << why;
  }
  EXPECT_FALSE(contains(why, "patch ingresses")) << "migration's alone, not serve's: " << why;

  // Serving goes on: what needs no Ingress works.
  EXPECT_EQ(call("GET", "/healthz").status, 200);
  auto before = call("GET", "/api/v1/sandboxes/before");
  EXPECT_EQ(before.status, 200) << before.body;
  ASSERT_TRUE(lifecycle("before", "stop"));
  ASSERT_FALSE(waitStatus("before", "STOPPED").is_null());

  // The registry stays consistent: whatever the failed creates left in the cluster (the
  // StatefulSet controller may have made the home volume before the rollback deleted the
  // StatefulSet), their rows are still there as deletions, so nothing of sandboxd's is
  // unaccounted for.
  for (const char* name : {"after", "bycli"}) {
    const auto left = leftovers(name);
    auto row = callAs(adminToken_, "GET", std::string("/api/v1/sandboxes/") + name);
    if (!left.empty()) {
      EXPECT_EQ(row.status, 200) << name << " has objects " << ::testing::PrintToString(left)
                                 << " but no registry row: " << row.body;
      const json sandbox = row.json();
      const std::string status = sandbox.is_object() ? sandbox.value("status", "") : "";
      EXPECT_TRUE(status == "DELETING" || status == "TERMINATED")
          << "the failed create's row is not a deletion: " << row.body;
    }
  }
  // doctor in the pod cannot list Ingresses either, and says so.
  ProcessResult doctor = inPod({"doctor"});
  EXPECT_EQ(doctor.exitCode, 1) << doctor.out << doctor.err;
  EXPECT_TRUE(contains(doctor.err, "cannot list resource \"ingresses\"")) << doctor.err;

  // With the rule back: ready again, the failed creates' leftovers gone with their rows, and
  // creates work, all without a restart.
  const pid_t pid = serve_.pid();
  setIngressRule(true);
  EXPECT_TRUE(eventually([&] { return call("GET", "/readyz").status == 200; }, 60s))
      << call("GET", "/readyz").body;
  for (const char* name : {"after", "bycli"}) {
    EXPECT_TRUE(eventually(
        [&] {
          return callAs(adminToken_, "GET", std::string("/api/v1/sandboxes/") + name).status ==
                     404 &&
                 leftovers(name).empty();
        },
        90s))
        << name << ": " << ::testing::PrintToString(leftovers(name));
  }
  ASSERT_TRUE(lifecycle("after", "create"));
  ASSERT_FALSE(waitStatus("after", "RUNNING").is_null());
  ProcessResult clean = inPod({"doctor"});
  EXPECT_EQ(clean.exitCode, 0) << clean.out << clean.err;
  EXPECT_EQ(serve_.pid(), pid);
}

}  // namespace
}  // namespace sandboxd::integration
