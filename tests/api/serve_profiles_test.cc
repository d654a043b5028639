// Profiles and quotas end to end: `sandboxd serve --kube memory` with small and large
// profiles, created through the HTTP API and the CLI (users name a profile and nothing else of
// the pod's shape); per-user quotas answered 409 quota_exceeded, an admin's override through
// the admin API and `sandboxd admin quota`.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "api/api_test_support.h"
#include "support/child_process.h"

namespace sandboxd::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ServeProfilesTest : public ::testing::Test {
 protected:
  virtual std::string extraConfig() const { return ""; }

  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("sandboxd-serve-profiles-" + std::to_string(::getpid())))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ + "/config.yaml") << R"(server:
  memoryReadyDelayMs: 200
sandbox:
  defaultProfile: small
  profiles:
    small:
      storage: 2Gi
      maxStorage: 10Gi
    large:
      resources: {cpuLimit: "8", memoryLimit: 32Gi}
      tolerations: [{key: dedicated, operator: Equal, value: large, effect: NoSchedule}]
      storage: 20Gi
      maxStorage: 200Gi
)" << extraConfig();
    ASSERT_TRUE(server_.start(dir_, {"--kube", "memory", "--config", dir_ + "/config.yaml"}))
        << server_.log();
    alice_ = server_.createToken("alice");
    ASSERT_FALSE(alice_.empty());
  }
  void TearDown() override {
    server_.stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  HttpResult call(const std::string& method, const std::string& path, const json& body = {}) {
    return httpCall(server_.port(), method, path, alice_, body.is_null() ? "" : body.dump());
  }

  std::string dir_;
  ServeProcess server_;
  std::string alice_;
};

TEST_F(ServeProfilesTest, AUserPicksAProfileByNameAndNothingElseOfThePodsShape) {
  auto large = call("POST", "/api/v1/sandboxes", {{"name", "big"}, {"profile", "large"}});
  ASSERT_EQ(large.status, 201) << large.body;
  EXPECT_EQ(large.json()["profile"], "large");
  EXPECT_EQ(large.json()["storage"], "20Gi");
  auto small = call("POST", "/api/v1/sandboxes", {{"name", "tiny"}});
  ASSERT_EQ(small.status, 201) << small.body;
  EXPECT_EQ(small.json()["profile"], "small");
  EXPECT_EQ(call("GET", "/api/v1/sandboxes/big").json()["profile"], "large");

  const json refused[] = {
      {{"name", "x1"}, {"profile", "huge"}},
      {{"name", "x2"}, {"profile", "small"}, {"storage", "20Gi"}},
      {{"name", "x3"}, {"tolerations", json::array({{{"key", "dedicated"}}})}},
      {{"name", "x4"}, {"nodeSelector", {{"pool", "large"}}}},
      {{"name", "x5"}, {"profile", 7}},
  };
  for (const auto& body : refused) {
    auto answer = call("POST", "/api/v1/sandboxes", body);
    EXPECT_EQ(answer.status, 422) << body.dump() << ": " << answer.body;
    EXPECT_FALSE(answer.errorCode().empty()) << answer.body;
  }
  auto list = call("GET", "/api/v1/sandboxes").json();
  EXPECT_EQ(list["items"].size(), 2u) << "refused creates made nothing: " << list.dump();

  // The CLI names the profile the same way.
  ProcessResult cli = runProcess({SANDBOXD_BINARY, "create", "cli-box", "--profile", "large",
                                  "--server", "http://127.0.0.1:" + std::to_string(server_.port()),
                                  "--token", alice_});
  EXPECT_EQ(cli.exitCode, 0) << cli.err;
  EXPECT_EQ(call("GET", "/api/v1/sandboxes/cli-box").json()["profile"], "large");
  cli = runProcess({SANDBOXD_BINARY, "create", "cli-bad", "--profile", "huge", "--server",
                    "http://127.0.0.1:" + std::to_string(server_.port()), "--token", alice_});
  EXPECT_EQ(cli.exitCode, 2) << cli.err;
  EXPECT_NE(cli.err.find("huge"), std::string::npos) << cli.err;
}

