// Snapshots end to end through `sandboxd serve --kube memory`: a purge keeps a sandbox's
// snapshots unless purgeSnapshots=true (which needs purge=true: a 422 that changes nothing),
// the CLI's `delete --purge --purge-snapshots`, and the snapshot counters of /metrics.
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "api/api_test_support.h"
#include "support/child_process.h"

namespace sandboxd::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ServeSnapshotsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("sandboxd-serve-snapshots-" + std::to_string(::getpid())))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ + "/config.yaml") << R"(server:
  memoryReadyDelayMs: 100
)";
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
  ProcessResult cli(std::vector<std::string> args) {
    args.insert(args.begin(), SANDBOXD_BINARY);
    for (const std::string& a :
         {std::string("--server"), "http://127.0.0.1:" + std::to_string(server_.port()),
          std::string("--token"), alice_}) {
      args.push_back(a);
    }
    return runProcess(args);
  }

  // A sandbox with a snapshot: the snapshot is retried until the home volume exists.
  void sandboxWithSnapshot(const std::string& name) {
    ASSERT_EQ(call("POST", "/api/v1/sandboxes", {{"name", name}}).status, 201);
    HttpResult taken;
    for (int i = 0; i < 200; ++i) {
      taken = call("POST", "/api/v1/sandboxes/" + name + "/snapshots");
      if (taken.status == 202) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "no snapshot of " << name << ": " << taken.status << " " << taken.body;
  }

  size_t snapshotsOf(const std::string& name) {
    auto listed = call("GET", "/api/v1/sandboxes/" + name + "/snapshots");
    return listed.status == 200 ? listed.json()["items"].size() : 0;
  }

  std::string metrics() { return call("GET", "/metrics").body; }

  std::string dir_;
  ServeProcess server_;
  std::string alice_;
};

TEST_F(ServeSnapshotsTest, APurgeKeepsSnapshotsUnlessAskedToDeleteThem) {
  sandboxWithSnapshot("keep");
  sandboxWithSnapshot("drop");

  // purgeSnapshots without purge: refused, nothing changed.
  auto refused = call("DELETE", "/api/v1/sandboxes/drop?purgeSnapshots=true");
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(refused.errorCode(), "invalid_argument") << refused.body;
  EXPECT_EQ(call("DELETE", "/api/v1/sandboxes/drop?purge=true&purgeSnapshots=maybe").status,
            422);
  auto ops = call("GET", "/api/v1/sandboxes/drop/operations").json();
  EXPECT_NE(ops["items"][0]["kind"], "delete") << "the sandbox was not deleted: " << ops.dump();
  EXPECT_EQ(snapshotsOf("drop"), 1u);

  // A purge alone keeps them.
  ASSERT_EQ(call("DELETE", "/api/v1/sandboxes/keep?purge=true").status, 202);
  EXPECT_EQ(snapshotsOf("keep"), 1u) << "a purge keeps the snapshots";

  // With purgeSnapshots they go.
  auto purged = call("DELETE", "/api/v1/sandboxes/drop?purge=true&purgeSnapshots=true");
  ASSERT_EQ(purged.status, 202) << purged.body;
  EXPECT_EQ(snapshotsOf("drop"), 0u);
  EXPECT_EQ(snapshotsOf("keep"), 1u) << "another sandbox's stay";

  const std::string text = metrics();
  EXPECT_NE(text.find("sandboxd_snapshots_total{result=\"created\",trigger=\"user\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sandboxd_snapshots_deleted_total{reason=\"purge\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sandboxd_snapshots_deleted_total{reason=\"user\"} 0\n"),
            std::string::npos);
}

TEST_F(ServeSnapshotsTest, TheMetricsCountADeletedSnapshot) {
  sandboxWithSnapshot("demo");
  const std::string id = call("GET", "/api/v1/sandboxes/demo/snapshots").json()["items"][0]["id"];
  ASSERT_EQ(call("DELETE", "/api/v1/sandboxes/demo/snapshots/" + id).status, 202);
  const std::string text = metrics();
  EXPECT_NE(text.find("# TYPE sandboxd_snapshots_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("sandboxd_snapshots_total{result=\"created\",trigger=\"user\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("sandboxd_snapshots_total{result=\"created\",trigger=\"schedule\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("sandboxd_snapshots_deleted_total{reason=\"user\"} 1\n"),
            std::string::npos)
      << text;
}

TEST_F(ServeSnapshotsTest, TheCliPurgesSnapshotsOnlyWithPurge) {
  sandboxWithSnapshot("demo");
  auto refused = cli({"delete", "demo", "--purge-snapshots"});
  EXPECT_NE(refused.exitCode, 0) << "--purge-snapshots needs --purge";
  EXPECT_EQ(snapshotsOf("demo"), 1u);
  auto done = cli({"delete", "demo", "--purge", "--purge-snapshots"});
  EXPECT_EQ(done.exitCode, 0) << done.out << done.err;
  EXPECT_NE(done.out.find("snapshots will be deleted"), std::string::npos) << done.out;
  EXPECT_EQ(snapshotsOf("demo"), 0u);
}

}  // namespace
}  // namespace sandboxd::testing
