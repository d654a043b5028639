// Counting and timing Kubernetes API calls, for /metrics: a KubeClient decorator that records
// every call by verb, resource and outcome code, and the time it took. A call is counted once,
// after the client's own retries; the code is the answer's HTTP status (201 for a create, 200
// for other successes; errors by their kind: 404, 409, 422, 429, 503, ...). Watches are counted
// when they end and are not timed (a watch is open for minutes by design).
//
// Each thread also keeps the total time it has spent in timed calls (threadCallTime), so that
// code running a request synchronously on one thread can tell how much of the request's time
// was the Kubernetes API's (the HTTP server's Server-Timing header).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>

#include "sandboxd/kube/kube_client.h"

namespace sandboxd {

class KubeCallMetrics {
 public:
  using Key = std::tuple<std::string, std::string, int>;  // verb, resource, code
  using TimingKey = std::pair<std::string, std::string>;  // verb, resource
  struct Timing {
    std::chrono::nanoseconds total{0};
    uint64_t count = 0;
    bool operator==(const Timing& o) const { return total == o.total && count == o.count; }
  };

  void record(const std::string& verb, const std::string& resource, int code);
  // A finished call that took `elapsed` (also counted as by record).
  void recordTimed(const std::string& verb, const std::string& resource, int code,
                   std::chrono::nanoseconds elapsed);
  std::map<Key, uint64_t> snapshot() const;
  std::map<TimingKey, Timing> timings() const;

  // Total time the calling thread has spent in timed calls through any withCallMetrics client
  // (monotonic; the difference of two readings on one thread is the time in between).
  static std::chrono::nanoseconds threadCallTime();

 private:
  mutable std::mutex mu_;
  std::map<Key, uint64_t> calls_;
  std::map<TimingKey, Timing> timings_;
};

using KubeCallMetricsPtr = std::shared_ptr<KubeCallMetrics>;

KubeClientPtr withCallMetrics(KubeClientPtr inner, KubeCallMetricsPtr metrics);

}  // namespace sandboxd
