// Counts requests the server has accepted and not yet finished answering, so that a graceful
// stop can wait for them before the listener closes its connections.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

namespace sandboxd::api {

class InFlight : public std::enable_shared_from_this<InFlight> {
 public:
  // Held for the life of one request; the request counts as finished when the last copy goes.
  using Token = std::shared_ptr<void>;

  Token enter() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++count_;
    }
    std::shared_ptr<InFlight> self = shared_from_this();
    return Token(nullptr, [self](void*) { self->leave(); });
  }

  // True when nothing is in flight; waits up to `timeout` for that.
  bool waitIdle(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return idle_.wait_for(lock, timeout, [this] { return count_ == 0; });
  }

  int count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }

 private:
  void leave() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--count_ == 0) {
      idle_.notify_all();
    }
  }

  mutable std::mutex mu_;
  std::condition_variable idle_;
  int count_ = 0;
};

}  // namespace sandboxd::api
