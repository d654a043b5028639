#include "sandboxd/common/heap.h"

#include <string>

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
