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

#include "kube/cache/packed_keys.h"
#include "kube/cache/packed_list.h"
#include "sandboxd/common/heap.h"
#include "sandboxd/common/time_source.h"
#include "sandboxd/config/config.h"
#include "sandboxd/kube/watch_cache.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/render/manifest_renderer.h"
#include "sandboxd/service/sandbox_cache.h"
#include "sandboxd/service/status_index.h"
#include "simulated_sandboxes.h"

namespace {

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
  const std::string countArg = bench::argOf(argc, argv, "--count");
  const int count = countArg.empty() ? 0 : std::stoi(countArg);
  std::string dbPath = bench::argOf(argc, argv, "--db");
  auto loaded = loadConfig(bench::argOf(argc, argv, "--config"));
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
  auto cluster = bench::simulatedSandboxes(config, *renderer, count, "sx-", "memory_breakdown");
  if (cluster == nullptr) {
    return 1;
  }

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
      r.sandboxId = bench::sandboxIdOf(i);
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
  // Of that, the objects' kept bytes (MessagePack with coded keys, as stored); the rest is the
  // maps and index.
  std::vector<const FieldMask*> masks;
  for (const auto& [plural, mask] : cacheOptions.keepFieldsFor) {
    masks.push_back(mask.get());
  }
  const PackedKeysPtr keys = PackedKeys::forMasks(masks);
  size_t packedBytes = 0;
  for (const auto& type : cacheOptions.types) {
    for (const json& object : cache->list(type, config.sandbox.nameSpace)) {
      packedBytes += packKeeping(object, nullptr, keys.get()).size();
    }
  }
  releaseFreedHeap();
  auto index = std::make_shared<StatusIndex>(cache, config.sandbox.nameSpace);
  index->rebuild();
  releaseFreedHeap();
  const size_t afterIndex = settledHeap();

  // Signed: at a few sandboxes a part's delta is within the allocator's noise, either way.
  const auto part = [&](const char* name, double bytes, bool last = false) {
    std::printf("\"%s_mb\": %.1f, \"%s_bytes_per_sandbox\": %.0f%s", name,
                bytes / (1024.0 * 1024.0), name, bytes / count, last ? "" : ", ");
  };
  const auto delta = [](size_t after, size_t before) {
    return static_cast<double>(after) - static_cast<double>(before);
  };
  std::printf("{\"count\": %d, \"registry_rows\": %zu, ", count, rowCount);
  part("registry", delta(afterRegistry, start));
  part("registry_sqlite", static_cast<double>(sqliteHeld));
  part("watch_cache", delta(afterCache, afterRegistry));
  part("watch_cache_packed", static_cast<double>(packedBytes));
  part("status_index", delta(afterIndex, afterCache), true);
  std::printf("}\n");
  cache->stop();
  if (!temp.empty()) {
    std::filesystem::remove_all(temp);
  }
  return 0;
}
