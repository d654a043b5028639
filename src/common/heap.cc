#include "sandboxd/common/heap.h"

#include <malloc.h>

namespace sandboxd {

void releaseFreedHeap() { malloc_trim(0); }

bool HeapReleaser::maybeRelease(MonotonicTime now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (last_ && now - *last_ < minInterval_) {
    return false;
  }
  const struct mallinfo2 info = mallinfo2();
  const size_t free = info.fordblks;
  const size_t inUse = info.uordblks;
  if (free < minFreeBytes_ || free < inUse) {
    return false;
  }
  releaseFreedHeap();
  last_ = now;
  return true;
}

}  // namespace sandboxd
