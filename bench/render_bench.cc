// render_us: rendering one sandbox's manifests (StatefulSet, Service, Ingresses, Secret) from the
// parsed templates, as the create path does. Google Benchmark; bench/run reads its JSON output.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>

#include "sandboxd/config/config.h"
#include "sandboxd/model/sandbox.h"
#include "sandboxd/render/manifest_renderer.h"

namespace {

sandboxd::SandboxSpec demoSpec() {
  sandboxd::SandboxSpec spec;
  spec.name = "demo";
  spec.nameSpace = "sandboxes";
  spec.user = "alice";
  spec.sandboxId = "0b5e4a0e-1111-4222-8333-444455556666";
  spec.image = "ghcr.io/org/sandbox:v1";
  spec.env = {{"EDITOR", "vim"}, {"LANG", "C.UTF-8"}, {"NODE_ENV", "development"}};
  spec.secretEnv = {{"API_KEY", "s3cr3t"}};
  spec.storage = "5Gi";
  return spec;
}

sandboxd::ManifestRendererPtr renderer() {
  static sandboxd::ManifestRendererPtr r = [] {
    auto made = sandboxd::makeTemplateRenderer(sandboxd::Config{});
    if (!made.isOk()) {
      std::cerr << "render_bench: " << made.status().message() << "\n";
      std::exit(1);
    }
    return made.value();
  }();
  return r;
}

void BM_RenderSandbox(benchmark::State& state) {
  auto r = renderer();
  const auto spec = demoSpec();
  for (auto _ : state) {
    auto out = r->render(spec);
    if (!out.isOk()) {
      state.SkipWithError(out.status().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(out.value());
  }
}
BENCHMARK(BM_RenderSandbox)->Unit(benchmark::kMicrosecond);

// Rendering plus the YAML text `sandboxd render` prints (for comparison; not a target).
void BM_RenderSandboxToYaml(benchmark::State& state) {
  auto r = renderer();
  const auto spec = demoSpec();
  for (auto _ : state) {
    auto out = r->render(spec);
    if (!out.isOk()) {
      state.SkipWithError(out.status().message().c_str());
      break;
    }
    auto text = sandboxd::toYamlDocuments(out.value().all());
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_RenderSandboxToYaml)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
