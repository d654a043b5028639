// Handing freed heap memory back to the system.
//
// glibc keeps what a thread frees in its arena; after a burst of short-lived allocations (a
// reconcile pass over 10,000 sandboxes parses ~60,000 listed objects; the watch cache's first
// lists parse as many), the freed pages stay resident for good because live blocks are
// scattered among them: measured at 10,000 sandboxes, 46 MB in use and 190 MB resident.
// malloc_trim returns every whole free page. It walks the heap holding the arenas' locks
// (milliseconds at that size), so callers use it after such bursts, off the request path.
#pragma once

namespace sandboxd {

void releaseFreedHeap();

}  // namespace sandboxd
