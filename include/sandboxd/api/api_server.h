// The HTTP API server (cpprestsdk http_listener behind this header; cpprest headers stay in
// src/api). Contract: shared DESIGN.md §3.
#pragma once

#include <memory>
#include <string>

#include "sandboxd/common/status.h"
#include "sandboxd/config/config.h"
#include "sandboxd/kube/kube_call_metrics.h"
#include "sandboxd/kube/watch_cache.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/reconciler.h"
#include "sandboxd/service/sandbox_events.h"
#include "sandboxd/service/sandbox_manager.h"
#include "sandboxd/service/snapshot_manager.h"

namespace sandboxd {

class ApiServer {
 public:
  virtual ~ApiServer() = default;
  // Binds and starts serving. Unavailable if the address cannot be bound.
  virtual Status start() = 0;
  // Stops accepting, waits for in-flight requests, releases the port.
  virtual void stop() = 0;
  // The port actually bound (useful with port 0).
  virtual int port() const = 0;
};

using ApiServerPtr = std::unique_ptr<ApiServer>;

// What /metrics exports besides the server's own figures (each optional).
struct ApiObservability {
  KubeCallMetricsPtr kubeCalls;               // Kubernetes API calls by verb and code
  std::shared_ptr<const WatchCache> cache;    // watch cache health, age of the last event
  std::shared_ptr<const Reconciler> reconciler;  // passes, repairs, drift found by the last pass
};

// `events`: what GET /api/v1/events streams (null: the event routes answer 503).
ApiServerPtr makeApiServer(const ServerConfig& config, SandboxManagerPtr manager,
                           RegistryPtr registry, ApiObservability observability = {},
                           SandboxEventHubPtr events = nullptr);
// The same, also serving forward auth for the sandboxes' web endpoints (/auth/check,
// /auth/signin) for config.sandbox's domain and ports; `time` is the clock of sessions and
// the rate limit (null: the real one). `snapshots`: the snapshot routes' (null: they answer
// 503).
ApiServerPtr makeApiServer(const Config& config, SandboxManagerPtr manager, RegistryPtr registry,
                           ApiObservability observability, TimeSourcePtr time = nullptr,
                           SandboxEventHubPtr events = nullptr,
                           SnapshotManagerPtr snapshots = nullptr);

}  // namespace sandboxd
