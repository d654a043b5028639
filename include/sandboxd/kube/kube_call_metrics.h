// Counting Kubernetes API calls, for /metrics: a KubeClient decorator that records every call
// by verb, resource and outcome code. A call is counted once, after the client's own retries;
// the code is the answer's HTTP status (201 for a create, 200 for other successes; errors by
// their kind: 404, 409, 422, 429, 503, ...).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "sandboxd/kube/kube_client.h"

namespace sandboxd {

class KubeCallMetrics {
 public:
  using Key = std::tuple<std::string, std::string, int>;  // verb, resource, code

  void record(const std::string& verb, const std::string& resource, int code);
  std::map<Key, uint64_t> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::map<Key, uint64_t> calls_;
};

using KubeCallMetricsPtr = std::shared_ptr<KubeCallMetrics>;

KubeClientPtr withCallMetrics(KubeClientPtr inner, KubeCallMetricsPtr metrics);

}  // namespace sandboxd
