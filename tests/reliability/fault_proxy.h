// The reliability tier's fault-injecting proxy (tests/tools/fault_proxy.py) as a child process
// in front of the test control plane's API server: start/stop, a kubeconfig that sends
// sandboxd through it, and its control endpoint (POST /__proxy/config, GET /__proxy/stats).
#pragma once

#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>

#include <cpprest/http_client.h>
#include <nlohmann/json.hpp>

#include "integration/cluster_env.h"
#include "support/child_process.h"

namespace sandboxd::integration {

class FaultProxy {
 public:
  FaultProxy() = default;
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;
  ~FaultProxy() { stop(); }

  // Starts the proxy in front of `upstream` (trusting the test control plane's CA), with its
  // own certificate, output and kubeconfig in `dir`; `configFile` (optional) is re-read by the
  // proxy whenever it changes. Waits until it listens; false (see log()) if it does not.
  bool start(const std::string& dir, const std::string& upstream,
             const std::string& configFile = "") {
    dir_ = dir;
    std::vector<std::string> argv = {
        "python3", std::string(SANDBOXD_SOURCE_DIR) + "/tests/tools/fault_proxy.py",
        "--upstream", upstream, "--upstream-ca", stateDir() + "/ca.crt", "--make-cert", dir_,
        "--port", "0"};
    if (!configFile.empty()) {
      argv.insert(argv.end(), {"--config", configFile});
    }
    pid_ = ::sandboxd::testing::spawnProcess(argv, dir_ + "/proxy.out", dir_ + "/proxy.err");
    if (pid_ <= 0 ||
        !eventually([&] { return readFile(dir_ + "/proxy.out").rfind("LISTENING ", 0) == 0; },
                    std::chrono::seconds(30))) {
      return false;
    }
    port_ = std::stoi(readFile(dir_ + "/proxy.out").substr(10));
    return true;
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::sandboxd::testing::waitForExit(pid_, std::chrono::seconds(10));
      pid_ = -1;
    }
  }

  // Writes DIR/kubeconfig: the proxy as the server, the admin token of the test control plane
  // (a bearer token passes through the proxy; a client certificate could not). Returns its path.
  std::string writeKubeconfig() const {
    const std::string path = dir_ + "/kubeconfig";
    std::ofstream(path)
        << "apiVersion: v1\nkind: Config\nclusters:\n- name: proxied\n  cluster:\n"
        << "    server: https://127.0.0.1:" << port_ << "\n"
        << "    certificate-authority: " << dir_ << "/ca.crt\n"
        << "users:\n- name: admin\n  user:\n    token: "
        << trim(readFile(stateDir() + "/admin.token"))
        << "\ncontexts:\n- name: proxied\n  context:\n    cluster: proxied\n    user: admin\n"
        << "current-context: proxied\n";
    return path;
  }

  // POST /__proxy/config: replaces the fault configuration (and re-seeds the proxy's random
  // generator). True when the proxy accepted it.
  bool configure(const nlohmann::json& config) const {
    auto [status, body] = control("POST", "/__proxy/config", config.dump());
    return status == 200;
  }

  // GET /__proxy/stats (see the proxy's docstring); null when it does not answer.
  nlohmann::json stats() const {
    auto [status, body] = control("GET", "/__proxy/stats", "");
    return status == 200 ? nlohmann::json::parse(body, nullptr, false) : nlohmann::json();
  }

  // One counter of stats()["faults"], 0 when missing.
  int faults(const std::string& kind) const {
    const nlohmann::json s = stats();
    return s.is_object() && s.contains("faults") ? s["faults"].value(kind, 0) : 0;
  }

  int port() const { return port_; }
  // The proxy's stderr: one line per injected fault and per loaded config.
  std::string log() const { return readFile(dir_ + "/proxy.err"); }

 private:
  std::pair<int, std::string> control(const std::string& method, const std::string& path,
                                      const std::string& body) const {
    web::http::client::http_client_config cfg;
    cfg.set_timeout(std::chrono::seconds(30));
    const std::string ca = dir_ + "/ca.crt";
    cfg.set_ssl_context_callback(
        [ca](boost::asio::ssl::context& ctx) { ctx.load_verify_file(ca); });
    try {
      web::http::client::http_client client("https://127.0.0.1:" + std::to_string(port_), cfg);
      web::http::http_request req(method);
      req.set_request_uri(path);
      if (!body.empty()) {
        req.set_body(body, "application/json");
      }
      auto resp = client.request(req).get();
      return {resp.status_code(), resp.extract_utf8string(true).get()};
    } catch (const std::exception& e) {
      return {0, e.what()};
    }
  }

  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace sandboxd::integration
