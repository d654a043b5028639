// Idle stop, expiry and volume growth end to end: `sandboxd serve --kube memory` answers the
// new Sandbox fields, PATCH /api/v1/sandboxes/{name}, POST .../activity (204) and their
// refusals (422/409 with the error envelope, nothing changed); the CLI's `create
// --idle-stop-minutes`, `update` and `touch` speak to it. (The sweeps themselves run on an
// injected clock: tests/service/lifetimes_test.cc.)
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "api/api_test_support.h"
#include "sandboxd/common/time_source.h"
#include "support/child_process.h"

namespace sandboxd::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ServeLifetimesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("sandboxd-serve-lifetimes-" + std::to_string(::getpid())))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ + "/config.yaml") << R"(server:
  memoryReadyDelayMs: 100
sandbox:
  idleStopMinutes: 60
  maxIdleStopMinutes: 480
  storage: 2Gi
  maxStorage: 10Gi
)";
    ASSERT_TRUE(server_.start(dir_, {"--kube", "memory", "--config", dir_ + "/config.yaml"}))
        << server_.log();
    alice_ = server_.createToken("alice");
    bob_ = server_.createToken("bob");
    ASSERT_FALSE(alice_.empty());
  }
  void TearDown() override {
    server_.stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  HttpResult call(const std::string& method, const std::string& path, const json& body = {},
                  const std::string& token = "") {
    return httpCall(server_.port(), method, path, token.empty() ? alice_ : token,
                    body.is_null() ? "" : body.dump());
  }
  ProcessResult cli(std::vector<std::string> args) {
    args.insert(args.begin(), SANDBOXD_BINARY);
    for (const std::string& a :
         {std::string("--server"), "http://127.0.0.1:" + std::to_string(server_.port()),
          std::string("--token"), alice_}) {
      args.push_back(a);
    }
    return runProcess(args);
  }

  std::string dir_;
  ServeProcess server_;
  std::string alice_;
  std::string bob_;
};

