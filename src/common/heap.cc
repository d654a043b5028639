#include "sandboxd/common/heap.h"

#include <malloc.h>

namespace sandboxd {

void releaseFreedHeap() { malloc_trim(0); }

}  // namespace sandboxd
