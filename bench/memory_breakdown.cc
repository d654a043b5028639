// memory_breakdown --config FILE --count N [--db FILE]: where serve's own memory goes at N
// sandboxes, part by part, as serve builds them (src/cli/cli.cc) over the simulated cluster:
// the registry (its rows held in memory and SQLite's cache), the watch cache (StatefulSets,
// pods and claims) and the status index. Each figure is the heap the part holds (the
// allocator's bytes in use after it was built minus before), so the simulated cluster, built
// first, is not in them. With --db the registry is that database (a bench run's, --keep);
// without, N rows as the API's creates write them, in a temporary file. Prints one JSON
// object (MB, and bytes per sandbox); watch_cache_packed is the part of watch_cache that is the
// objects' kept bytes (the rest: maps, index, allocation rounding).
#include <jemalloc/jemalloc.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

#include "kube/sim/memory_cluster.h"
#include "sandboxd/common/heap.h"
#include "sandboxd/common/time_source.h"
#include "sandboxd/config/config.h"
#include "sandboxd/kube/watch_cache.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/render/manifest_renderer.h"
#include "sandboxd/service/kubernetes_service.h"
#include "sandboxd/service/sandbox_cache.h"
#include "sandboxd/service/status_index.h"

namespace {

double mb(size_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

// jemalloc's bytes allocated and not freed (sandboxd links jemalloc: src/common/heap.cc).
size_t settledHeap() {
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  uint64_t epoch = 1;  // the statistics are a snapshot, refreshed by writing the epoch
  size_t size = sizeof(epoch);
  mallctl("epoch", &epoch, &size, &epoch, size);
  size_t allocated = 0;
  size = sizeof(allocated);
  mallctl("stats.allocated", &allocated, &size, nullptr, 0);
  return allocated;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sandboxd;
  std::string configPath;
  std::string dbPath;
  int count = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--config") {
      configPath = argv[i + 1];
    } else if (a == "--count") {
      count = std::stoi(argv[i + 1]);
    } else if (a == "--db") {
      dbPath = argv[i + 1];
    }
  }
  auto loaded = loadConfig(configPath);
  if (!loaded.isOk() || count <= 0) {
    std::cerr << "usage: memory_breakdown --config FILE --count N [--db FILE]\n";
    return 2;
  }
  const Config& config = *loaded;
  auto renderer = makeTemplateRenderer(config);
  if (!renderer.isOk()) {
    std::cerr << "memory_breakdown: " << renderer.status().message() << "\n";
    return 1;
  }
  auto time = std::make_shared<RealTimeSource>();
  // The simulated cluster with N sandboxes, as memory_cluster_rss builds it.
  MemoryClusterOptions options;
  options.readyDelay = std::chrono::milliseconds(config.server.memoryReadyDelayMs);
  auto cluster = std::make_shared<MemoryCluster>(time, options);
  auto direct = makeKubernetesService(cluster, *renderer, config.sandbox);
  for (int i = 0; i < count; ++i) {
    SandboxSpec spec;
    spec.name = "sx-" + std::to_string(i);
    spec.nameSpace = config.sandbox.nameSpace;
    spec.user = "bench";
    spec.sandboxId = "00000000-0000-4000-8000-" + std::to_string(100000000000 + i);
    spec.image = config.sandbox.image;
    spec.storage = config.sandbox.storage;
    if (auto s = direct->create(spec); !s.isOk()) {
      std::cerr << "memory_breakdown: create " << spec.name << ": " << s.message() << "\n";
      return 1;
    }
  }
  std::this_thread::sleep_for(options.readyDelay + std::chrono::milliseconds(100));
  (void)cluster->list(resources::pods(), config.sandbox.nameSpace, {});  // pods Ready

  // The registry.
  std::filesystem::path temp;
  if (dbPath.empty()) {
    temp = std::filesystem::temp_directory_path() /
           ("sandboxd-memory-breakdown-" + std::to_string(::getpid()));
    std::filesystem::create_directories(temp);
    dbPath = (temp / "registry.db").string();
    auto writer = openSqliteRegistry(dbPath, time);
    if (!writer.isOk()) {
      std::cerr << "memory_breakdown: " << writer.status().toString() << "\n";
      return 1;
    }
    for (int i = 0; i < count; ++i) {
      SandboxRecord r;
      r.name = "sx-" + std::to_string(i);
      r.user = "bench";
      r.nameSpace = config.sandbox.nameSpace;
      r.sandboxId = "00000000-0000-4000-8000-" + std::to_string(100000000000 + i);
      r.image = config.sandbox.image;
      r.storage = config.sandbox.storage;
      r.reason = "Accepted";
      r.message = "creating the sandbox's Kubernetes objects";
      if (Status s = (*writer)->insertSandbox(r); !s.isOk()) {
        std::cerr << "memory_breakdown: " << s.toString() << "\n";
        return 1;
      }
    }
  }
  releaseFreedHeap();
  const size_t start = settledHeap();
  const int64_t sqliteBefore = sqlite3_memory_used();
  auto registry = openSqliteRegistry(dbPath, time);
  if (!registry.isOk()) {
    std::cerr << "memory_breakdown: " << registry.status().toString() << "\n";
    return 1;
  }
  auto rows = (*registry)->listSandboxes();
  const size_t rowCount = rows.isOk() ? rows->size() : 0;
  rows = StatusOr<std::vector<SandboxRecordPtr>>(std::vector<SandboxRecordPtr>{});
  const size_t afterRegistry = settledHeap();
  const int64_t sqliteHeld = sqlite3_memory_used() - sqliteBefore;

  // The watch cache and the status index, as serve makes them.
  ObjectCacheOptions cacheOptions = sandboxCacheOptions(config.sandbox.nameSpace);
  auto cache = makeWatchCache(cluster, cacheOptions, time);
  cache->start();
  if (!cache->waitForSync(std::chrono::minutes(10))) {
    std::cerr << "memory_breakdown: the watch cache did not sync\n";
    return 1;
  }
  releaseFreedHeap();
  const size_t afterCache = settledHeap();
  // Of that, the objects' kept bytes (MessagePack, as stored); the rest is the maps and index.
  size_t packedBytes = 0;
  for (const auto& type : cacheOptions.types) {
    for (const json& object : cache->list(type, config.sandbox.nameSpace)) {
      packedBytes += json::to_msgpack(object).size();
    }
  }
  releaseFreedHeap();
  auto index = std::make_shared<StatusIndex>(cache, config.sandbox.nameSpace);
  index->rebuild();
  releaseFreedHeap();
  const size_t afterIndex = settledHeap();

  const auto part = [&](const char* name, size_t bytes, bool last = false) {
    std::printf("\"%s_mb\": %.1f, \"%s_bytes_per_sandbox\": %.0f%s", name, mb(bytes), name,
                static_cast<double>(bytes) / count, last ? "" : ", ");
  };
  std::printf("{\"count\": %d, \"registry_rows\": %zu, ", count, rowCount);
  part("registry", afterRegistry - start);
  part("registry_sqlite", static_cast<size_t>(sqliteHeld));
  part("watch_cache", afterCache - afterRegistry);
  part("watch_cache_packed", packedBytes);
  part("status_index", afterIndex - afterCache, true);
  std::printf("}\n");
  cache->stop();
  if (!temp.empty()) {
    std::filesystem::remove_all(temp);
  }
  return 0;
}
