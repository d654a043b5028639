// Running programs (the sandboxd binary above all) as child processes in tests: run to
// completion with stdout/stderr captured, spawn in the background, and a `sandboxd serve`
// child on a free loopback port. Arguments are passed as argv, never through a shell.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace sandboxd::testing {

struct ProcessResult {
  int exitCode = -1;  // 128 + signal when killed
  std::string out;
  std::string err;
};

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// A loopback port nobody listens on right now.
inline int freeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The current environment without SANDBOXD_* variables (so a developer's settings don't leak
// into the child), plus `extra`.
inline std::vector<std::string> childEnvironment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    if (kv.rfind("SANDBOXD_", 0) != 0) {
      env.push_back(kv);
    }
  }
  for (const auto& [k, v] : extra) {
    env.push_back(k + "=" + v);
  }
  return env;
}

// Starts argv with stdin from /dev/null, stdout to `outPath` and stderr to `errPath` (empty:
// into `outPath` too). Returns the pid, or -1.
inline pid_t spawnProcess(const std::vector<std::string>& argv, const std::string& outPath,
                          const std::string& errPath = "",
                          const std::map<std::string, std::string>& extraEnv = {}) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  if (errPath.empty()) {
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  } else {
    posix_spawn_file_actions_addopen(&actions, 2, errPath.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  std::vector<std::string> envStrings = childEnvironment(extraEnv);
  std::vector<char*> envp;
  for (auto& e : envStrings) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr, args.data(), envp.data()) != 0) {
    pid = -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

inline int exitCodeOf(int waitStatus) {
  if (WIFEXITED(waitStatus)) {
    return WEXITSTATUS(waitStatus);
  }
  return WIFSIGNALED(waitStatus) ? 128 + WTERMSIG(waitStatus) : -1;
}

// Waits for `pid` up to `timeout`; past it the child is killed (SIGKILL) and -1 returned.
inline int waitForExit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return exitCodeOf(status);
    }
    if (r < 0) {
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return -1;
}

// Runs argv to completion (at most 10 minutes) and captures stdout and stderr.
inline ProcessResult runProcess(const std::vector<std::string>& argv,
                                const std::map<std::string, std::string>& extraEnv = {}) {
  static std::atomic<int> counter{0};
  const std::string base = (std::filesystem::temp_directory_path() /
                            ("sandboxd-test-run-" + std::to_string(::getpid()) + "-" +
                             std::to_string(++counter)))
                               .string();
  ProcessResult result;
  pid_t pid = spawnProcess(argv, base + ".out", base + ".err", extraEnv);
  if (pid > 0) {
    result.exitCode = waitForExit(pid, std::chrono::minutes(10));
  }
  result.out = readFile(base + ".out");
  result.err = readFile(base + ".err");
  std::error_code ec;
  std::filesystem::remove(base + ".out", ec);
  std::filesystem::remove(base + ".err", ec);
  return result;
}

// A TCP connection to 127.0.0.1:port whose sends and receives give up after `timeoutSeconds`;
// -1 when it cannot connect.
inline int connectLoopback(int port, int timeoutSeconds = 30) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return -1;
  }
  timeval tv{timeoutSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The status code of `GET path` on 127.0.0.1:port over a raw socket, or 0 when nothing answers.
inline int httpGetStatus(int port, const std::string& path) {
  int fd = connectLoopback(port, 5);
  if (fd < 0) {
    return 0;
  }
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  char buf[64] = {0};
  ssize_t n = ::recv(fd, buf, sizeof(buf) - 1, 0);
  ::close(fd);
  if (n < 12 || std::string(buf, 5) != "HTTP/") {
    return 0;
  }
  return std::atoi(buf + 9);
}

// A `sandboxd serve` child on a free loopback port with its own database in `dir`.
class ServeProcess {
 public:
  ServeProcess() = default;
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;
  ~ServeProcess() {
    if (pid_ > 0) {
      stop(SIGKILL);
    }
  }

  // Starts `sandboxd serve --listen 127.0.0.1:PORT --db DIR/sandboxd.db extraArgs...` (with
  // `env` added to its environment) and waits until `readyPath` answers 200 (or the child dies,
  // or `timeout` passes). `dir` must exist.
  bool start(const std::string& dir, const std::vector<std::string>& extraArgs,
             const std::string& readyPath = "/healthz",
             std::chrono::milliseconds timeout = std::chrono::seconds(30),
             const std::map<std::string, std::string>& env = {}) {
    dir_ = dir;
    db_ = dir + "/sandboxd.db";
    log_ = dir + "/serve.log";
    if (port_ == 0) {
      port_ = freeLoopbackPort();
    }
    std::vector<std::string> argv = {SANDBOXD_BINARY, "serve", "--listen",
                                     "127.0.0.1:" + std::to_string(port_), "--db", db_};
    argv.insert(argv.end(), extraArgs.begin(), extraArgs.end());
    pid_ = spawnProcess(argv, dir + "/serve.out", log_, env);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
      if (httpGetStatus(port_, readyPath) == 200) {
        return true;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;  // it died; the log says why
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // Sends `signal` and waits for the exit; the exit code, or -1 if it had to be killed.
  int stop(int signal = SIGTERM, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    if (pid_ <= 0) {
      return -1;
    }
    ::kill(pid_, signal);
    int code = waitForExit(pid_, timeout);
    pid_ = -1;
    return code;
  }

  // `sandboxd args...` on this server's database (admin commands such as `token create`).
  ProcessResult admin(std::vector<std::string> args) const {
    args.insert(args.begin(), SANDBOXD_BINARY);
    args.push_back("--db");
    args.push_back(db_);
    return runProcess(args);
  }

  // A new token for `user` made with `sandboxd token create` while the server runs; empty on
  // failure.
  std::string createToken(const std::string& user, bool admin = false) const {
    std::vector<std::string> args = {"token", "create", "--user", user};
    if (admin) {
      args.push_back("--admin");
    }
    ProcessResult r = this->admin(args);
    std::string token = r.exitCode == 0 ? r.out : "";
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) {
      token.pop_back();
    }
    return token;
  }

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& db() const { return db_; }
  std::string log() const { return readFile(log_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;  // kept across restarts
  std::string dir_;
  std::string db_;
  std::string log_;
};

}  // namespace sandboxd::testing
