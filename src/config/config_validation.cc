// validateConfig: the checks a configuration passes whatever its source (file, environment,
// defaults). Errors are InvalidArgument naming the key.
#include "config/config_validation.h"

#include <algorithm>
#include <set>
#include <string>

#include "config/hardening_checks.h"
#include "config/profile_checks.h"
#include "sandboxd/config/image_allowlist.h"

namespace sandboxd {
namespace {

bool isDnsLabel(const std::string& s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') {
    return false;
  }
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}

// Dot-separated DNS labels, at most 253 characters (an object name such as a class's).
bool isDnsSubdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) {
    return false;
  }
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    if (!isDnsLabel(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start))) {
      return false;
    }
    if (dot == std::string::npos) {
      return true;
    }
    start = dot + 1;
  }
}

bool isDigits(const std::string& s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

// HOST:PORT with a non-empty host (an IPv6 literal in brackets) and a port 0..65535
// (0 = any free port, useful in tests).
bool isHostPort(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return false;
  }
  const std::string host = s.substr(0, colon);
  const std::string port = s.substr(colon + 1);
  if (!isDigits(port) || port.size() > 5 || std::stoi(port) > 65535) {
    return false;
  }
  if (host.front() == '[') {
    return host.size() > 2 && host.back() == ']';
  }
  return host.find_first_of(": /") == std::string::npos;
}

}  // namespace

// Checks that hold whatever the source (file, environment, defaults). Errors name the key.
Status validateConfig(const Config& c) {
  const ServerConfig& s = c.server;
  auto bad = [](const std::string& key, const std::string& what) {
    return invalidArgument(key + ": " + what);
  };
  if (!isHostPort(s.listen)) {
    return bad("server.listen", "expected HOST:PORT (e.g. 127.0.0.1:8080), got \"" + s.listen +
                                    "\"");
  }
  if (s.db.empty()) {
    return bad("server.db", "must not be empty");
  }
  if (s.kube.empty()) {
    return bad("server.kube", "must be memory, in-cluster or a kubeconfig path");
  }
  if (s.maxBodyBytes <= 0) {
    return bad("server.maxBodyBytes", "must be positive");
  }
  if (s.maxHeaderBytes <= 0) {
    return bad("server.maxHeaderBytes", "must be positive");
  }
  if (s.threads < 1 || s.threads > 256) {
    return bad("server.threads", "must be between 1 and 256");
  }
  if (s.ioThreads < 0 || s.ioThreads > 256) {
    return bad("server.ioThreads", "must be between 0 (one per core) and 256");
  }
  if (s.logFormat != "text" && s.logFormat != "json") {
    return bad("server.logFormat", "must be text or json, got \"" + s.logFormat + "\"");
  }
  static const std::set<std::string> kLevels = {"trace", "debug", "info",    "warn",
                                                "error", "critical", "off"};
  if (kLevels.count(s.logLevel) == 0) {
    return bad("server.logLevel",
               "must be one of trace, debug, info, warn, error, critical, off; got \"" +
                   s.logLevel + "\"");
  }
  if (s.reconcileIntervalMs < 100) {
    return bad("server.reconcileIntervalMs", "must be at least 100");
  }
  if (s.events.maxStreams < 0 || s.events.maxStreamsPerUser < 0) {
    return bad("server.events", "maxStreams and maxStreamsPerUser must not be negative");
  }
  if (s.events.heartbeatMs < 100 || s.events.ticketTtlMs < 100) {
    return bad("server.events", "heartbeatMs and ticketTtlMs must be at least 100");
  }
  if (s.events.bufferEvents < 1 || s.events.queueBytes < 4096) {
    return bad("server.events", "bufferEvents must be at least 1 and queueBytes at least 4096");
  }
  if (s.memoryReadyDelayMs < 0) {
    return bad("server.memoryReadyDelayMs", "must not be negative");
  }
  if (s.rateLimit.requestsPerSecond < 0) {
    return bad("server.rateLimit.requestsPerSecond", "must not be negative (0: no limit)");
  }
  if (s.rateLimit.burst < 1) {
    return bad("server.rateLimit.burst", "must be at least 1");
  }
  if (s.forwardAuth.sessionTtlSeconds < 60) {
    return bad("server.forwardAuth.sessionTtlSeconds", "must be at least 60");
  }
  if (s.forwardAuth.checkUrl.empty() != s.forwardAuth.signinUrl.empty()) {
    return bad("server.forwardAuth", "checkUrl and signinUrl are set together or not at all");
  }
  for (const auto& [key, url] : {std::pair<const char*, const std::string&>{
                                     "server.forwardAuth.checkUrl", s.forwardAuth.checkUrl},
                                 {"server.forwardAuth.signinUrl", s.forwardAuth.signinUrl}}) {
    if (!url.empty() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      return bad(key, "must be an http:// or https:// URL, got \"" + url + "\"");
    }
  }

  RETURN_IF_ERROR(validateSandboxSettings(c.sandbox, "sandbox"));
  RETURN_IF_ERROR(validateProfiles(c.sandbox));
  RETURN_IF_ERROR(validateSnapshots(c.snapshots));
  return validateQuotas(c.quotas);
}

Status validateSnapshots(const SnapshotConfig& snap) {
  auto bad = [](const std::string& key, const std::string& what) {
    return invalidArgument(key + ": " + what);
  };
  if (!snap.className.empty() && !isDnsSubdomain(snap.className)) {
    return bad("snapshots.className",
               "must be a VolumeSnapshotClass name (DNS subdomain), got \"" + snap.className +
                   "\"");
  }
  if (snap.keep < 1 || snap.keep > 1000) {
    return bad("snapshots.keep", "must be between 1 and 1000");
  }
  if (snap.intervalHours < 0 || snap.intervalHours > 24 * 366) {
    return bad("snapshots.intervalHours", "must be between 0 (never) and 8784");
  }
  return Status::ok();
}

