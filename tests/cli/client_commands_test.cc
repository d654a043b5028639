// End-to-end tests of the client subcommands: a real `sandboxd serve --kube memory` child
// process, tokens made with `sandboxd token create` while it runs, and the client commands run
// as child processes; stdout, stderr and exit codes are checked (DESIGN §4).
#include <thread>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/child_process.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using sandboxd::testing::freeLoopbackPort;
using sandboxd::testing::ProcessResult;
using sandboxd::testing::runProcess;
using sandboxd::testing::ServeProcess;

std::vector<std::string> splitLines(const std::string& s) {
  std::vector<std::string> lines;
  std::stringstream ss(s);
  std::string line;
  while (std::getline(ss, line)) {
    lines.push_back(line);
  }
  return lines;
}

class ClientCommandsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("sandboxd-cli-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    server_ = std::make_unique<ServeProcess>();
    started_ = server_->start(dir_.string(), {"--kube", "memory"});
  }

  static void TearDownTestSuite() {
    if (server_) {
      server_->stop();  // SIGTERM
      server_.reset();
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void SetUp() override {
    ASSERT_TRUE(started_) << "sandboxd serve did not come up; log:\n" << server_->log();
  }

  // Runs `sandboxd args...` to completion.
  static ProcessResult run(std::vector<std::string> args,
                           const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), SANDBOXD_BINARY);
    return runProcess(args, env);
  }

  static std::string createToken(const std::string& user, bool admin = false) {
    std::string token = server_->createToken(user, admin);
    EXPECT_FALSE(token.empty()) << "token create failed";
    EXPECT_EQ(token.find('\n'), std::string::npos) << "token create prints the token alone";
    return token;
  }

  // A client command against the test server with `token`.
  static ProcessResult client(std::vector<std::string> args, const std::string& token) {
    args.push_back("--server");
    args.push_back(server_->url());
    return run(args, {{"SANDBOXD_TOKEN", token}});
  }

  // One clear line on stderr, nothing on stdout.
  static void expectOneLineError(const ProcessResult& r, const std::string& mentions = "") {
    EXPECT_TRUE(r.out.empty()) << "stdout: " << r.out;
    auto lines = splitLines(r.err);
    ASSERT_EQ(lines.size(), 1u) << "stderr: " << r.err;
    EXPECT_EQ(lines[0].rfind("error: ", 0), 0u) << lines[0];
    if (!mentions.empty()) {
      EXPECT_NE(lines[0].find(mentions), std::string::npos) << lines[0];
    }
  }

  static fs::path dir_;
  static std::unique_ptr<ServeProcess> server_;
  static bool started_;
};

fs::path ClientCommandsTest::dir_;
std::unique_ptr<ServeProcess> ClientCommandsTest::server_;
bool ClientCommandsTest::started_ = false;

