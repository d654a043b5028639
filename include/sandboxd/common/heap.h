// Handing freed heap memory back to the system.
//
// sandboxd allocates with jemalloc (CMake links it; not in sanitizer builds), which returns
// pages freed and left unused by itself, about a second later, from a background thread
// (src/common/heap.cc). It replaced glibc's malloc, measured: glibc kept what a burst of
// short-lived allocations freed (a reconcile pass over 10,000 sandboxes parses ~60,000 listed
// objects; the watch cache's first lists as many) resident for good, 46 MB in use and 190 MB
// resident, and only malloc_trim gave it back, walking the heap under the arenas' locks and
// stalling every thread that allocated meanwhile (about a second on a 900 MB heap). jemalloc
// is also faster where malloc, free and malloc_consolidate topped the profiles (bench/README.md).
// These calls remain for the moments a burst has just ended: at once rather than a second later.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>

#include "sandboxd/common/time_source.h"

namespace sandboxd {

// Returns the allocator's unused pages now (jemalloc: purges every arena; glibc: malloc_trim).
void releaseFreedHeap();

// Releases only when it is worth a stall: the heap's free bytes are at least `minFreeBytes` and
// at least what is in use, and `minInterval` has passed since this releaser last released.
class HeapReleaser {
 public:
  HeapReleaser(std::chrono::milliseconds minInterval, size_t minFreeBytes)
      : minInterval_(minInterval), minFreeBytes_(minFreeBytes) {}
  // True when it released.
  bool maybeRelease(MonotonicTime now);

 private:
  const std::chrono::milliseconds minInterval_;
  const size_t minFreeBytes_;
  std::mutex mu_;
  std::optional<MonotonicTime> last_;
};

}  // namespace sandboxd
