// One thread that runs callbacks at deadlines (monotonic clock). Used to give up on request
// bodies that stop arriving: cpprestsdk's listener has no timeouts of its own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace sandboxd::api {

class DeadlineTimer {
 public:
  using Clock = std::chrono::steady_clock;

  DeadlineTimer();
  ~DeadlineTimer();
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  // Runs `fn` on the timer thread at `when` (callbacks must be quick and must not throw).
  // Dropped after shutdown().
  void schedule(Clock::time_point when, std::function<void()> fn);

  // Drops pending callbacks and joins the thread. Safe to call twice.
  void shutdown();

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<Clock::time_point, std::function<void()>> pending_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sandboxd::api
