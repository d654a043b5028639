// Where a request's work runs. cpprestsdk calls the listener on one of its I/O threads; handing
// the work to a worker costs a wake-up there and another when the worker posts the reply back.
// On a saturated machine each wake-up waits for a core (a stop or start against the real
// control plane spent ~1.3 ms of its ~1.7 ms overhead so). An I/O thread may therefore run the
// work itself, blocking calls included, as long as another I/O thread stays free to move every
// connection's bytes meanwhile (the Kubernetes answers the blocked thread waits for among
// them): at most `slots` at a time, the I/O threads minus one.
#pragma once

#include <atomic>

namespace sandboxd::api {

class InlineSlots {
 public:
  explicit InlineSlots(int slots) : free_(slots) {}

  // True when the caller may run the work itself; it then calls release() when done.
  bool tryAcquire() {
    int n = free_.load(std::memory_order_relaxed);
    while (n > 0) {
      if (free_.compare_exchange_weak(n, n - 1, std::memory_order_acquire)) {
        return true;
      }
    }
    return false;
  }
  void release() { free_.fetch_add(1, std::memory_order_release); }

 private:
  std::atomic<int> free_;
};

}  // namespace sandboxd::api
