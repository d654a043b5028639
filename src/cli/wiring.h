// Building the running service's parts from configuration.
#pragma once

#include "sandboxd/common/time_source.h"
#include "sandboxd/config/config.h"
#include "sandboxd/kube/kube_client.h"

namespace sandboxd::cli {

// "memory" → MemoryCluster; "in-cluster" → service-account config; otherwise a kubeconfig
// path ("" = $KUBECONFIG / ~/.kube/config) with server.kubeContext.
StatusOr<KubeClientPtr> makeKubeClientFor(const ServerConfig& server, TimeSourcePtr time);

// Parses "K=V" (K non-empty; V may contain '='). InvalidArgument naming `flag` otherwise.
StatusOr<std::pair<std::string, std::string>> parseKeyValue(const std::string& text,
                                                            const std::string& flag);

}  // namespace sandboxd::cli
