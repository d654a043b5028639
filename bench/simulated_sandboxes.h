// The simulated cluster `serve --kube memory` builds (src/cli/wiring.cc: same options, config
// and renderer), with N sandboxes created through the KubernetesService as serve creates them
// and every pod Ready: for the memory programs (memory_cluster_rss, memory_breakdown).
#pragma once

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "kube/sim/memory_cluster.h"
#include "sandboxd/common/time_source.h"
#include "sandboxd/config/config.h"
#include "sandboxd/render/manifest_renderer.h"
#include "sandboxd/service/kubernetes_service.h"

namespace sandboxd::bench {

// The value after `--name` in argv ("" if absent).
inline std::string argOf(int argc, char** argv, const std::string& name) {
  for (int i = 1; i + 1 < argc; i += 2) {
    if (argv[i] == name) {
      return argv[i + 1];
    }
  }
  return "";
}

// The sandbox id of the i-th sandbox (a UUID's shape).
inline std::string sandboxIdOf(int i) {
  return "00000000-0000-4000-8000-" + std::to_string(100000000000 + i);
}

// Null (the error printed, prefixed with `program`) when a create fails.
inline std::shared_ptr<MemoryCluster> simulatedSandboxes(const Config& config,
                                                         const ManifestRendererPtr& renderer,
                                                         int count, const std::string& prefix,
                                                         const std::string& program) {
  MemoryClusterOptions options;
  options.readyDelay = std::chrono::milliseconds(config.server.memoryReadyDelayMs);
  options.separateHeapArena = true;  // as serve's, so that rss_mb_* subtracts like for like
  auto cluster = std::make_shared<MemoryCluster>(std::make_shared<RealTimeSource>(), options);
  auto service = makeKubernetesService(cluster, renderer, config.sandbox);
  for (int i = 0; i < count; ++i) {
    SandboxSpec spec;
    spec.name = prefix + std::to_string(i);
    spec.nameSpace = config.sandbox.nameSpace;
    spec.user = "bench";
    spec.sandboxId = sandboxIdOf(i);
    spec.image = config.sandbox.image;
    spec.storage = config.sandbox.storage;
    if (auto s = service->create(spec); !s.isOk()) {
      std::cerr << program << ": create " << spec.name << ": " << s.message() << "\n";
      return nullptr;
    }
  }
  std::this_thread::sleep_for(options.readyDelay + std::chrono::milliseconds(100));
  (void)cluster->list(resources::pods(), config.sandbox.nameSpace, {});  // pods Ready
  return cluster;
}

}  // namespace sandboxd::bench
