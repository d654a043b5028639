// `sandboxd serve` as a child process against the test control plane, driven through its HTTP
// API: a ClusterTest with a temporary directory, the server (config.yaml pointing at the test
// namespace), a user token, and polling of what the API reports for a sandbox.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "api/api_test_support.h"
#include "integration/cluster_env.h"

namespace sandboxd::integration {

// Pods whose first container has this image stay Pending in ImagePullBackOff on the test
// control plane (a KWOK stage: tools/k8s/kwok-stages-extra.yaml).
inline constexpr const char* kUnpullableImage = "registry.invalid/sandboxd/unpullable:v1";

class ServedClusterTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    dir_ = makeWorkDir("sandboxd-served-it");
    ASSERT_FALSE(dir_.empty());
  }

  void TearDown() override {
    if (serve_.running()) {
      serve_.stop();
    }
    ClusterTest::TearDown();  // removes the work dir
  }

  // Starts `sandboxd serve --kube KUBECONFIG` with a config.yaml for the test namespace
  // (`sandboxYaml`: more lines of its `sandbox:` section, indented by two spaces), waits for
  // /readyz, and makes token_ (user alice).
  void startServe(const std::string& kubeconfig, const std::string& sandboxYaml = "") {
    std::ofstream(dir_ + "/config.yaml")
        << "server:\n  reconcileIntervalMs: 500\nsandbox:\n  namespace: " << ns_
        << "\n  image: " << config_.sandbox.image << "\n"
        << sandboxYaml;
    ASSERT_TRUE(serve_.start(dir_, {"--kube", kubeconfig, "--config", dir_ + "/config.yaml"},
                             "/readyz"))
        << serve_.log();
    token_ = serve_.createToken("alice");
    ASSERT_FALSE(token_.empty());
  }

  ::sandboxd::testing::HttpResult call(const std::string& method, const std::string& path,
                                       const std::string& body = "") {
    try {
      return ::sandboxd::testing::httpCall(serve_.port(), method, path, token_, body);
    } catch (const std::exception& e) {
      ::sandboxd::testing::HttpResult r;
      r.body = e.what();  // status 0: no answer
      return r;
    }
  }

  // POST /api/v1/sandboxes/{name}/{op}, or for "create" POST /api/v1/sandboxes with `body`
  // plus the name; true when answered with a 2xx (else a test failure).
  bool lifecycle(const std::string& name, const std::string& op, json body = json::object()) {
    ::sandboxd::testing::HttpResult r;
    if (op == "create") {
      body["name"] = name;
      r = call("POST", "/api/v1/sandboxes", body.dump());
    } else {
      r = call("POST", "/api/v1/sandboxes/" + name + "/" + op);
    }
    EXPECT_TRUE(r.status >= 200 && r.status < 300) << op << " " << name << ": " << r.status
                                                   << " " << r.body;
    return r.status >= 200 && r.status < 300;
  }

  // Polls GET /api/v1/sandboxes/{name} until it reports `status` (and `reason`, if given).
  // Returns the last answer's body on success, null otherwise (with a test failure).
  json waitStatus(const std::string& name, const std::string& status,
                  const std::string& reason = "",
                  std::chrono::seconds timeout = std::chrono::seconds(60)) {
    ::sandboxd::testing::HttpResult last;
    const bool ok = eventually(
        [&] {
          last = call("GET", "/api/v1/sandboxes/" + name);
          const json j = last.json();
          return last.status == 200 && j.value("status", "") == status &&
                 (reason.empty() || j.value("reason", "") == reason);
        },
        timeout);
    EXPECT_TRUE(ok) << name << " never reported " << status << (reason.empty() ? "" : "/")
                    << reason << "; last answer: " << last.status << " " << last.body;
    return ok ? last.json() : json();
  }

  // DELETE ?purge=true, then until GET answers 404 (the row goes once nothing is left).
  bool purge(const std::string& name) {
    auto r = call("DELETE", "/api/v1/sandboxes/" + name + "?purge=true");
    EXPECT_TRUE(r.status >= 200 && r.status < 300) << "delete " << name << ": " << r.status
                                                   << " " << r.body;
    ::sandboxd::testing::HttpResult last;
    const bool gone = eventually(
        [&] {
          last = call("GET", "/api/v1/sandboxes/" + name);
          return last.status == 404;
        },
        std::chrono::seconds(60));
    EXPECT_TRUE(gone) << name << " still reported after a purge: " << last.status << " "
                      << last.body;
    return gone;
  }

  // Names of the objects of `name` still in the namespace (workload, pods, claims, service,
  // ingresses, network policies, secrets); empty when none is left.
  std::vector<std::string> leftovers(const std::string& name) {
    std::vector<std::string> left;
    for (const ResourceType* type :
         {&resources::statefulSets(), &resources::pods(), &resources::persistentVolumeClaims(),
          &resources::services(), &resources::ingresses(), &resources::networkPolicies(),
          &resources::secrets()}) {
      auto items = client_->list(*type, ns_);
      if (!items.isOk()) {
        left.push_back(type->plural + ": " + items.status().toString());
        continue;
      }
      for (const json& item : (*items)["items"]) {
        const std::string n = item["metadata"].value("name", "");
        if (n == name || n.rfind(name + "-", 0) == 0 || n == names::pvc(name)) {
          left.push_back(type->plural + "/" + n);
        }
      }
    }
    return left;
  }

  // A sample of GET /metrics without labels; -1 when it is not there.
  double metric(const std::string& sample) {
    std::istringstream text(call("GET", "/metrics").body);
    for (std::string line; std::getline(text, line);) {
      if (line.rfind(sample + " ", 0) == 0) {
        return std::stod(line.substr(sample.size() + 1));
      }
    }
    return -1;
  }

  std::string dir_;
  ::sandboxd::testing::ServeProcess serve_;
  std::string token_;
};

}  // namespace sandboxd::integration
