// Configuration: built-in defaults, overridden in order by a YAML file (--config FILE or
// $SANDBOXD_CONFIG, else ./config/sandboxd.yaml when present), SANDBOXD_* environment
// variables, and command-line flags (applied by the CLI).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sandboxd/common/status.h"

namespace sandboxd {

struct PortConfig {
  std::string name;       // DNS label, also the Service port name
  int port = 0;           // container port == service port
  bool ingress = true;    // exposed through an Ingress named {sandbox}-{name}-ingress
};

struct TolerationConfig {
  std::string key;
  std::string op = "Equal";  // Equal | Exists
  std::string value;
  std::string effect;        // NoSchedule | PreferNoSchedule | NoExecute | ""
};

struct ResourcesConfig {
  std::string cpuRequest = "100m";
  std::string memoryRequest = "256Mi";
  std::string cpuLimit = "2";
  std::string memoryLimit = "4Gi";
};

// What every sandbox gets unless the API request overrides it (image, storage, env).
struct SandboxConfig {
  std::string nameSpace = "default";
  std::string image = "ghcr.io/fullstackagent/fullstack-web-runtime:latest";
  std::string storage = "5Gi";
  std::string minStorage = "1Gi";
  std::string maxStorage = "100Gi";
  std::string storageClass;  // empty = cluster default (no storageClassName)
  std::string mountPath = "/home/agent";
  ResourcesConfig resources;
  std::vector<PortConfig> ports = {{"app", 3000, true}, {"ttyd", 7681, true}};
  std::map<std::string, std::string> nodeSelector;
  std::vector<TolerationConfig> tolerations;
  std::string domain = "sandbox.example.com";
  std::string ingressClass = "nginx";
  std::string tlsSecret = "wildcard-cert";
  std::string urlScheme = "https";
  // Env names the platform sets itself; users may not set or unset them.
  std::vector<std::string> reservedEnv = {"SANDBOX_NAME", "SANDBOX_USER", "HOME"};
  int maxEnvVars = 100;
  int maxEnvValueBytes = 32768;
};

// Live event streams (GET /api/v1/events, src/api/event_streams.h).
struct EventStreamConfig {
  int maxStreams = 4096;        // open streams in total; beyond: 429
  int maxStreamsPerUser = 16;   // open streams of one user; beyond: 429
  int heartbeatMs = 15000;      // a comment line this often (idle proxies, gone clients)
  int bufferEvents = 4096;      // events kept for Last-Event-ID resumes
  int64_t queueBytes = 1 << 20; // unsent bytes one stream may hold; beyond: reset and close
  int ticketTtlMs = 30000;      // a stream ticket's lifetime
};

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  std::string db = "sandboxd.db";
  std::string kube = "memory";  // memory | in-cluster | path to a kubeconfig
  std::string kubeContext;
  std::vector<std::string> corsOrigins;
  int64_t maxBodyBytes = 1 << 20;
  int64_t maxHeaderBytes = 16 << 10;
  int threads = 8;                // request workers (a request's Kubernetes calls block one)
  // cpprestsdk's pool: the listener's and the Kubernetes client's I/O. All but one of these
  // threads may also run a request's work (src/api/inline_slots.h); one is always free to move
  // bytes. 0 = one per core, at least 2 (more only adds thread handoffs: at 8 on 2 cores,
  // status reads were ~30% slower and start-up at 10,000 sandboxes spent ~0.4 s more CPU).
  int ioThreads = 0;
  std::string logFormat = "text"; // text | json
  std::string logLevel = "info";
  int memoryReadyDelayMs = 1500;  // --kube memory: pod becomes Ready after this long
  int reconcileIntervalMs = 10000;  // between reconciler passes
  std::string templatesDir;       // empty = templates embedded in the binary
  EventStreamConfig events;
};

struct Config {
  ServerConfig server;
  SandboxConfig sandbox;
};

// Parses YAML text over `base` (only keys present override). InvalidArgument naming the key.
StatusOr<Config> applyConfigYaml(const Config& base, const std::string& yamlText,
                                 const std::string& sourceName);

// Defaults → file (explicit `path`, else $SANDBOXD_CONFIG, else ./config/sandboxd.yaml if it
// exists) → SANDBOXD_LISTEN, SANDBOXD_DB, SANDBOXD_KUBE, SANDBOXD_NAMESPACE, SANDBOXD_LOG_FORMAT.
// An explicit path that does not exist is an error.
StatusOr<Config> loadConfig(const std::string& path);

// The size of cpprestsdk's pool: ioThreads, or for 0 one per core (`cores`; 0 = unknown), at
// least 2.
int ioThreadsFor(const ServerConfig& server, unsigned cores);

}  // namespace sandboxd