TEST_F(ClientCommandsTest, FullLifecycle) {
  // Created while the server runs: must work at once.
  const std::string token = createToken("alice");

  ProcessResult create = client({"create", "life", "--env", "FOO=bar", "--env", "EMPTY=",
                                 "--secret-env", "API_KEY=s3cr3t"},
                                token);
  ASSERT_EQ(create.exitCode, 0) << create.err;
  EXPECT_TRUE(create.err.empty()) << create.err;
  EXPECT_NE(create.out.find("life"), std::string::npos);
  EXPECT_EQ(create.out.find("s3cr3t"), std::string::npos) << "secret value printed";

  ProcessResult list = client({"list"}, token);
  ASSERT_EQ(list.exitCode, 0) << list.err;
  auto lines = splitLines(list.out);
  ASSERT_GE(lines.size(), 2u) << list.out;
  EXPECT_NE(lines[0].find("NAME"), std::string::npos);
  EXPECT_NE(lines[0].find("STATUS"), std::string::npos);
  EXPECT_NE(list.out.find("life"), std::string::npos);

  ProcessResult listJson = client({"list", "-o", "json"}, token);
  ASSERT_EQ(listJson.exitCode, 0) << listJson.err;
  json items = json::parse(listJson.out)["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["name"], "life");
  EXPECT_EQ(items[0]["user"], "alice");
  EXPECT_EQ(items[0]["env"]["FOO"], "bar");
  EXPECT_EQ(items[0]["env"]["EMPTY"], "");
  EXPECT_EQ(items[0]["secretEnvKeys"], json::array({"API_KEY"}));

  ProcessResult status = client({"status", "life", "-o", "json"}, token);
  ASSERT_EQ(status.exitCode, 0) << status.err;
  json s = json::parse(status.out);
  EXPECT_EQ(s["name"], "life");
  EXPECT_EQ(s["workload"], "StatefulSet");
  EXPECT_TRUE(s["status"].is_string());

  ProcessResult statusText = client({"status", "life"}, token);
  ASSERT_EQ(statusText.exitCode, 0);
  EXPECT_NE(statusText.out.find("status:"), std::string::npos) << statusText.out;

  ProcessResult env =
      client({"env", "life", "NEW=1", "--unset", "FOO", "--secret", "TOK=hidden-value"}, token);
  ASSERT_EQ(env.exitCode, 0) << env.err;
  EXPECT_EQ(env.out.find("hidden-value"), std::string::npos);
  s = json::parse(client({"status", "life", "-o", "json"}, token).out);
  EXPECT_EQ(s["env"].value("NEW", ""), "1");
  EXPECT_FALSE(s["env"].contains("FOO"));

  ProcessResult stop = client({"stop", "life", "-o", "json"}, token);
  ASSERT_EQ(stop.exitCode, 0) << stop.err;
  EXPECT_EQ(json::parse(stop.out)["replicas"]["desired"], 0);
  ProcessResult start = client({"start", "life", "-o", "json"}, token);
  ASSERT_EQ(start.exitCode, 0) << start.err;
  EXPECT_EQ(json::parse(start.out)["replicas"]["desired"], 1);

  ProcessResult del = client({"delete", "life"}, token);
  ASSERT_EQ(del.exitCode, 0) << del.err;
  // Repeating delete is fine (202) until the sandbox is gone, then it is unknown (1).
  ProcessResult again = client({"delete", "life", "--purge"}, token);
  EXPECT_TRUE(again.exitCode == 0 || again.exitCode == 1) << again.err;

  for (const auto* r : {&create, &list, &status, &env, &stop, &start, &del}) {
    EXPECT_EQ(r->out.find(token), std::string::npos) << "token printed";
    EXPECT_EQ(r->err.find(token), std::string::npos) << "token printed";
  }
}

// list fetches every page: with pages of 2, all of a user's 5 sandboxes, once each, in order.
TEST_F(ClientCommandsTest, ListFetchesEveryPage) {
  const std::string token = createToken("paula");
  for (const std::string name : {"pg-c", "pg-a", "pg-e", "pg-b", "pg-d"}) {
    ProcessResult made = client({"create", name}, token);
    ASSERT_EQ(made.exitCode, 0) << made.err;
  }
  ProcessResult list = client({"list", "--page-size", "2", "-o", "json"}, token);
  ASSERT_EQ(list.exitCode, 0) << list.err;
  std::vector<std::string> names;
  const json listed = json::parse(list.out);
  for (const auto& item : listed["items"]) {
    names.push_back(item["name"].get<std::string>());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"pg-a", "pg-b", "pg-c", "pg-d", "pg-e"}));
  EXPECT_FALSE(listed.contains("continue"));
  ProcessResult text = client({"list", "--page-size", "3"}, token);
  ASSERT_EQ(text.exitCode, 0) << text.err;
  EXPECT_EQ(splitLines(text.out).size(), 6u) << text.out;  // the header and 5 rows

  ProcessResult bad = client({"list", "--page-size", "0"}, token);
  EXPECT_EQ(bad.exitCode, 2);
  EXPECT_TRUE(bad.out.empty()) << bad.out;
}

TEST_F(ClientCommandsTest, InvalidNameIsExit2WithOneLine) {
  const std::string token = createToken("alice");
  ProcessResult r = client({"create", "Bad_Name"}, token);
  EXPECT_EQ(r.exitCode, 2);
  expectOneLineError(r, "Bad_Name");
}

TEST_F(ClientCommandsTest, UnknownSandboxIsExit1) {
  const std::string token = createToken("alice");
  for (const std::string cmd : {"status", "stop", "start", "delete"}) {
    ProcessResult r = client({cmd, "does-not-exist"}, token);
    EXPECT_EQ(r.exitCode, 1) << cmd;
    expectOneLineError(r, "not found");
  }
}

TEST_F(ClientCommandsTest, OtherUsersSandboxIsNotFound) {
  const std::string alice = createToken("alice");
  const std::string bob = createToken("bob");
  ASSERT_EQ(client({"create", "alices-box"}, alice).exitCode, 0);
  ProcessResult r = client({"status", "alices-box"}, bob);
  EXPECT_EQ(r.exitCode, 1);
  expectOneLineError(r, "not found");
  ProcessResult list = client({"list", "-o", "json"}, bob);
  ASSERT_EQ(list.exitCode, 0);
  EXPECT_EQ(list.out.find("alices-box"), std::string::npos);
  // An admin token sees it.
  const std::string admin = createToken("root", /*admin=*/true);
  EXPECT_EQ(client({"status", "alices-box"}, admin).exitCode, 0);
  EXPECT_EQ(client({"delete", "alices-box"}, alice).exitCode, 0);
}

