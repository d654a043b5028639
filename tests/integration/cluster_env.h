// Access to the real control plane for the integration tier.
//
// The cluster comes from $SANDBOXD_K8S_STATE (a tools/k8s/up.sh state directory; ctest's
// fixture starts one) or, to run against your own cluster, $SANDBOXD_IT_KUBECONFIG. Neither
// set is a failure, never a skip: this tier must not pass quietly without a cluster.
#pragma once

#include <gtest/gtest.h>

#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fakes/status_matchers.h"
#include "sandboxd/common/random_generator.h"
#include "sandboxd/kube/kube_connection.h"
#include "sandboxd/model/naming.h"
#include "sandboxd/render/manifest_renderer.h"
#include "sandboxd/service/kubernetes_service.h"
#include "support/child_process.h"

namespace sandboxd::integration {

using ::sandboxd::testing::ProcessResult;
using ::sandboxd::testing::readFile;
using ::sandboxd::testing::runProcess;

inline std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

// The state directory written by tools/k8s/up.sh, or "" when using $SANDBOXD_IT_KUBECONFIG.
inline std::string stateDir() {
  const char* dir = std::getenv("SANDBOXD_K8S_STATE");
  return dir != nullptr ? dir : "";
}

inline std::string kubeconfigPath() {
  if (const char* own = std::getenv("SANDBOXD_IT_KUBECONFIG")) {
    return own;
  }
  return stateDir().empty() ? "" : stateDir() + "/kubeconfig";
}

// Runs `fn` until it returns true or `timeout` passes; returns its last answer.
inline bool eventually(const std::function<bool()>& fn,
                       std::chrono::seconds timeout = std::chrono::seconds(120)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fn()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return fn();
}

// Each test gets a fresh namespace, deleted afterwards.
class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string path = kubeconfigPath();
    ASSERT_FALSE(path.empty())
        << "no cluster: set SANDBOXD_K8S_STATE (tools/k8s/up.sh state dir) or "
           "SANDBOXD_IT_KUBECONFIG";
    auto connection = loadKubeconfig(path);
    ASSERT_OK(connection);
    connection_ = *connection;
    auto client = makeRestKubeClient(connection_);
    ASSERT_OK(client);
    client_ = *client;
    ASSERT_OK(client_->ping()) << "the API server at " << connection_.server << " is not ready";

    ns_ = "it-" + RandomGeneratorImpl().secureHex(4);
    json nsObject = {{"metadata", {{"name", ns_}, {"labels", {{"sandboxd-test", "true"}}}}}};
    ASSERT_OK(client_->create(resources::namespaces(), "", nsObject));
    // The ServiceAccount controller must have made "default" before pods can be created.
    ASSERT_TRUE(eventually([&] {
      ServiceAccountProbe probe;
      return client_->get(probe.type, ns_, "default").isOk();
    })) << "no default ServiceAccount in " << ns_;

    config_.sandbox.nameSpace = ns_;
    config_.sandbox.image = "registry.example.com/sandbox/runtime:v1";
    rebuild();
  }

  void TearDown() override {
    if (client_ && !ns_.empty() && std::getenv("SANDBOXD_IT_KEEP") == nullptr) {
      (void)client_->remove(resources::namespaces(), "", ns_);
    }
    for (const auto& dir : workDirs_) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }

  // A fresh directory /tmp/<prefix>-XXXXXX for the test's files (database, config, logs),
  // removed in TearDown (after a subclass's TearDown has stopped its processes). "" if it
  // could not be made.
  std::string makeWorkDir(const std::string& prefix) {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return "";
    }
    workDirs_.push_back(tmpl);
    return tmpl;
  }

  // Re-creates the renderer and service after a config change.
  void rebuild() {
    auto renderer = makeTemplateRenderer(config_);
    ASSERT_OK(renderer);
    renderer_ = *renderer;
    service_ = makeKubernetesService(client_, renderer_, config_.sandbox);
  }

  SandboxSpec spec(const std::string& name) const {
    SandboxSpec s;
    s.name = name;
    s.nameSpace = ns_;
    s.user = "alice";
    s.sandboxId = "id-" + name;
    s.image = config_.sandbox.image;
    s.env = {{"KEEP", "kept"}};
    return s;
  }

  StatusOr<json> get(const ResourceType& type, const std::string& name) {
    return client_->get(type, ns_, name);
  }

  bool waitPhase(const std::string& name, Phase phase,
                 std::chrono::seconds timeout = std::chrono::seconds(120)) {
    std::string last;
    bool ok = eventually(
        [&] {
          auto s = service_->status({ns_, name});
          last = s.isOk() ? std::string(toString(s->phase)) + " " + s->reason + ": " +
                                s->message
                          : s.status().toString();
          return s.isOk() && s->phase == phase;
        },
        timeout);
    EXPECT_TRUE(ok) << name << " did not reach " << toString(phase) << "; last: " << last;
    return ok;
  }

  struct ServiceAccountProbe {
    ResourceType type{"/api/v1", "serviceaccounts", "ServiceAccount", "v1", true};
  };

  KubeConnectionConfig connection_;
  KubeClientPtr client_;
  Config config_;
  ManifestRendererPtr renderer_;
  KubernetesServicePtr service_;
  std::string ns_;

 private:
  std::vector<std::string> workDirs_;
};

}  // namespace sandboxd::integration
