#include "cli/wiring.h"

#include <spdlog/spdlog.h>

#include <cstdlib>

#include "kube/sim/memory_cluster.h"
#include "sandboxd/kube/kube_connection.h"

namespace sandboxd::cli {

StatusOr<KubeClientPtr> makeKubeClientFor(const ServerConfig& server, TimeSourcePtr time) {
  if (server.kube == "memory") {
    MemoryClusterOptions options;
    options.readyDelay = std::chrono::milliseconds(server.memoryReadyDelayMs);
    options.separateHeapArena = true;
    spdlog::info("using the in-process simulated cluster (--kube memory)");
    return KubeClientPtr(std::make_shared<MemoryCluster>(std::move(time), options));
  }
  KubeConnectionConfig connection;
  if (server.kube == "in-cluster") {
    // For tests and debugging only: the service account's files from another directory than
    // the one the kubelet mounts (tests/integration/deploy_test.cc runs `--kube in-cluster`
    // outside a pod this way).
    const char* dir = std::getenv("SANDBOXD_SERVICEACCOUNT_DIR");
    if (dir != nullptr && *dir != '\0') {
      spdlog::warn("in-cluster: service account files from {} (SANDBOXD_SERVICEACCOUNT_DIR, "
                   "for tests only)", dir);
      ASSIGN_OR_RETURN(connection, loadInClusterConfig(dir));
    } else {
      ASSIGN_OR_RETURN(connection, loadInClusterConfig());
    }
  } else {
    ASSIGN_OR_RETURN(connection, loadKubeconfig(server.kube, server.kubeContext));
  }
  spdlog::info("using Kubernetes API {} ({})", connection.server, connection.source);
  return makeRestKubeClient(connection);
}

StatusOr<std::pair<std::string, std::string>> parseKeyValue(const std::string& text,
                                                            const std::string& flag) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return invalidArgument(flag + ": expected KEY=VALUE, got \"" + text.substr(0, 64) + "\"");
  }
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

}  // namespace sandboxd::cli
