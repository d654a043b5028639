// render_json --config FILE --user U NAME...: prints, per line, a JSON array of the manifests
// sandboxd would create for each sandbox NAME (apply order), for the benchmark's direct
// Kubernetes client (bench/bench.py, create_ratio). Same renderer and config as `serve`.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "sandboxd/config/config.h"
#include "sandboxd/model/sandbox.h"
#include "sandboxd/render/manifest_renderer.h"

int main(int argc, char** argv) {
  std::string configPath, user = "bench";
  std::vector<std::string> names;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      configPath = argv[++i];
    } else if (a == "--user" && i + 1 < argc) {
      user = argv[++i];
    } else {
      names.push_back(a);
    }
  }
  auto config = sandboxd::loadConfig(configPath);
  if (!config.isOk()) {
    std::cerr << "render_json: " << config.status().message() << "\n";
    return 2;
  }
  auto renderer = sandboxd::makeTemplateRenderer(config.value());
  if (!renderer.isOk()) {
    std::cerr << "render_json: " << renderer.status().message() << "\n";
    return 1;
  }
  for (size_t i = 0; i < names.size(); ++i) {
    sandboxd::SandboxSpec spec;
    spec.name = names[i];
    spec.nameSpace = config.value().sandbox.nameSpace;
    spec.user = user;
    spec.sandboxId = "00000000-0000-4000-8000-" + std::to_string(100000000000 + i);
    auto out = renderer.value()->render(spec);
    if (!out.isOk()) {
      std::cerr << "render_json: " << names[i] << ": " << out.status().message() << "\n";
      return 1;
    }
    std::cout << sandboxd::json(out.value().all()).dump() << "\n";
  }
  return 0;
}
