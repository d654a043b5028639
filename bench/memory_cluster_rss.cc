// memory_cluster_rss --config FILE --count N: the resident memory that `serve --kube memory`'s
// in-process simulated cluster takes for N sandboxes, so that bench/bench.py can tell serve's
// own memory (watch cache, status index, registry, server) from the simulated cluster's in
// rss_mb_10k. Builds the same MemoryCluster serve builds (same options, same renderer and
// config), creates N sandboxes through the KubernetesService as serve does, lets every pod turn
// Ready, and prints {"count", "rss_mb_before", "rss_mb_after"} as JSON.
#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "kube/sim/memory_cluster.h"
#include "sandboxd/common/time_source.h"
#include "sandboxd/config/config.h"
#include "sandboxd/render/manifest_renderer.h"
#include "sandboxd/service/kubernetes_service.h"

namespace {

double rssMb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stod(line.substr(6)) / 1024.0;  // kB
    }
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string configPath;
  int count = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--config") {
      configPath = argv[i + 1];
    } else if (a == "--count") {
      count = std::stoi(argv[i + 1]);
    }
  }
  auto config = sandboxd::loadConfig(configPath);
  if (!config.isOk() || count <= 0) {
    std::cerr << "usage: memory_cluster_rss --config FILE --count N\n";
    return 2;
  }
  auto renderer = sandboxd::makeTemplateRenderer(config.value());
  if (!renderer.isOk()) {
    std::cerr << "memory_cluster_rss: " << renderer.status().message() << "\n";
    return 1;
  }
  const double before = rssMb();
  {
    // As src/cli/wiring.cc builds it for serve.
    sandboxd::MemoryClusterOptions options;
    options.readyDelay = std::chrono::milliseconds(config.value().server.memoryReadyDelayMs);
    auto cluster = std::make_shared<sandboxd::MemoryCluster>(
        std::make_shared<sandboxd::RealTimeSource>(), options);
    auto service = sandboxd::makeKubernetesService(cluster, *renderer, config.value().sandbox);
    for (int i = 0; i < count; ++i) {
      sandboxd::SandboxSpec spec;
      spec.name = "sb-" + std::to_string(i);
      spec.nameSpace = config.value().sandbox.nameSpace;
      spec.user = "bench";
      spec.sandboxId = "00000000-0000-4000-8000-" + std::to_string(100000000000 + i);
      spec.image = config.value().sandbox.image;
      spec.storage = config.value().sandbox.storage;
      if (auto s = service->create(spec); !s.isOk()) {
        std::cerr << "memory_cluster_rss: create " << spec.name << ": " << s.message() << "\n";
        return 1;
      }
    }
    std::this_thread::sleep_for(options.readyDelay + std::chrono::milliseconds(100));
    (void)cluster->list(sandboxd::resources::pods(), config.value().sandbox.nameSpace, {});  // pods Ready
    std::cout << "{\"count\": " << count << ", \"rss_mb_before\": " << before
              << ", \"rss_mb_after\": " << rssMb() << "}" << std::endl;
  }
  return 0;
}