// The settings one sandbox gets (sandbox.* or a resolved profile, `prefix` naming it).
Status validateSandboxSettings(const SandboxConfig& b, const std::string& prefix) {
  auto bad = [](const std::string& key, const std::string& what) {
    return invalidArgument(key + ": " + what);
  };
  if (!isDnsLabel(b.nameSpace)) {
    return bad(prefix + ".namespace", "must be a DNS label, got \"" + b.nameSpace + "\"");
  }
  if (b.image.empty()) {
    return bad(prefix + ".image", "must not be empty");
  }
  for (size_t i = 0; i < b.allowedImages.size(); ++i) {
    if (b.allowedImages[i].empty()) {
      return bad(prefix + ".allowedImages[" + std::to_string(i) + "]", "must not be empty");
    }
  }
  if (!imageAllowed(b.image, b.allowedImages)) {
    return bad(prefix + ".image", "\"" + b.image + "\" is not allowed by sandbox.allowedImages");
  }
  if (b.storage.empty() || b.minStorage.empty() || b.maxStorage.empty()) {
    return bad(prefix + ".storage", "storage, minStorage and maxStorage must not be empty");
  }
  if (b.mountPath.empty() || b.mountPath.front() != '/') {
    return bad(prefix + ".mountPath", "must be an absolute path");
  }
  if (b.ports.empty()) {
    return bad(prefix + ".ports", "at least one port is required");
  }
  std::set<std::string> names;
  std::set<int> numbers;
  for (size_t i = 0; i < b.ports.size(); ++i) {
    const PortConfig& p = b.ports[i];
    const std::string key = prefix + ".ports[" + std::to_string(i) + "]";
    // Service port names are limited to 15 characters.
    if (!isDnsLabel(p.name) || p.name.size() > 15) {
      return bad(key + ".name", "must be a DNS label of at most 15 characters, got \"" + p.name +
                                    "\"");
    }
    if (p.port < 1 || p.port > 65535) {
      return bad(key + ".port", "must be between 1 and 65535");
    }
    if (!names.insert(p.name).second) {
      return bad(key + ".name", "duplicate port name \"" + p.name + "\"");
    }
    if (!numbers.insert(p.port).second) {
      return bad(key + ".port", "duplicate port " + std::to_string(p.port));
    }
    if (p.allowPublic && !p.ingress) {
      return bad(key + ".allowPublic", "only a port with an Ingress can be public");
    }
  }
  for (size_t i = 0; i < b.tolerations.size(); ++i) {
    const TolerationConfig& t = b.tolerations[i];
    const std::string key = prefix + ".tolerations[" + std::to_string(i) + "]";
    if (t.op != "Equal" && t.op != "Exists") {
      return bad(key + ".operator", "must be Equal or Exists");
    }
    if (t.op == "Exists" && !t.value.empty()) {
      return bad(key + ".value", "must be empty when operator is Exists");
    }
    if (!t.effect.empty() && t.effect != "NoSchedule" && t.effect != "PreferNoSchedule" &&
        t.effect != "NoExecute") {
      return bad(key + ".effect", "must be NoSchedule, PreferNoSchedule, NoExecute or empty");
    }
  }
  if (b.domain.empty()) {
    return bad(prefix + ".domain", "must not be empty");
  }
  if (b.urlScheme != "http" && b.urlScheme != "https") {
    return bad(prefix + ".urlScheme", "must be http or https");
  }
  if (b.maxEnvVars < 0) {
    return bad(prefix + ".maxEnvVars", "must not be negative");
  }
  if (b.maxEnvValueBytes < 0) {
    return bad(prefix + ".maxEnvValueBytes", "must not be negative");
  }
  for (const auto& [key, minutes] : {std::pair<const char*, int>{"idleStopMinutes",
                                                                  b.idleStopMinutes},
                                      {"maxIdleStopMinutes", b.maxIdleStopMinutes}}) {
    if (minutes < 0 || minutes > 65535) {
      return bad(prefix + "." + key, "must be from 0 to 65535 (minutes; 0 = never / no bound)");
    }
  }
  if (b.maxIdleStopMinutes > 0 &&
      (b.idleStopMinutes == 0 || b.idleStopMinutes > b.maxIdleStopMinutes)) {
    return bad(prefix + ".idleStopMinutes",
               "must be from 1 to maxIdleStopMinutes (" + std::to_string(b.maxIdleStopMinutes) +
                   ") when maxIdleStopMinutes is set");
  }
  RETURN_IF_ERROR(validateStorageBounds(b, prefix));
  RETURN_IF_ERROR(validateResourceQuantities(b.resources, prefix));
  RETURN_IF_ERROR(validateExtraMetadata(b, prefix));
  // The shared checks name sandbox.* keys; a profile's errors say which profile.
  const std::string where = prefix == "sandbox" ? "" : prefix;
  auto inProfile = [&](Status st) { return where.empty() ? st : st.withContext(where); };
  RETURN_IF_ERROR(inProfile(validateSecurity(b.security)));
  RETURN_IF_ERROR(inProfile(validateNetworkPolicy(b.networkPolicy)));
  return inProfile(validateProbes(b.probes, b.ports));
}

}  // namespace sandboxd
