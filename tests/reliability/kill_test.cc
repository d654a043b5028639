// kill -9 of `sandboxd serve` in the middle of lifecycle operations, against the real control
// plane: after every kill the server restarts on the same database; at the end every sandbox
// has converged to the state the registry records, and registry == cluster (no orphan, nothing
// missing, nothing left of deleted sandboxes, one home volume per sandbox).
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include "api/api_test_support.h"
#include "integration/cluster_env.h"
#include "sandboxd/registry/registry.h"
#include "reliability/convergence.h"

namespace sandboxd::integration {
namespace {

using ::sandboxd::testing::httpCall;
using ::sandboxd::testing::ServeProcess;

class KillTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    dir_ = makeWorkDir("sandboxd-kill-it");
    ASSERT_FALSE(dir_.empty());
    std::ofstream(dir_ + "/config.yaml")
        << "server:\n  reconcileIntervalMs: 300\nsandbox:\n  namespace: " << ns_
        << "\n  image: registry.example.com/sandbox/runtime:v1\n";
  }

  void TearDown() override {
    if (serve_ && serve_->running()) {
      serve_->stop(SIGKILL);
    }
    ClusterTest::TearDown();  // removes the work dir
  }

  void startServer() {
    serve_ = std::make_unique<ServeProcess>();
    ASSERT_TRUE(serve_->start(dir_, {"--kube", kubeconfigPath(), "--config",
                                     dir_ + "/config.yaml"},
                              "/readyz"))
        << serve_->log();
  }

  // Issues one request and does not care whether the answer arrives (the server may die).
  void fire(const std::string& method, const std::string& path, const std::string& body) {
    try {
      httpCall(serve_->port(), method, path, token_, body);
    } catch (...) {
      // killed mid-request: what was recorded before the kill is what counts
    }
  }

  std::string dir_;
  std::string token_;
  std::unique_ptr<ServeProcess> serve_;
};

TEST_F(KillTest, EverySandboxConvergesAfterThirtyKills) {
  constexpr int kKills = 30;
  startServer();
  token_ = serve_->createToken("alice");
  ASSERT_FALSE(token_.empty());

  std::mt19937 rng(20261123);
  std::vector<std::string> names;
  int kills = 0;
  for (int i = 0; i < kKills; ++i) {
    // An operation, chosen so that every kind is interrupted several times.
    std::string method = "POST";
    std::string path;
    std::string body;
    const std::string target = names.empty() ? "" : names[rng() % names.size()];
    switch (target.empty() ? 0 : i % 5) {
      case 0:
        names.push_back("k" + std::to_string(i));
        path = "/api/v1/sandboxes";
        body = json{{"name", names.back()}, {"env", {{"ROUND", std::to_string(i)}}}}.dump();
        break;
      case 1:
        path = "/api/v1/sandboxes/" + target + "/stop";
        break;
      case 2:
        path = "/api/v1/sandboxes/" + target + "/start";
        break;
      case 3:
        method = "PATCH";
        path = "/api/v1/sandboxes/" + target + "/env";
        body = json{{"set", {{"ROUND", std::to_string(i)}}}}.dump();
        break;
      default:
        method = "DELETE";
        path = "/api/v1/sandboxes/" + target + (i % 2 == 0 ? "?purge=true" : "");
        break;
    }
    std::thread request([&, method, path, body] { fire(method, path, body); });
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 40));
    ASSERT_EQ(::kill(serve_->pid(), SIGKILL), 0);
    ++kills;
    serve_->stop(0);  // reap
    request.join();
    startServer();  // same database; the reconciler's first pass runs at once
    if (HasFatalFailure()) {
      return;
    }
  }

  // Converged: the registry's desired state is what the cluster shows, and nothing is amiss.
  auto registry = openSqliteRegistry(dir_ + "/sandboxd.db", std::make_shared<RealTimeSource>());
  ASSERT_OK(registry);
  std::string last;
  const bool settled = eventually(
      [&] { return converged(*service_, *client_, **registry, config_.sandbox, last); },
      std::chrono::seconds(180));
  EXPECT_TRUE(settled) << "after " << kills << " kills: " << last << "\nserver log:\n"
                         << serve_->log();

  // Nothing duplicated: one StatefulSet and at most one home volume per registry entry.
  auto records = (*registry)->listSandboxes();
  ASSERT_OK(records);
  auto sts = client_->list(resources::statefulSets(), ns_);
  auto pvcs = client_->list(resources::persistentVolumeClaims(), ns_);
  ASSERT_OK(sts);
  ASSERT_OK(pvcs);
  size_t live = 0;
  for (const auto& r : *records) {
    live += r->desired == DesiredState::Deleted ? 0 : 1;
  }
  EXPECT_EQ((*sts)["items"].size(), live);
  EXPECT_LE((*pvcs)["items"].size(), records->size());
  std::cout << "[ figures  ] kills " << kills << ", sandboxes in the registry "
            << records->size() << " (" << live << " live), orphans found 0 when converged: "
            << (settled ? "yes" : "no") << "\n";
}

}  // namespace
}  // namespace sandboxd::integration
