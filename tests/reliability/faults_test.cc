// Lifecycle operations through the HTTP API while a proxy between sandboxd and the API server
// fails 20% of the calls (429 with Retry-After, 500, 503, connection resets before and after
// the request reached the server, latency, watch streams cut mid-event): every operation ends
// in its requested state or a reported error, and afterwards registry == cluster.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include "api/api_test_support.h"
#include "reliability/convergence.h"
#include "reliability/fault_proxy.h"

namespace sandboxd::integration {
namespace {

using ::sandboxd::testing::httpCall;
using ::sandboxd::testing::ServeProcess;

constexpr int kClients = 20;
constexpr int kOpsPerClient = 25;

class FaultsTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    ASSERT_FALSE(stateDir().empty()) << "this test runs against the test control plane";
    dir_ = makeWorkDir("sandboxd-faults-it");
    ASSERT_FALSE(dir_.empty());
    setFaults(0.0);
    ASSERT_TRUE(proxy_.start(dir_, connection_.server, dir_ + "/faults.json")) << proxy_.log();
    // sandboxd talks to the API server only through the proxy.
    const std::string kubeconfig = proxy_.writeKubeconfig();
    std::ofstream(dir_ + "/config.yaml")
        << "server:\n  reconcileIntervalMs: 500\n  threads: 16\nsandbox:\n  namespace: " << ns_
        << "\n  image: registry.example.com/sandbox/runtime:v1\n";
    ASSERT_TRUE(serve_.start(dir_, {"--kube", kubeconfig, "--config",
                                    dir_ + "/config.yaml"},
                             "/readyz"))
        << serve_.log();
    token_ = serve_.createToken("alice");
    ASSERT_FALSE(token_.empty());
  }

  void TearDown() override {
    if (serve_.running()) {
      serve_.stop();
    }
    proxy_.stop();
    ClusterTest::TearDown();  // removes the work dir
  }

  // The proxy re-reads this file when it changes.
  void setFaults(double rate) {
    const std::string path = dir_ + "/faults.json";
    std::ofstream(path + ".tmp")
        << json{{"seed", 7},
                {"rate", rate},
                {"faults",
                 {{"429", 1}, {"500", 1}, {"503", 1}, {"reset", 2}, {"latency", 1},
                  {"truncate_watch", 1}}},
                {"retry_after_seconds", 1},
                {"latency_ms", json::array({5, 80})},
                {"truncate_watch_max_ms", 3000}}
               .dump();
    std::filesystem::rename(path + ".tmp", path);
  }

  std::string dir_;
  FaultProxy proxy_;
  ServeProcess serve_;
  std::string token_;
};

TEST_F(FaultsTest, FiveHundredOperationsWithTwentyPercentFaultsEndConsistent) {
  setFaults(0.2);
  std::mutex mu;
  std::map<int, int> codes;
  std::vector<std::string> bad;
  // name → the state the last accepted operation asked for ("" when the last one failed).
  std::map<std::string, std::string> expected;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937 rng(1000 + c);
      const std::vector<std::string> names = {"f" + std::to_string(c) + "a",
                                              "f" + std::to_string(c) + "b"};
      for (int i = 0; i < kOpsPerClient; ++i) {
        const std::string& name = names[rng() % names.size()];
        static const char* kOps[] = {"create", "stop", "start", "env", "delete"};
        const std::string op = i < 2 ? "create" : kOps[rng() % 5];
        std::string method = "POST", path = "/api/v1/sandboxes/" + name + "/" + op, body;
        std::string wants = op == "stop" ? "STOPPED" : "RUNNING";
        if (op == "create") {
          path = "/api/v1/sandboxes";
          body = json{{"name", name}}.dump();
        } else if (op == "env") {
          method = "PATCH";
          path = "/api/v1/sandboxes/" + name + "/env";
          body = json{{"set", {{"STEP", std::to_string(i)}}}}.dump();
          wants = "";  // leaves the state as it was
        } else if (op == "delete") {
          method = "DELETE";
          path = "/api/v1/sandboxes/" + name + "?purge=true";
          wants = "GONE";
        }
        ::sandboxd::testing::HttpResult r;
        try {
          r = httpCall(serve_.port(), method, path, token_, body);
        } catch (const std::exception& e) {
          r.status = -1;
          r.body = e.what();
        }
        std::lock_guard<std::mutex> lock(mu);
        ++codes[r.status];
        const bool ok = r.status >= 200 && r.status < 300;
        // Reported errors: a JSON error envelope with a 4xx or 503, never a 500 or a hang-up.
        const bool reported = (r.status == 404 || r.status == 409 || r.status == 429 ||
                               r.status == 503) &&
                              !r.errorCode().empty();
        if (!ok && !reported) {
          bad.push_back(op + " " + name + " -> " + std::to_string(r.status) + " " + r.body);
        }
        if (ok && !wants.empty()) {
          expected[name] = wants;
        } else if (!ok && op != "env") {
          expected[name] = "";  // unknown: the intent may or may not have been recorded
        }
      }
    });
  }
  for (auto& t : clients) {
    t.join();
  }
  EXPECT_TRUE(bad.empty()) << ::testing::PrintToString(bad);

  // Faults over: everything converges, and what was accepted last is what holds.
  setFaults(0.0);
  auto registry = openSqliteRegistry(serve_.db(), std::make_shared<RealTimeSource>());
  ASSERT_OK(registry);
  std::string why;
  const bool settled = eventually(
      [&] { return converged(*service_, *client_, **registry, config_.sandbox, why); },
      std::chrono::seconds(240));
  EXPECT_TRUE(settled) << why;
  int checked = 0;
  for (const auto& [name, wants] : expected) {
    if (wants.empty()) {
      continue;
    }
    ++checked;
    ::sandboxd::testing::HttpResult got;
    if (wants == "GONE") {
      // 404 once the volume is gone too (pvc-protection holds it until its pod is gone).
      EXPECT_TRUE(eventually([&] {
        got = httpCall(serve_.port(), "GET", "/api/v1/sandboxes/" + name, token_);
        return got.status == 404;
      }, std::chrono::seconds(60)))
          << name << ": " << got.status << " " << got.body;
    } else {
      got = httpCall(serve_.port(), "GET", "/api/v1/sandboxes/" + name, token_);
      EXPECT_EQ(got.json().value("status", ""), wants) << name << ": " << got.body;
    }
  }

  int faults = 0;
  std::istringstream log(proxy_.log());
  for (std::string line; std::getline(log, line);) {
    faults += line.find("FAULT") != std::string::npos ? 1 : 0;
  }
  EXPECT_GT(faults, 0) << "the proxy injected nothing";
  std::cout << "[ figures  ] operations " << kClients * kOpsPerClient << ", answers "
            << ::testing::PrintToString(codes) << ", faults injected " << faults
            << ", end states checked " << checked << ", converged with no orphan: "
            << (settled ? "yes" : "no") << "\n";
}

}  // namespace
}  // namespace sandboxd::integration