TEST_F(ClientCommandsTest, MalformedPairsAreExit2AndNeverEchoTheValue) {
  const std::string token = createToken("alice");
  ProcessResult r = client({"create", "pairs", "--secret-env", "NOEQUALS"}, token);
  EXPECT_EQ(r.exitCode, 2);
  expectOneLineError(r, "KEY=VALUE");
  ProcessResult r2 = client({"create", "pairs", "--env", "=value-only"}, token);
  EXPECT_EQ(r2.exitCode, 2);
  expectOneLineError(r2);
  EXPECT_EQ(r2.err.find("value-only"), std::string::npos);
  ProcessResult r3 = client({"env", "pairs"}, token);  // nothing to change
  EXPECT_EQ(r3.exitCode, 2);
  expectOneLineError(r3);
}

TEST_F(ClientCommandsTest, RestoreAndForkFromASnapshot) {
  const std::string token = createToken("alice");
  ASSERT_EQ(client({"create", "cli-snap"}, token).exitCode, 0);
  ProcessResult snap;
  for (int i = 0; i < 100; ++i) {  // the simulated StatefulSet makes the claim soon after
    snap = client({"snapshot", "create", "cli-snap", "-o", "json"}, token);
    if (snap.exitCode == 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(snap.exitCode, 0) << snap.err;
  const std::string id = json::parse(snap.out).value("id", "");

  ProcessResult restored = client({"restore", "cli-snap", "--snapshot", id}, token);
  ASSERT_EQ(restored.exitCode, 0) << restored.err;
  EXPECT_NE(restored.out.find("pre-restore"), std::string::npos) << restored.out;
  ProcessResult again = client({"restore", "cli-snap", "--snapshot", "0123456789ab"}, token);
  EXPECT_EQ(again.exitCode, 1);
  expectOneLineError(again, "not found");

  ProcessResult forked = client({"create", "cli-fork", "--from", "cli-snap/" + id}, token);
  EXPECT_EQ(forked.exitCode, 0) << forked.err;
  for (const std::string bad : {"cli-snap", "/x", "cli-snap/", "a/b/c"}) {
    ProcessResult r = client({"create", "cli-bad", "--from", bad}, token);
    EXPECT_EQ(r.exitCode, 2) << bad;
    expectOneLineError(r, "SANDBOX/SNAPSHOT-ID");
  }
  ProcessResult missing = client({"restore", "cli-snap"}, token);
  EXPECT_EQ(missing.exitCode, 2) << "--snapshot is required";
}

TEST_F(ClientCommandsTest, NoServerIsExit1WithAClearMessage) {
  const int deadPort = freeLoopbackPort();
  const std::string url = "http://127.0.0.1:" + std::to_string(deadPort);
  ProcessResult r = run({"list", "--server", url}, {{"SANDBOXD_TOKEN", "whatever-token"}});
  EXPECT_EQ(r.exitCode, 1);
  expectOneLineError(r, "cannot reach sandboxd at " + url);
  EXPECT_EQ(r.err.find("whatever-token"), std::string::npos);
}

TEST_F(ClientCommandsTest, ServerFromTheEnvironment) {
  const std::string token = createToken("alice");
  ProcessResult r = run({"list"}, {{"SANDBOXD_TOKEN", token}, {"SANDBOXD_SERVER", server_->url()}});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  ProcessResult flag = run({"list", "--server", server_->url(), "--token", token});
  EXPECT_EQ(flag.exitCode, 0) << flag.err;
}

TEST_F(ClientCommandsTest, MissingOrBadTokenIsAClearError) {
  ProcessResult missing = run({"list", "--server", server_->url()});
  EXPECT_TRUE(missing.exitCode == 1 || missing.exitCode == 2);
  expectOneLineError(missing, "token");

  ProcessResult bad = client({"list"}, "not-a-real-token");
  EXPECT_EQ(bad.exitCode, 1);
  expectOneLineError(bad, "token");
  EXPECT_EQ(bad.err.find("not-a-real-token"), std::string::npos);
}

TEST_F(ClientCommandsTest, UsageErrorsAreExit2) {
  const std::string token = createToken("alice");
  ProcessResult noName = client({"status"}, token);
  EXPECT_EQ(noName.exitCode, 2);
  EXPECT_TRUE(noName.out.empty());
  ProcessResult badOutput = client({"list", "-o", "yaml"}, token);
  EXPECT_EQ(badOutput.exitCode, 2);
  expectOneLineError(badOutput, "-o");
  ProcessResult badUrl = run({"list", "--server", "not a url"}, {{"SANDBOXD_TOKEN", token}});
  EXPECT_EQ(badUrl.exitCode, 2);
  expectOneLineError(badUrl);
}

}  // namespace