class ServeQuotasTest : public ServeProfilesTest {
 protected:
  std::string extraConfig() const override { return "quotas:\n  maxSandboxes: 2\n"; }
};

TEST_F(ServeQuotasTest, OverQuotaIs409AndAnAdminsOverrideAppliesAtOnce) {
  ASSERT_EQ(call("POST", "/api/v1/sandboxes", {{"name", "q1"}}).status, 201);
  ASSERT_EQ(call("POST", "/api/v1/sandboxes", {{"name", "q2"}}).status, 201);
  auto over = call("POST", "/api/v1/sandboxes", {{"name", "q3"}});
  EXPECT_EQ(over.status, 409) << over.body;
  EXPECT_EQ(over.errorCode(), "quota_exceeded");
  EXPECT_NE(over.json()["error"]["message"].get<std::string>().find("maxSandboxes"),
            std::string::npos)
      << over.body;
  EXPECT_EQ(call("GET", "/api/v1/sandboxes/q3").status, 404) << "nothing was made";

  const std::string admin = server_.createToken("root", /*admin=*/true);
  ASSERT_FALSE(admin.empty());
  auto asAdmin = [&](const std::string& method, const std::string& path, const json& body) {
    return httpCall(server_.port(), method, path, admin, body.is_null() ? "" : body.dump());
  };
  EXPECT_EQ(call("PUT", "/api/v1/admin/quotas/alice", {{"maxSandboxes", 9}}).status, 403);
  EXPECT_EQ(asAdmin("PUT", "/api/v1/admin/quotas/alice", {{"maxSandboxes", -1}}).status, 422);
  EXPECT_EQ(asAdmin("PUT", "/api/v1/admin/quotas/alice", {{"maxCpu", 4}}).status, 422);
  auto set = asAdmin("PUT", "/api/v1/admin/quotas/alice", {{"maxSandboxes", 3}});
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(set.json()["limits"]["maxSandboxes"], 3);
  EXPECT_EQ(set.json()["override"]["maxSandboxes"], 3);
  EXPECT_EQ(set.json()["usage"]["sandboxes"], 2);
  EXPECT_EQ(call("POST", "/api/v1/sandboxes", {{"name", "q3"}}).status, 201);
  EXPECT_EQ(asAdmin("GET", "/api/v1/admin/quotas/alice", {}).json()["usage"]["sandboxes"], 3);

  // The local admin command on the same database, as `token` is.
  ProcessResult cli = server_.admin({"admin", "quota", "set", "alice", "--max-sandboxes", "5"});
  EXPECT_EQ(cli.exitCode, 0) << cli.err;
  EXPECT_NE(cli.out.find("maxSandboxes 5 (override)"), std::string::npos) << cli.out;
  EXPECT_EQ(asAdmin("GET", "/api/v1/admin/quotas/alice", {}).json()["limits"]["maxSandboxes"], 5);
  cli = server_.admin({"admin", "quota", "set", "alice", "--max-storage", "lots"});
  EXPECT_EQ(cli.exitCode, 2) << cli.err;

  auto cleared = asAdmin("DELETE", "/api/v1/admin/quotas/alice", {});
  EXPECT_EQ(cleared.status, 200) << cleared.body;
  EXPECT_EQ(cleared.json()["limits"]["maxSandboxes"], 2);
  EXPECT_EQ(asAdmin("DELETE", "/api/v1/admin/quotas/alice", {}).status, 404);
  cli = server_.admin({"admin", "quota", "clear", "alice"});
  EXPECT_EQ(cli.exitCode, 1) << cli.err;
  cli = server_.admin({"admin", "quota", "get", "alice"});
  EXPECT_EQ(cli.exitCode, 0) << cli.err;
  EXPECT_NE(cli.out.find("usage: 3 sandboxes"), std::string::npos) << cli.out;
}

}  // namespace
}  // namespace sandboxd::testing
