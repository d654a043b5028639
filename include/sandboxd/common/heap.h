// Handing freed heap memory back to the system.
//
// glibc keeps what a thread frees in its arena; after a burst of short-lived allocations (a
// reconcile pass over 10,000 sandboxes parses ~60,000 listed objects; the watch cache's first
// lists parse as many), the freed pages stay resident for good because live blocks are
// scattered among them: measured at 10,000 sandboxes, 46 MB in use and 190 MB resident.
// malloc_trim returns every whole free page, but it walks the heap holding the arenas' locks,
// stalling every thread that allocates meanwhile (about a second on a 900 MB heap): use it
// after such bursts, off the request path, and not often.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>

#include "sandboxd/common/time_source.h"

namespace sandboxd {

// malloc_trim(0), unconditionally.
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
