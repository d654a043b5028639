// The whole path a user takes: `sandboxd serve` against the real control plane, a token made
// with `sandboxd token create` while it runs, and the client commands driving the lifecycle.
#include <algorithm>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "integration/cluster_env.h"
#include "integration/process.h"

namespace sandboxd::integration {
namespace {

int freePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class ServeCliTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    char dir[] = "/tmp/sandboxd-serve-it-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    db_ = dir_ + "/sandboxd.db";
    config_path_ = dir_ + "/config.yaml";
    std::ofstream(config_path_) << "sandbox:\n  namespace: " << ns_
                                << "\n  image: registry.example.com/sandbox/runtime:v1\n";
    port_ = freePort();
    server_ = "http://127.0.0.1:" + std::to_string(port_);
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      std::string log = dir_ + "/serve.log";
      freopen(log.c_str(), "w", stderr);
      freopen("/dev/null", "w", stdout);
      std::string listen = "127.0.0.1:" + std::to_string(port_);
      execl(SANDBOXD_BINARY, SANDBOXD_BINARY, "serve", "--kube", kubeconfigPath().c_str(),
            "--listen", listen.c_str(), "--db", db_.c_str(), "--config", config_path_.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    ASSERT_TRUE(eventually(
        [&] {
          return runProcess({"curl", "-sf", server_ + "/readyz"}).exitCode == 0;
        },
        std::chrono::seconds(30)))
        << "sandboxd serve did not become ready; log:\n"
        << readFile(dir_ + "/serve.log");
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "serve did not shut down cleanly on SIGTERM";
    }
    if (!dir_.empty()) {
      runProcess({"rm", "-rf", dir_});
    }
    ClusterTest::TearDown();
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

  std::string dir_, db_, config_path_, server_, token_;
  int port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(ServeCliTest, TheClientCommandsDriveTheWholeLifecycle) {
  ProcessResult token = runProcess({SANDBOXD_BINARY, "token", "create", "--user", "alice",
                                    "--db", db_, "--config", config_path_});
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
