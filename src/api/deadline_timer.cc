#include "api/deadline_timer.h"

#include <spdlog/spdlog.h>

#include <exception>

namespace sandboxd::api {

DeadlineTimer::DeadlineTimer() : thread_([this] { run(); }) {}

DeadlineTimer::~DeadlineTimer() { shutdown(); }

void DeadlineTimer::schedule(Clock::time_point when, std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      return;
    }
    pending_.emplace(when, std::move(fn));
  }
  cv_.notify_one();
}

void DeadlineTimer::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    pending_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();  // called from a callback: the loop ends when it returns
    } else {
      thread_.join();
    }
  }
}

void DeadlineTimer::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (pending_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = pending_.begin();
    if (Clock::now() < first->first) {
      cv_.wait_until(lock, first->first);
      continue;
    }
    std::function<void()> fn = std::move(first->second);
    pending_.erase(first);
    lock.unlock();
    try {
      fn();
    } catch (const std::exception& e) {
      spdlog::error("deadline callback threw: {}", e.what());
    } catch (...) {
      spdlog::error("deadline callback threw a non-standard exception");
    }
    lock.lock();
  }
}

}  // namespace sandboxd::api
