// Configuration: built-in defaults, overridden in order by a YAML file (--config FILE or
// $SANDBOXD_CONFIG, else ./config/sandboxd.yaml when present), SANDBOXD_* environment
// variables, and command-line flags (applied by the CLI).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sandboxd/common/status.h"

namespace sandboxd {

struct PortConfig {
  std::string name;       // DNS label, also the Service port name
  int port = 0;           // container port == service port
  bool ingress = true;    // exposed through an Ingress named {sandbox}-{name}-ingress
  // A sandbox may make this port's Ingress public (no forward auth in front of it). Off unless
  // the operator says so: a terminal must never be.
  bool allowPublic = false;
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
  // Scratch space outside the home volume (the container's writable layer, logs, emptyDirs):
  // a request so the scheduler counts it, a limit so one sandbox cannot fill a node's disk.
  std::string ephemeralStorageRequest = "1Gi";
  std::string ephemeralStorageLimit = "10Gi";
};

// The pod's and the sandbox container's security settings. The defaults pass Pod Security
// "restricted"; an unset optional leaves its field out of the manifest (the image decides).
struct SecurityConfig {
  bool runAsNonRoot = true;
  std::optional<int64_t> runAsUser = 1000;
  std::optional<int64_t> runAsGroup = 1000;
  std::optional<int64_t> fsGroup = 1000;  // the home volume is made writable by this group
  bool allowPrivilegeEscalation = false;
  bool dropAllCapabilities = true;
  std::string seccompProfile = "RuntimeDefault";  // RuntimeDefault | Unconfined | "" (unset)
  bool automountServiceAccountToken = false;
  bool enableServiceLinks = false;
};

// One probe of the sandbox container: a TCP connection to the probed port.
struct ProbeConfig {
  bool enabled = true;
  int periodSeconds = 10;
  int timeoutSeconds = 1;
  int failureThreshold = 3;
};

// The sandbox container's probes, all on the port named `port` (the terminal by default): a
// startup probe that gives a slow image time to come up, a readiness probe (the sandbox is
// RUNNING only while it passes) and, off by default, a liveness probe that restarts the
// container when the terminal stops answering.
struct ProbesConfig {
  std::string port = "ttyd";  // a name in sandbox.ports; "" = no probes at all
  ProbeConfig startup{true, 5, 1, 60};
  ProbeConfig readiness{true, 10, 1, 3};
  ProbeConfig liveness{false, 30, 5, 3};
};

// The NetworkPolicy {name}-netpol every sandbox gets: its ports accept connections only from
// pods in the namespaces `ingressNamespaceSelector` selects (the ingress controller's), so no
// sandbox reaches another; egress is open unless `egress` is "restricted".
struct NetworkPolicyConfig {
  bool enabled = true;
  std::map<std::string, std::string> ingressNamespaceSelector = {
      {"kubernetes.io/metadata.name", "ingress-nginx"}};
  std::map<std::string, std::string> ingressPodSelector;  // empty = any pod there
  std::string egress = "open";                             // open | restricted
  // With egress: restricted, the only destinations besides DNS (port 53 anywhere).
  std::vector<std::string> egressAllowCidrs;
  std::vector<std::string> egressExceptCidrs;  // carved out of each allowed CIDR
};

// What every sandbox gets unless the API request overrides it (image, storage, env), and the
// profiles a request may pick by name (sandbox.profiles; README "Profiles").
struct SandboxConfig {
  std::string nameSpace = "default";
  std::string image = "ghcr.io/fullstackagent/fullstack-web-runtime:latest";
  // The images a sandbox may run (sandboxd/config/image_allowlist.h); empty = any image.
  std::vector<std::string> allowedImages;
  std::string storage = "5Gi";
  std::string minStorage = "1Gi";
  std::string maxStorage = "100Gi";
  std::string storageClass;  // empty = cluster default (no storageClassName)
  std::string mountPath = "/home/agent";
  ResourcesConfig resources;
  std::vector<PortConfig> ports = {{"app", 3000, true, true}, {"ttyd", 7681, true, false}};
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
  // Idle auto-stop (README "Idle stop and expiry"): a running sandbox with no activity for this
  // many minutes is stopped by the reconciler; 0 = never. A create or PATCH may choose its own
  // value per sandbox: with maxIdleStopMinutes > 0, one from 1 to that (never is refused);
  // with 0, any (0 = never included).
  int idleStopMinutes = 0;
  int maxIdleStopMinutes = 0;
  SecurityConfig security;
  NetworkPolicyConfig networkPolicy;
  ProbesConfig probes;
  // The pod's affinity as the operator wrote it: the YAML text of one mapping, put into the
  // pod spec as a structured tree by the renderer; empty = none.
  std::string affinity;
  // Extra labels and annotations on the StatefulSet and its pod template. They never replace
  // what the templates set (config validation refuses the platform's and sandboxd's keys).
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;

