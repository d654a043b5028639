// Prometheus metrics of the HTTP API and the /metrics page, rendered in the text exposition
// format (version 0.0.4).
#pragma once

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "api/bounded_stream.h"
#include "sandboxd/api/api_server.h"
#include "sandboxd/common/heap.h"
#include "sandboxd/kube/kube_call_metrics.h"
#include "sandboxd/kube/watch_cache.h"
#include "sandboxd/service/reconciler.h"
#include "sandboxd/service/sandbox_manager.h"

namespace sandboxd::api {

class ApiMetrics {
 public:
  // Histogram bucket upper bounds in seconds (plus +Inf).
  static const std::vector<double>& durationBuckets();

  // One finished HTTP request. `route` is the route template (or "unmatched").
  void recordRequest(const std::string& route, const std::string& method, int code,
                     double seconds);
  // One lifecycle operation (create, stop, start, update_env, delete) and its result
  // ("ok" or an error slug).
  void recordLifecycle(const std::string& operation, const std::string& result);

  // The exposition text. `sandboxesByStatus` is the gauge computed at scrape time (status →
  // count); when `sandboxesError` is true the gauge is left out (the list failed).
  std::string render(const std::map<std::string, int>& sandboxesByStatus,
                     bool sandboxesError) const;

 private:
  struct Histogram {
    std::vector<uint64_t> buckets;  // cumulative at render time; per-bucket here
    double sum = 0;
    uint64_t count = 0;
  };

  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> durations_;
  std::map<std::pair<std::string, std::string>, uint64_t> lifecycle_;
};

// The whole /metrics page: `metrics` (the server's own figures) with the sandboxes gauge,
// counted through `manager` as this scrape lists them, then what `observability` holds.
std::string renderMetricsPage(const ApiMetrics& metrics, SandboxManager& manager,
                              const ApiObservability& observability);

// The Kubernetes API call counters (sandboxd_kubernetes_calls_total{verb,resource,code})
// and the time they took (sandboxd_kubernetes_call_duration_seconds{verb,resource}).
std::string renderKubeCalls(
    const std::map<KubeCallMetrics::Key, uint64_t>& calls,
    const std::map<KubeCallMetrics::TimingKey, KubeCallMetrics::Timing>& timings);

// The watch cache's health (sandboxd_watch_cache_*).
std::string renderCacheHealth(const ObjectCacheHealth& health);

// The reconciler's counters and the drift its last pass found (sandboxd_reconcile_*,
// sandboxd_drift_objects); `now` ages the last pass.
std::string renderReconciler(const ReconcilerStats& stats, MonotonicTime now);

// The live event streams (sandboxd_event_streams_*): how many are open, and the counters.
std::string renderEventStreams(size_t open, const EventStreamStats& stats);
// The allocator's heap (sandboxd_heap_bytes).
std::string renderHeap(const HeapStats& heap);

// Escapes a label value (backslash, double quote, newline).
std::string escapeLabelValue(const std::string& v);

}  // namespace sandboxd::api
