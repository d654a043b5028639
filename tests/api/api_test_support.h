// Shared helpers for the HTTP API tests: a fixture that runs makeApiServer on a free loopback
// port against the in-memory fakes, a cpprestsdk client call, and a raw-socket call for
// requests a well-behaved client would not send.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <cpprest/http_client.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/api_server_options.h"
#include "api/fake_manager.h"
#include "sandboxd/api/api_server.h"
#include "support/child_process.h"

namespace sandboxd::testing {

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string raw;  // raw socket calls only: the whole response

  nlohmann::json json() const {
    auto j = nlohmann::json::parse(body, nullptr, false);
    return j;
  }
  bool hasHeader(const std::string& lowerName) const { return headers.count(lowerName) != 0; }
  std::string header(const std::string& lowerName) const {
    auto it = headers.find(lowerName);
    return it == headers.end() ? std::string() : it->second;
  }
  std::string errorCode() const {
    auto j = json();
    if (j.is_object() && j.contains("error") && j["error"].contains("code")) {
      return j["error"]["code"].get<std::string>();
    }
    return "";
  }
};

inline std::string lowerCase(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

// A request through cpprestsdk's http_client.
inline HttpResult httpCall(int port, const std::string& method, const std::string& pathAndQuery,
                           const std::string& token = "", const std::string& body = "",
                           const std::map<std::string, std::string>& headers = {},
                           const std::string& contentType = "application/json") {
  web::http::client::http_client_config cfg;
  cfg.set_timeout(std::chrono::seconds(30));
  web::http::client::http_client client("http://127.0.0.1:" + std::to_string(port), cfg);
  web::http::http_request req(method);
  req.set_request_uri(pathAndQuery);
  if (!token.empty()) {
    req.headers().add("Authorization", "Bearer " + token);
  }
  if (!body.empty()) {
    req.set_body(body, contentType);
  }
  for (const auto& [k, v] : headers) {
    req.headers()[k] = v;
  }
  auto resp = client.request(req).get();
  HttpResult r;
  r.status = resp.status_code();
  for (const auto& h : resp.headers()) {
    r.headers[lowerCase(h.first)] = h.second;
  }
  r.body = resp.extract_utf8string(true).get();
  return r;
}

// Sends `request` bytes as they are and reads the answer until the server closes (send
// "Connection: close"). Handles Content-Length and chunked answers.
inline HttpResult rawCall(int port, const std::string& request, size_t sendChunk = 0) {
  HttpResult r;
  int fd = connectLoopback(port);
  if (fd < 0) {
    return r;
  }
  size_t off = 0;
  const size_t step = sendChunk == 0 ? request.size() : sendChunk;
  while (off < request.size()) {
    ssize_t n = ::send(fd, request.data() + off, std::min(step, request.size() - off),
                       MSG_NOSIGNAL);
    if (n <= 0) {
      break;  // the server may close early; read what it answered
    }
    off += static_cast<size_t>(n);
  }
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      break;
    }
    data.append(buf, static_cast<size_t>(n));
    // Stop once a complete Content-Length answer is in (the server may keep the connection).
    auto end = data.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::string head = lowerCase(data.substr(0, end));
      auto cl = head.find("content-length:");
      if (cl != std::string::npos) {
        size_t len = std::stoul(head.substr(cl + 15));
        if (data.size() >= end + 4 + len) {
          break;
        }
      }
    }
  }
  ::close(fd);
  r.raw = data;
  auto end = data.find("\r\n\r\n");
  if (data.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) {
    return r;
  }
  r.status = std::stoi(data.substr(9, 3));
  size_t pos = data.find("\r\n") + 2;
  while (pos < end) {
    size_t eol = data.find("\r\n", pos);
    std::string line = data.substr(pos, eol - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') {
        value.erase(0, 1);
      }
      r.headers[lowerCase(line.substr(0, colon))] = value;
    }
    pos = eol + 2;
  }
  std::string body = data.substr(end + 4);
  if (lowerCase(r.header("transfer-encoding")).find("chunked") != std::string::npos) {
    std::string decoded;
    size_t p = 0;
    while (p < body.size()) {
      size_t eol = body.find("\r\n", p);
      if (eol == std::string::npos) {
        break;
      }
      size_t len = std::stoul(body.substr(p, eol - p), nullptr, 16);
      if (len == 0) {
        break;
      }
      decoded += body.substr(eol + 2, len);
      p = eol + 2 + len + 2;
    }
    body = decoded;
  } else if (r.hasHeader("content-length")) {
    body = body.substr(0, std::stoul(r.header("content-length")));
  }
  r.body = body;
  return r;
}

// Builds a raw HTTP/1.1 request with "Connection: close".
inline std::string rawRequest(const std::string& method, const std::string& path,
                              const std::vector<std::string>& headerLines,
                              const std::string& body = "", bool contentLength = true) {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& h : headerLines) {
    req += h + "\r\n";
  }
  if (contentLength && !body.empty()) {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n";
  req += body;
  return req;
}

// Encodes `body` as chunks of `chunk` bytes plus the terminating chunk.
inline std::string chunked(const std::string& body, size_t chunk) {
  std::string out;
  char size[32];
  for (size_t off = 0; off < body.size(); off += chunk) {
    size_t n = std::min(chunk, body.size() - off);
    std::snprintf(size, sizeof(size), "%zx\r\n", n);
    out += size;
    out += body.substr(off, n);
    out += "\r\n";
  }
  out += "0\r\n\r\n";
  return out;
}

constexpr const char* kAliceToken = "alice-token-0123456789";
constexpr const char* kBobToken = "bob-token-0123456789";
constexpr const char* kAdminToken = "admin-token-0123456789";

class ApiServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    manager_ = std::make_shared<FakeSandboxManager>();
    registry_ = std::make_shared<FakeRegistry>();
    registry_->addToken(kAliceToken, "alice");
    registry_->addToken(kBobToken, "bob");
    registry_->addToken(kAdminToken, "root", /*admin=*/true);
    config_.listen = "127.0.0.1:0";
    config_.threads = 4;
    configure(config_);
    configureOptions(options_);
    server_ = api::makeApiServerWithOptions(config_, manager_, registry_, options_);
    Status st = server_->start();
    ASSERT_TRUE(st.isOk()) << st.toString();
    port_ = server_->port();
    ASSERT_GT(port_, 0);
  }
  void TearDown() override {
    if (server_) {
      server_->stop();
    }
  }
  // Lets a test suite change the config before the server starts.
  virtual void configure(ServerConfig& config) {}
  virtual void configureOptions(api::ApiServerOptions& options) {}

  HttpResult call(const std::string& method, const std::string& path,
                  const std::string& token = kAliceToken, const std::string& body = "",
                  const std::map<std::string, std::string>& headers = {}) {
    return httpCall(port_, method, path, token, body, headers);
  }
  HttpResult raw(const std::string& request) { return rawCall(port_, request); }

  HttpResult createAs(const std::string& token, const std::string& name) {
    return call("POST", "/api/v1/sandboxes", token, nlohmann::json{{"name", name}}.dump());
  }

  ServerConfig config_;
  api::ApiServerOptions options_;
  std::shared_ptr<FakeSandboxManager> manager_;
  std::shared_ptr<FakeRegistry> registry_;
  ApiServerPtr server_;
  int port_ = 0;
};

}  // namespace sandboxd::testing
