// The whole path a user takes: `sandboxd serve` against the real control plane, a token made
// with `sandboxd token create` while it runs, and the client commands driving the lifecycle.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "integration/cluster_env.h"

namespace sandboxd::integration {
namespace {

class ServeCliTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    dir_ = makeWorkDir("sandboxd-serve-it");
    ASSERT_FALSE(dir_.empty());
    config_path_ = dir_ + "/config.yaml";
    std::ofstream(config_path_) << "sandbox:\n  namespace: " << ns_
                                << "\n  image: registry.example.com/sandbox/runtime:v1\n";
    ASSERT_TRUE(serve_.start(dir_, {"--kube", kubeconfigPath(), "--config", config_path_},
                             "/readyz"))
        << "sandboxd serve did not become ready; log:\n"
        << serve_.log();
    server_ = serve_.url();
  }

  void TearDown() override {
    if (serve_.running()) {
      EXPECT_EQ(serve_.stop(SIGTERM), 0) << "serve did not shut down cleanly on SIGTERM";
    }
    ClusterTest::TearDown();  // removes the work dir
  }

  ProcessResult cli(std::vector<std::string> args) {
    std::vector<std::string> argv = {SANDBOXD_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--server", server_, "--token", token_});
    return runProcess(argv);
  }

  json statusJson(const std::string& name) {
    ProcessResult r = cli({"status", name, "-o", "json"});
    if (r.exitCode != 0) {
      return json();
    }
    return json::parse(r.out, nullptr, false);
  }

  bool waitCliStatus(const std::string& name, const std::string& status) {
    json last;
    bool ok = eventually([&] {
      last = statusJson(name);
      return last.is_object() && last.value("status", "") == status;
    });
    EXPECT_TRUE(ok) << name << " never reported " << status << "; last: " << last.dump();
    return ok;
  }

  ::sandboxd::testing::ServeProcess serve_;
  std::string dir_, config_path_, server_, token_;
};

TEST_F(ServeCliTest, TheClientCommandsDriveTheWholeLifecycle) {
  ProcessResult token = runProcess({SANDBOXD_BINARY, "token", "create", "--user", "alice",
                                    "--db", serve_.db(), "--config", config_path_});
  ASSERT_EQ(token.exitCode, 0) << token.err;
  token_ = trim(token.out);
  ASSERT_EQ(token_.find('\n'), std::string::npos) << "the token alone on stdout";

  ProcessResult created = cli({"create", "cli-box", "--env", "EDITOR=vim", "--secret-env",
                               "GH_TOKEN=ghp_secret"});
  ASSERT_EQ(created.exitCode, 0) << created.err;
  EXPECT_EQ(created.out.find("ghp_secret"), std::string::npos);
  ASSERT_TRUE(waitCliStatus("cli-box", "RUNNING"));
  json running = statusJson("cli-box");
  EXPECT_EQ(running["workload"], "StatefulSet");
  EXPECT_EQ(running["secretEnvKeys"], json::array({"GH_TOKEN"}));
  EXPECT_EQ(running["env"]["EDITOR"], "vim");
  EXPECT_OK(get(resources::persistentVolumeClaims(), "vn-homevn-agent-cli-box-0"));

  ProcessResult env = cli({"env", "cli-box", "LANG=C.UTF-8", "--unset", "EDITOR"});
  ASSERT_EQ(env.exitCode, 0) << env.err;
  EXPECT_EQ(statusJson("cli-box")["env"], json({{"LANG", "C.UTF-8"}}));

  ASSERT_EQ(cli({"stop", "cli-box"}).exitCode, 0);
  ASSERT_TRUE(waitCliStatus("cli-box", "STOPPED"));
  ASSERT_EQ(cli({"start", "cli-box"}).exitCode, 0);
  ASSERT_TRUE(waitCliStatus("cli-box", "RUNNING"));

  ProcessResult list = cli({"list"});
  EXPECT_EQ(list.exitCode, 0);
  EXPECT_NE(list.out.find("cli-box"), std::string::npos);

  ProcessResult invalid = cli({"create", "Bad_Name"});
  EXPECT_EQ(invalid.exitCode, 2);
  EXPECT_TRUE(invalid.out.empty());
  EXPECT_EQ(std::count(invalid.err.begin(), invalid.err.end(), '\n'), 1) << invalid.err;

  ASSERT_EQ(cli({"delete", "cli-box", "--purge"}).exitCode, 0) ;
  ASSERT_TRUE(eventually([&] {
    return get(resources::persistentVolumeClaims(), "vn-homevn-agent-cli-box-0")
               .status()
               .kind() == ErrorKind::NotFound;
  }));
  EXPECT_TRUE(eventually([&] { return cli({"status", "cli-box"}).exitCode == 1; }));
}

}  // namespace
}  // namespace sandboxd::integration
