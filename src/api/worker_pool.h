// A fixed set of threads that run request handlers. The application layer is synchronous (it
// may wait on the database or the Kubernetes API); running it here instead of on cpprestsdk's
// own pool keeps that pool free for socket I/O, so a handler waiting on an HTTP client call can
// never starve the client of the threads it needs (PITFALLS: listener deadlock).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sandboxd::api {

class WorkerPool {
 public:
  WorkerPool(size_t threads, size_t maxQueued);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`. False when the queue is full or the pool is shut down (the caller answers
  // 429/503 instead).
  bool submit(std::function<void()> task);

  // Runs what is queued, then joins the threads. Safe to call twice; must not be called from a
  // worker thread.
  void shutdown();

 private:
  void run();

  const size_t maxQueued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace sandboxd::api
