#include "sandboxd/common/heap.h"

#include <atomic>
#include <string>
#include <tuple>
#include <utility>

#if SANDBOXD_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>

// Read by jemalloc as it starts. Pages freed and left unused go back to the system about a
// second later, returned by jemalloc's own background thread: no thread that allocates waits
// for it, and a burst (a reconcile pass, a first list) leaves nothing resident for long. Two
// arenas, not 4 per core: at 10,000 sandboxes start-up was no slower and memory 3-4 MB less
// (measured; bench/README.md).
extern "C" {
const char* malloc_conf = "narenas:2,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";
}
#else
#include <malloc.h>
#endif

namespace sandboxd {
namespace {

struct HeapUsage {
  size_t inUse = 0;
  size_t free = 0;  // held by the allocator, not in use
};

HeapUsage heapUsage() {
  HeapUsage usage;
#if SANDBOXD_WITH_JEMALLOC
  uint64_t epoch = 1;  // the statistics are a snapshot, refreshed by writing the epoch
  size_t size = sizeof(epoch);
  mallctl("epoch", &epoch, &size, &epoch, size);
  size_t allocated = 0;
  size_t resident = 0;
  size = sizeof(size_t);
  if (mallctl("stats.allocated", &allocated, &size, nullptr, 0) == 0 &&
      mallctl("stats.resident", &resident, &size, nullptr, 0) == 0) {
    usage.inUse = allocated;
    usage.free = resident > allocated ? resident - allocated : 0;
  }
#else
  const struct mallinfo2 info = mallinfo2();
  usage.inUse = info.uordblks;
  usage.free = info.fordblks;
#endif
  return usage;
}

}  // namespace

void releaseFreedHeap() {
#if SANDBOXD_WITH_JEMALLOC
  static const std::string purgeAll = "arena." + std::to_string(MALLCTL_ARENAS_ALL) + ".purge";
  mallctl(purgeAll.c_str(), nullptr, nullptr, nullptr, 0);
#else
  malloc_trim(0);
#endif
}

#if SANDBOXD_WITH_JEMALLOC
namespace {
// The thread's arena: read when `next` is null, else set to *next; the one before returned.
// A switch first empties the thread's cache of freed blocks, which would otherwise hand the
// other arena's blocks to the allocations made after it.
// The names are looked up once (a scope per registry row or cache object makes this hot).
struct ThreadArenaMibs {
  size_t flush[3] = {};
  size_t flushLength = 3;
  size_t arena[2] = {};
  size_t arenaLength = 2;
  bool ok = mallctlnametomib("thread.tcache.flush", flush, &flushLength) == 0 &&
            mallctlnametomib("thread.arena", arena, &arenaLength) == 0;
};

int swapThreadArena(const unsigned* next) {
  static const ThreadArenaMibs mibs;
  if (!mibs.ok) {
    return -1;
  }
  if (next != nullptr) {
    mallctlbymib(mibs.flush, mibs.flushLength, nullptr, nullptr, nullptr, 0);
  }
  unsigned old = 0;
  size_t size = sizeof(old);
  if (mallctlbymib(mibs.arena, mibs.arenaLength, &old, &size, const_cast<unsigned*>(next),
                   next != nullptr ? sizeof(*next) : 0) != 0) {
    return -1;
  }
  return static_cast<int>(old);
}

// The arenas' indexes once made (-1 before): heapStats() reports them without making them.
std::atomic<int>& madeSeparateArena() {
  static std::atomic<int> index{-1};
  return index;
}
std::atomic<int>& madeLongLivedArena() {
  static std::atomic<int> index{-1};
  return index;
}

int createArena(std::atomic<int>& made) {
  unsigned index = 0;
  size_t size = sizeof(index);
  const int arena =
      mallctl("arenas.create", &index, &size, nullptr, 0) == 0 ? static_cast<int>(index) : -1;
  made = arena;
  return arena;
}

// An arena's allocated and resident bytes.
std::pair<size_t, size_t> arenaStats(int arena) {
  if (arena < 0) {
    return {0, 0};
  }
  const std::string prefix = "stats.arenas." + std::to_string(arena) + ".";
  auto read = [&prefix](const char* stat) {
    size_t value = 0;
    size_t size = sizeof(value);
    return mallctl((prefix + stat).c_str(), &value, &size, nullptr, 0) == 0 ? value : 0;
  };
  return {read("small.allocated") + read("large.allocated"), read("resident")};
}
}  // namespace

int separateHeapArena() {
  static const int arena = createArena(madeSeparateArena());
  return arena;
}

int longLivedHeapArena() {
  static const int arena = createArena(madeLongLivedArena());
  return arena;
}

int currentHeapArena() { return swapThreadArena(nullptr); }

std::optional<HeapStats> heapStats() {
  uint64_t epoch = 1;  // the statistics are a snapshot, refreshed by writing the epoch
  size_t size = sizeof(epoch);
  mallctl("epoch", &epoch, &size, &epoch, size);
  HeapStats stats;
  size = sizeof(size_t);
  if (mallctl("stats.allocated", &stats.allocated, &size, nullptr, 0) != 0 ||
      mallctl("stats.resident", &stats.resident, &size, nullptr, 0) != 0) {
    return std::nullopt;
  }
  std::tie(stats.separateArenaAllocated, stats.separateArenaResident) =
      arenaStats(madeSeparateArena().load());
  std::tie(stats.longLivedAllocated, stats.longLivedResident) =
      arenaStats(madeLongLivedArena().load());
  return stats;
}

HeapArenaScope::HeapArenaScope(int arena) {
  if (arena < 0) {
    return;
  }
  previous_ = swapThreadArena(nullptr);
  if (previous_ == arena) {
    return;  // bound there already (an outer scope): no switch, and no flush of the cache
  }
  const unsigned next = static_cast<unsigned>(arena);
  previous_ = swapThreadArena(&next);
  switched_ = previous_ >= 0;
}

HeapArenaScope::~HeapArenaScope() {
  if (switched_) {
    const unsigned back = static_cast<unsigned>(previous_);
    swapThreadArena(&back);
  }
}
#else
int separateHeapArena() { return -1; }
int longLivedHeapArena() { return -1; }
int currentHeapArena() { return -1; }
std::optional<HeapStats> heapStats() { return std::nullopt; }
HeapArenaScope::HeapArenaScope(int) {}
HeapArenaScope::~HeapArenaScope() = default;
#endif

bool HeapReleaser::maybeRelease(MonotonicTime now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (last_ && now - *last_ < minInterval_) {
    return false;
  }
  const HeapUsage usage = heapUsage();
  if (usage.free < minFreeBytes_ || usage.free < usage.inUse) {
    return false;
  }
  releaseFreedHeap();
  last_ = now;
  return true;
}

}  // namespace sandboxd