  // Profiles (sandbox.profiles): each is these settings with the profile's own keys applied
  // over them (its `ports` are added to these), resolved when the config is read; a resolved
  // profile has no profiles of its own. Users pick one by name at create; only the operator
  // defines them. With none configured, the one profile is "default": these settings.
  std::map<std::string, std::shared_ptr<const SandboxConfig>> profiles;
  std::string defaultProfile = "default";
};

// The profile a sandbox is created with when it names none, and the name the sandbox.*
// settings go by when no profiles are configured.
inline constexpr const char* kImplicitProfile = "default";

// The settings of profile `name`: a configured profile's, or for "default" (and "", rows from
// before profiles) when no profile of that name is configured, `base` itself. nullptr when no
// such profile exists.
const SandboxConfig* profileConfig(const SandboxConfig& base, const std::string& name);

// The names a request may pick: the configured profiles', or "default" when there are none.
std::vector<std::string> profileNames(const SandboxConfig& base);

// Every port any profile has (base ports first, then each profile's extra ones, each name
// once): what a sandbox of any profile may have, e.g. Ingresses to delete with a sandbox.
std::vector<PortConfig> portsOfAllProfiles(const SandboxConfig& base);

// Per-user limits (quotas); 0 or empty = unlimited. Admins override them per user
// (PUT /api/v1/admin/quotas/{user}, `sandboxd admin quota set`).
struct QuotaConfig {
  int64_t maxSandboxes = 0;  // sandboxes a user has (deleted ones not counted)
  int64_t maxRunning = 0;    // of those, desired running at once
  std::string maxStorage;    // sum of their home volumes' sizes, e.g. "50Gi"
};

// The per-user request limit of the HTTP API (a token bucket per user; 429 + Retry-After).
// Off by default (requestsPerSecond 0): see README "Rate limit" for why and suggested values.
struct RateLimitConfig {
  int requestsPerSecond = 0;  // sustained rate per user; 0 = no limit
  int burst = 50;             // requests a user may send at once (bucket size)
  bool adminsExempt = true;   // admin tokens are not limited
};

// Forward auth for the sandboxes' web endpoints (src/api/forward_auth.h).
struct ForwardAuthConfig {
  int sessionTtlSeconds = 12 * 3600;  // a sign-in lasts this long (or until its token expires)
  // The URL ingress-nginx calls for each request to a sandbox host (auth-url), e.g.
  // http://sandboxd.sandboxd-system.svc:8080/auth/check, and the public sign-in page it sends
  // browsers to (auth-signin), on a host under sandbox.domain so that the cookie it sets
  // covers the sandboxes, e.g. https://auth.sandbox.example.com/auth/signin. Both empty: the
  // Ingresses carry no forward-auth annotations.
  std::string checkUrl;
  std::string signinUrl;
};

// Live event streams (GET /api/v1/events, src/api/event_streams.h).
struct EventStreamConfig {
  int maxStreams = 4096;        // open streams in total; beyond: 429
  int maxStreamsPerUser = 16;   // open streams of one user; beyond: 429
  int heartbeatMs = 15000;      // a comment line this often (idle proxies, gone clients)
  int bufferEvents = 4096;      // events kept for Last-Event-ID resumes
  int64_t queueBytes = 1 << 20; // unsent bytes one stream may hold; beyond: reset and close
  int ticketTtlMs = 30000;      // a stream ticket's lifetime
  // Diagnostics (bench/sse_reader.cc): an event caused by a watch-cache change starts with the
  // comment ": applied <ns>", when the cache applied it (CLOCK_MONOTONIC, nanoseconds).
  bool applyStamps = false;
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
  RateLimitConfig rateLimit;
  ForwardAuthConfig forwardAuth;
  EventStreamConfig events;
};

// Home-volume snapshots (VolumeSnapshots of each sandbox's home PVC, issue 23).
struct SnapshotConfig {
  // The VolumeSnapshotClass every snapshot names; empty = the cluster's default class (the one
  // annotated snapshot.storage.kubernetes.io/is-default-class). Without it (or without the
  // snapshot API) the snapshot routes answer snapshots_unavailable.
  std::string className;
  int keep = 10;          // unlabelled snapshots kept per sandbox (newest first); 1 … 1000
  int intervalHours = 0;  // the reconciler snapshots running sandboxes this often; 0 = never
};

struct Config {
  ServerConfig server;
  SandboxConfig sandbox;
  QuotaConfig quotas;
  SnapshotConfig snapshots;
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