TEST_F(ServeLifetimesTest, TheSandboxShowsItsLifetimeAndPatchChangesIt) {
  const std::string inADay =
      formatRfc3339(std::chrono::system_clock::now() + std::chrono::hours(24));
  auto created = call("POST", "/api/v1/sandboxes",
                      {{"name", "life"}, {"idleStopMinutes", 30}, {"expiresAt", inADay}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json()["idleStopMinutes"], 30);
  EXPECT_EQ(created.json()["expiresAt"], inADay);
  EXPECT_EQ(created.json()["lastActivityAt"], created.json()["createdAt"]);
  auto plain = call("POST", "/api/v1/sandboxes", {{"name", "plain"}});
  ASSERT_EQ(plain.status, 201) << plain.body;
  EXPECT_EQ(plain.json()["idleStopMinutes"], 60) << "the profile's";
  EXPECT_TRUE(plain.json()["expiresAt"].is_null());

  // Refused: each a 422 with the envelope, and nothing made or changed.
  const json badCreates[] = {
      {{"name", "b1"}, {"idleStopMinutes", 0}},    // the profile allows 1 … 480
      {{"name", "b2"}, {"idleStopMinutes", 481}},
      {{"name", "b3"}, {"idleStopMinutes", "ten"}},
      {{"name", "b4"}, {"expiresAt", "tomorrow"}},
      {{"name", "b5"}, {"expiresAt", "2001-01-01T00:00:00Z"}},  // the past
  };
  for (const auto& body : badCreates) {
    auto refused = call("POST", "/api/v1/sandboxes", body);
    EXPECT_EQ(refused.status, 422) << body.dump() << " → " << refused.body;
    EXPECT_FALSE(refused.errorCode().empty()) << refused.body;
  }
  EXPECT_EQ(call("GET", "/api/v1/sandboxes").json()["items"].size(), 2u);

  auto patched = call("PATCH", "/api/v1/sandboxes/life",
                      {{"storage", "4Gi"}, {"idleStopMinutes", nullptr}, {"expiresAt", nullptr}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.json()["storage"], "4Gi");
  EXPECT_EQ(patched.json()["idleStopMinutes"], 60) << "back to the profile's";
  EXPECT_TRUE(patched.json()["expiresAt"].is_null());
  auto ops = call("GET", "/api/v1/sandboxes/life/operations").json();
  EXPECT_EQ(ops["items"][0]["kind"], "resize") << ops.dump();

  const json badPatches[] = {json::object(), {{"storage", "3Gi"}}, {{"storage", "11Gi"}},
                             {{"storage", "lots"}}, {{"image", "x"}}, {{"idleStopMinutes", -1}}};
  for (const auto& body : badPatches) {
    auto refused = call("PATCH", "/api/v1/sandboxes/life", body);
    EXPECT_EQ(refused.status, 422) << body.dump() << " → " << refused.body;
  }
  auto after = call("GET", "/api/v1/sandboxes/life").json();
  EXPECT_EQ(after["storage"], "4Gi") << "refusals changed nothing";
  EXPECT_EQ(call("PATCH", "/api/v1/sandboxes/life", {{"storage", "5Gi"}}, bob_).status, 404)
      << "another user's sandbox";
  EXPECT_EQ(call("PATCH", "/api/v1/sandboxes/nope", {{"storage", "5Gi"}}).status, 404);
}

TEST_F(ServeLifetimesTest, ActivityIsNotedAtOnceAndShownWithinASecond) {
  ASSERT_EQ(call("POST", "/api/v1/sandboxes", {{"name", "busy"}}).status, 201);
  const std::string before = call("GET", "/api/v1/sandboxes/busy").json()["lastActivityAt"];
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a later second to show
  auto noted = call("POST", "/api/v1/sandboxes/busy/activity");
  EXPECT_EQ(noted.status, 204) << noted.body;
  EXPECT_TRUE(noted.body.empty());
  std::string shown = before;
  for (int i = 0; i < 50 && shown == before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    shown = call("GET", "/api/v1/sandboxes/busy").json()["lastActivityAt"];
  }
  EXPECT_GT(shown, before) << "stored by the tracker's next commit";
  EXPECT_EQ(call("POST", "/api/v1/sandboxes/busy/activity", {}, bob_).status, 404);
  EXPECT_EQ(call("POST", "/api/v1/sandboxes/none/activity").status, 404);
}

TEST_F(ServeLifetimesTest, TheCliSetsAndChangesTheLifetime) {
  ProcessResult made = cli({"create", "via-cli", "--idle-stop-minutes", "45"});
  ASSERT_EQ(made.exitCode, 0) << made.err;
  EXPECT_NE(made.out.find("idle stop: 45 min"), std::string::npos) << made.out;
  ProcessResult grown = cli({"update", "via-cli", "--storage", "3Gi", "--no-expiry"});
  ASSERT_EQ(grown.exitCode, 0) << grown.err;
  EXPECT_EQ(call("GET", "/api/v1/sandboxes/via-cli").json()["storage"], "3Gi");
  ProcessResult shrink = cli({"update", "via-cli", "--storage", "2Gi"});
  EXPECT_EQ(shrink.exitCode, 2) << shrink.err;
  EXPECT_NE(shrink.err.find("shrink"), std::string::npos) << shrink.err;
  ProcessResult nothing = cli({"update", "via-cli"});
  EXPECT_EQ(nothing.exitCode, 2) << nothing.err;
  ProcessResult both = cli({"update", "via-cli", "--idle-stop-minutes", "5",
                            "--idle-stop-default"});
  EXPECT_EQ(both.exitCode, 2) << both.err;
  ProcessResult touched = cli({"touch", "via-cli"});
  EXPECT_EQ(touched.exitCode, 0) << touched.err;
  ProcessResult missing = cli({"touch", "no-such"});
  EXPECT_EQ(missing.exitCode, 1) << missing.err;
}

}  // namespace
}  // namespace sandboxd::testing
