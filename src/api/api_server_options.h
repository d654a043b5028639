// Knobs of the API server that are not part of ServerConfig (tests shorten them).
#pragma once

#include <chrono>
#include <cstddef>

#include "sandboxd/api/api_server.h"
#include "sandboxd/api/authenticator.h"
#include "sandboxd/common/time_source.h"
#include "sandboxd/service/sandbox_events.h"
#include "sandboxd/service/snapshot_manager.h"

namespace sandboxd::api {

class ForwardAuth;

struct ApiServerOptions {
  // How long a request body may take to arrive (and how long an unread body is drained after an
  // early answer) before the server gives up: 408, and the connection is closed.
  std::chrono::milliseconds bodyReadTimeout{30000};
  // Requests waiting for a worker beyond this are answered 429.
  size_t maxQueuedRequests = 4096;
  // On stop, how long requests already accepted may take to finish before connections close.
  std::chrono::milliseconds drainTimeout{20000};
  // Exported in /metrics when set.
  ApiObservability observability;
  // Who a request acts as; when null, bearer tokens checked against the registry
  // (BearerTokenAuthenticator).
  AuthenticatorPtr authenticator;
  // Forward auth for the sandboxes' web endpoints (/auth/check, /auth/signin); null: those
  // routes answer 503.
  std::shared_ptr<ForwardAuth> forwardAuth;
  // The clock of the per-user rate limit (config server.rateLimit); null: the real one.
  TimeSourcePtr time;
  // The sandbox events the event streams serve; when null, the event routes answer 503.
  SandboxEventHubPtr events;
  // Home-volume snapshots; when null, the snapshot routes answer 503.
  SnapshotManagerPtr snapshots;
};

ApiServerPtr makeApiServerWithOptions(const ServerConfig& config, SandboxManagerPtr manager,
                                      RegistryPtr registry, const ApiServerOptions& options);

}  // namespace sandboxd::api
