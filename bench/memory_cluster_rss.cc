// memory_cluster_rss --config FILE --count N: the resident memory that `serve --kube memory`'s
// in-process simulated cluster takes for N sandboxes, so that bench/bench.py can tell serve's
// own memory (watch cache, status index, registry, server) from the simulated cluster's in
// rss_mb_10k. Builds the same MemoryCluster serve builds (same options, same renderer and
// config), creates N sandboxes through the KubernetesService as serve does, lets every pod turn
// Ready, and prints {"count", "rss_mb_before", "rss_mb_after"} as JSON.
#include <fstream>
#include <iostream>
#include <string>

#include "sandboxd/config/config.h"
#include "sandboxd/render/manifest_renderer.h"
#include "simulated_sandboxes.h"

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
  const std::string countArg = sandboxd::bench::argOf(argc, argv, "--count");
  const int count = countArg.empty() ? 0 : std::stoi(countArg);
  auto config = sandboxd::loadConfig(sandboxd::bench::argOf(argc, argv, "--config"));
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
    auto cluster = sandboxd::bench::simulatedSandboxes(config.value(), *renderer, count, "sb-",
                                                       "memory_cluster_rss");
    if (cluster == nullptr) {
      return 1;
    }
    std::cout << "{\"count\": " << count << ", \"rss_mb_before\": " << before
              << ", \"rss_mb_after\": " << rssMb() << "}" << std::endl;
  }
  return 0;
}
