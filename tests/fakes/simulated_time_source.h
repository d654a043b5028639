// A clock tests advance by hand (wall and monotonic move together).
#pragma once

#include <chrono>
#include <mutex>

#include "sandboxd/common/time_source.h"

namespace sandboxd::testing {

class SimulatedTimeSource : public TimeSource {
 public:
  SimulatedTimeSource()
      : system_(std::chrono::system_clock::time_point(std::chrono::seconds(1795000000))),
        monotonic_(std::chrono::steady_clock::time_point(std::chrono::seconds(1000))) {}

  // TimeSource
  SystemTime systemTime() override {
    std::lock_guard<std::mutex> lock(mu_);
    return system_;
  }
  MonotonicTime monotonicTime() override {
    std::lock_guard<std::mutex> lock(mu_);
    return monotonic_;
  }

  template <typename Duration>
  void advance(Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    system_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
    monotonic_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(d);
  }

 private:
  std::mutex mu_;
  SystemTime system_;
  MonotonicTime monotonic_;
};

}  // namespace sandboxd::testing
