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

// A heap arena of the process's own for one component (jemalloc: an arena created at first use
// and kept for the process's life, shared by every caller; without jemalloc: none, -1). What a
// thread allocates while a HeapArenaScope binds it there comes from pages nothing else uses, so
// the component's memory neither pins nor is pinned by the rest's: `serve --kube memory` keeps
// the simulated cluster's objects there, so that serve's own memory is its VmRSS less what that
// arena holds (heapStats(); bench/README.md, rss_mb_100k).
int separateHeapArena();
// A second such arena, for serve's own long-lived objects: the registry's rows held in memory
// and the watch cache's objects, each constructed there by a scope that covers only its
// construction (allocations, no frees: a block freed inside the scope would go to the thread's
// cache and could come back from it to the scope's next allocation). Kept apart from requests'
// short-lived garbage, 100,000 of them do not pin partly used pages of the arenas requests
// use (bench/README.md, "The fifth round"). -1 without jemalloc.
int longLivedHeapArena();
// The calling thread's arena (-1 without jemalloc).
int currentHeapArena();

// What the allocator holds now (jemalloc's statistics; nullopt without jemalloc).
struct HeapStats {
  size_t allocated = 0;  // bytes in use
  size_t resident = 0;   // bytes of pages it holds resident
  // Of those, the separate arena's (0 when none was made).
  size_t separateArenaAllocated = 0;
  size_t separateArenaResident = 0;
  // And longLivedHeapArena()'s (0 when none was made).
  size_t longLivedAllocated = 0;
  size_t longLivedResident = 0;
};
std::optional<HeapStats> heapStats();

// Binds the calling thread to `arena` (from separateHeapArena(), or the `previous()` of an outer
// scope) until the end of the scope, then back to the arena it had. -1 changes nothing, nor
// does a scope inside one of the same arena (cheap: a bulk build takes one scope for many
// objects whose own code takes one each). A switch costs a flush of the thread's cache (a few
// microseconds with what follows): at 100,000 sandboxes a scope per object at start-up cost
// seconds.
class HeapArenaScope {
 public:
  explicit HeapArenaScope(int arena);
  ~HeapArenaScope();
  HeapArenaScope(const HeapArenaScope&) = delete;
  HeapArenaScope& operator=(const HeapArenaScope&) = delete;
  // The arena the thread had before this scope (-1 when this scope changed nothing).
  int previous() const { return previous_; }

 private:
  int previous_ = -1;
  bool switched_ = false;  // false when the thread was there already, or without jemalloc
};

}  // namespace sandboxd
