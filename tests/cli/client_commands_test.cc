// End-to-end tests of the client subcommands: a real `sandboxd serve --kube memory` child
// process, tokens made with `sandboxd token create` while it runs, and the client commands run
// as child processes; stdout, stderr and exit codes are checked (DESIGN §4).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct ProcessResult {
  int exitCode = -1;
  std::string out;
  std::string err;
};

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The current environment without SANDBOXD_* (so the developer's settings don't leak in),
// plus `extra`.
std::vector<std::string> childEnvironment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    if (kv.rfind("SANDBOXD_", 0) == 0) {
      continue;
    }
    env.push_back(kv);
  }
  for (const auto& [k, v] : extra) {
    env.push_back(k + "=" + v);
  }
  return env;
}

// Starts `args` with stdout/stderr redirected to files; returns the pid.
pid_t spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
            const fs::path& outFile, const fs::path& errFile) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, outFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, errFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  std::vector<char*> argv;
  for (const auto& a : args) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  std::vector<std::string> envStrings = childEnvironment(env);
  std::vector<char*> envp;
  for (auto& e : envStrings) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0].c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

// GET /healthz over a raw socket; true on a 200.
bool healthy(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return false;
  }
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  char buf[64] = {0};
  ssize_t n = ::recv(fd, buf, sizeof(buf) - 1, 0);
  ::close(fd);
  return n > 12 && std::string(buf).rfind("HTTP/1.1 200", 0) == 0;
}

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
    binary_ = SANDBOXD_BINARY;
    if (!fs::exists(binary_)) {
      return;
    }
    dir_ = fs::temp_directory_path() /
           ("sandboxd-cli-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = (dir_ / "db").string();
    port_ = freePort();
    server_ = "http://127.0.0.1:" + std::to_string(port_);
    serverPid_ = spawn({binary_, "serve", "--kube", "memory", "--listen",
                        "127.0.0.1:" + std::to_string(port_), "--db", db_},
                       {}, dir_ / "serve.out", dir_ / "serve.err");
    for (int i = 0; i < 200 && serverPid_ > 0; ++i) {
      if (healthy(port_)) {
        return;
      }
      int status = 0;
      if (::waitpid(serverPid_, &status, WNOHANG) == serverPid_) {
        serverPid_ = -1;  // it died
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  static void TearDownTestSuite() {
    if (serverPid_ > 0) {
      ::kill(serverPid_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 100; ++i) {
        if (::waitpid(serverPid_, &status, WNOHANG) == serverPid_) {
          serverPid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (serverPid_ > 0) {
        ::kill(serverPid_, SIGKILL);
        ::waitpid(serverPid_, &status, 0);
        serverPid_ = -1;
      }
    }
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  void SetUp() override {
    if (!fs::exists(binary_)) {
      GTEST_SKIP() << "sandboxd binary not built: " << binary_;
    }
    ASSERT_GT(serverPid_, 0) << "sandboxd serve did not come up; stderr:\n"
                             << readFile(dir_ / "serve.err");
  }

  // Runs `sandboxd args...` to completion.
  static ProcessResult run(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env = {}) {
    static int counter = 0;
    ++counter;
    fs::path out = dir_ / ("run" + std::to_string(counter) + ".out");
    fs::path err = dir_ / ("run" + std::to_string(counter) + ".err");
    std::vector<std::string> full = {binary_};
    full.insert(full.end(), args.begin(), args.end());
    ProcessResult r;
    pid_t pid = spawn(full, env, out, err);
    if (pid <= 0) {
      return r;
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = readFile(out);
    r.err = readFile(err);
    return r;
  }

  static std::string createToken(const std::string& user, bool admin = false) {
    std::vector<std::string> args = {"token", "create", "--user", user, "--db", db_};
    if (admin) {
      args.push_back("--admin");
    }
    ProcessResult r = run(args);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    std::string token = r.out;
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) {
      token.pop_back();
    }
    EXPECT_EQ(token.find('\n'), std::string::npos) << "token create prints the token alone";
    EXPECT_FALSE(token.empty());
    return token;
  }

  // A client command against the test server with `token`.
  static ProcessResult client(std::vector<std::string> args, const std::string& token) {
    args.push_back("--server");
    args.push_back(server_);
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

  static std::string binary_;
  static fs::path dir_;
  static std::string db_;
  static int port_;
  static std::string server_;
  static pid_t serverPid_;
};

std::string ClientCommandsTest::binary_;
fs::path ClientCommandsTest::dir_;
std::string ClientCommandsTest::db_;
int ClientCommandsTest::port_ = 0;
std::string ClientCommandsTest::server_;
pid_t ClientCommandsTest::serverPid_ = -1;

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

TEST_F(ClientCommandsTest, NoServerIsExit1WithAClearMessage) {
  const int deadPort = freePort();
  const std::string url = "http://127.0.0.1:" + std::to_string(deadPort);
  ProcessResult r = run({"list", "--server", url}, {{"SANDBOXD_TOKEN", "whatever-token"}});
  EXPECT_EQ(r.exitCode, 1);
  expectOneLineError(r, "cannot reach sandboxd at " + url);
  EXPECT_EQ(r.err.find("whatever-token"), std::string::npos);
}

TEST_F(ClientCommandsTest, ServerFromTheEnvironment) {
  const std::string token = createToken("alice");
  ProcessResult r = run({"list"}, {{"SANDBOXD_TOKEN", token}, {"SANDBOXD_SERVER", server_}});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  ProcessResult flag = run({"list", "--server", server_, "--token", token});
  EXPECT_EQ(flag.exitCode, 0) << flag.err;
}

TEST_F(ClientCommandsTest, MissingOrBadTokenIsAClearError) {
  ProcessResult missing = run({"list", "--server", server_});
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
