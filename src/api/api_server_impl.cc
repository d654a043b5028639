// ApiServerImpl: the HTTP API server's start and stop (DESIGN §3) on cpprestsdk's
// http_listener: the listen address, the listener's registrations, and a graceful stop that
// lets the requests already accepted finish. What happens to a request is the Transport's
// (transport.h); who it acts as, the Authenticator's (sandboxd/api/authenticator.h).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <cpprest/http_listener.h>
#include <spdlog/spdlog.h>

#include "api/api_server_options.h"
#include "api/bearer_token_authenticator.h"
#include "api/forward_auth.h"
#include "sandboxd/common/random_generator.h"
#include "api/transport.h"
#include "sandboxd/api/api_server.h"

namespace sandboxd {
namespace {

using web::http::http_request;
using web::http::methods;
using web::http::experimental::listener::http_listener;

// Picks a free TCP port on `host` by binding port 0 (cpprestsdk cannot report the port it
// bound). There is a small window in which another process could take it.
std::optional<int> pickFreePort(const std::string& host) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return std::nullopt;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

// Splits HOST:PORT. Accepts "0.0.0.0", "127.0.0.1", names; "*" and "+" mean all interfaces
// (cpprestsdk would bind only [::1] for them).
StatusOr<std::pair<std::string, int>> parseListen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 >= listen.size()) {
    return invalidArgument("listen address must be HOST:PORT, got \"" + listen + "\"");
  }
  std::string host = listen.substr(0, colon);
  std::string portText = listen.substr(colon + 1);
  if (host.empty() || host == "*" || host == "+") {
    host = "0.0.0.0";
  }
  if (host.find(':') != std::string::npos || host.front() == '[') {
    return invalidArgument("listen address: IPv6 is not supported, use 0.0.0.0 or 127.0.0.1");
  }
  int port = 0;
  try {
    size_t used = 0;
    port = std::stoi(portText, &used);
    if (used != portText.size() || port < 0 || port > 65535) {
      throw std::out_of_range("port");
    }
  } catch (...) {
    return invalidArgument("listen address: bad port \"" + portText + "\"");
  }
  return std::make_pair(host, port);
}

class ApiServerImpl : public ApiServer {
 public:
  ApiServerImpl(const ServerConfig& config, SandboxManagerPtr manager, RegistryPtr registry,
                AuthenticatorPtr authenticator, const api::ApiServerOptions& options)
      : config_(config),
        options_(options),
        transport_(std::make_shared<api::Transport>(config, std::move(manager),
                                                    std::move(registry),
                                                    std::move(authenticator), options)) {}

  ~ApiServerImpl() override { stop(); }

  // ApiServer
  Status start() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (listener_) {
      return failedPrecondition("API server already started");
    }
    ASSIGN_OR_RETURN(auto hostPort, parseListen(config_.listen));
    auto [host, port] = hostPort;
    if (port == 0) {
      auto free = pickFreePort(host);
      if (!free) {
        return unavailable("cannot find a free port on " + host);
      }
      port = *free;
    }
    const std::string url = "http://" + host + ":" + std::to_string(port) + "/";
    try {
      auto listener = std::make_unique<http_listener>(url);
      std::weak_ptr<api::Transport> weak = transport_;
      auto handler = [weak](http_request request) {
        if (auto transport = weak.lock()) {
          transport->handle(std::move(request));
        } else {
          request.reply(503);
        }
      };
      // OPTIONS and TRACE need their own registration: cpprestsdk answers OPTIONS itself and
      // echoes TRACE (Authorization header included) unless a handler is registered for them.
      listener->support(handler);
      listener->support(methods::OPTIONS, handler);
      listener->support(methods::TRCE, handler);
      listener->open().wait();
      listener_ = std::move(listener);
    } catch (const std::exception& e) {
      return unavailable("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                         e.what());
    }
    port_ = port;
    spdlog::info("API listening on {}:{}", host, port);
    return Status::ok();
  }

  void stop() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (listener_) {
      // cpprestsdk's close() drops open connections, answered or not: let the requests
      // already accepted finish first.
      if (!transport_->drain(options_.drainTimeout)) {
        spdlog::warn("{} request(s) still in flight after {} ms; closing anyway",
                     transport_->inFlightCount(), options_.drainTimeout.count());
      }
      try {
        listener_->close().wait();
      } catch (const std::exception& e) {
        spdlog::warn("closing the API listener: {}", e.what());
      }
      listener_.reset();
    }
    if (!stopped_) {
      transport_->shutdown();
      stopped_ = true;
    }
  }

  int port() const override { return port_; }

 private:
  const ServerConfig config_;
  const api::ApiServerOptions options_;
  std::shared_ptr<api::Transport> transport_;
  std::mutex mu_;
  std::unique_ptr<http_listener> listener_;
  bool stopped_ = false;
  int port_ = 0;
};

}  // namespace

ApiServerPtr makeApiServer(const ServerConfig& config, SandboxManagerPtr manager,
                           RegistryPtr registry, ApiObservability observability,
                           SandboxEventHubPtr events) {
  api::ApiServerOptions options;
  options.observability = std::move(observability);
  options.events = std::move(events);
  return api::makeApiServerWithOptions(config, std::move(manager), std::move(registry), options);
}

ApiServerPtr makeApiServer(const Config& config, SandboxManagerPtr manager, RegistryPtr registry,
                           ApiObservability observability, TimeSourcePtr time,
                           SandboxEventHubPtr events, SnapshotManagerPtr snapshots) {
  if (time == nullptr) {
    time = std::make_shared<RealTimeSource>();
  }
  api::ApiServerOptions options;
  options.observability = std::move(observability);
  options.time = time;
  options.events = std::move(events);
  options.snapshots = std::move(snapshots);
  options.forwardAuth = std::make_shared<api::ForwardAuth>(
      config, registry, time, std::make_shared<RandomGeneratorImpl>());
  return api::makeApiServerWithOptions(config.server, std::move(manager), std::move(registry),
                                       options);
}

namespace api {

ApiServerPtr makeApiServerWithOptions(const ServerConfig& config, SandboxManagerPtr manager,
                                      RegistryPtr registry, const ApiServerOptions& options) {
  AuthenticatorPtr authenticator = options.authenticator;
  if (!authenticator) {
    authenticator = std::make_shared<BearerTokenAuthenticator>(registry);
  }
  return std::make_unique<ApiServerImpl>(config, std::move(manager), std::move(registry),
                                         std::move(authenticator), options);
}

}  // namespace api

}  // namespace sandboxd
