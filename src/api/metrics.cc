#include "api/metrics.h"

#include <cstdio>
#include <sstream>

namespace sandboxd::api {

const std::vector<double>& ApiMetrics::durationBuckets() {
  static const std::vector<double> buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1,    2.5,   5,    10};
  return buckets;
}

std::string escapeLabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void ApiMetrics::recordRequest(const std::string& route, const std::string& method, int code,
                               double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, method, code}];
  Histogram& h = durations_[route];
  const auto& bounds = durationBuckets();
  if (h.buckets.empty()) {
    h.buckets.assign(bounds.size(), 0);
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (seconds <= bounds[i]) {
      ++h.buckets[i];
      break;
    }
  }
  h.sum += seconds;
  ++h.count;
}

void ApiMetrics::recordLifecycle(const std::string& operation, const std::string& result) {
  std::lock_guard<std::mutex> lock(mu_);
  ++lifecycle_[{operation, result}];
}

namespace {
std::string formatDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}
}  // namespace

std::string ApiMetrics::render(const std::map<std::string, int>& sandboxesByStatus,
                               bool sandboxesError) const {
  std::ostringstream out;
  std::lock_guard<std::mutex> lock(mu_);

  out << "# HELP sandboxd_http_requests_total HTTP requests answered, by route template, "
         "method and status code.\n"
      << "# TYPE sandboxd_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    const auto& [route, method, code] = key;
    out << "sandboxd_http_requests_total{route=\"" << escapeLabelValue(route) << "\",method=\""
        << escapeLabelValue(method) << "\",code=\"" << code << "\"} " << count << "\n";
  }

  out << "# HELP sandboxd_http_request_duration_seconds HTTP request duration, by route "
         "template.\n"
      << "# TYPE sandboxd_http_request_duration_seconds histogram\n";
  const auto& bounds = durationBuckets();
  for (const auto& [route, h] : durations_) {
    const std::string label = "route=\"" + escapeLabelValue(route) + "\"";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds.size(); ++i) {
      cumulative += h.buckets[i];
      out << "sandboxd_http_request_duration_seconds_bucket{" << label << ",le=\""
          << formatDouble(bounds[i]) << "\"} " << cumulative << "\n";
    }
    out << "sandboxd_http_request_duration_seconds_bucket{" << label << ",le=\"+Inf\"} "
        << h.count << "\n";
    out << "sandboxd_http_request_duration_seconds_sum{" << label << "} " << formatDouble(h.sum)
        << "\n";
    out << "sandboxd_http_request_duration_seconds_count{" << label << "} " << h.count << "\n";
  }

  out << "# HELP sandboxd_lifecycle_operations_total Lifecycle operations requested through "
         "the API, by operation and result.\n"
      << "# TYPE sandboxd_lifecycle_operations_total counter\n";
  for (const auto& [key, count] : lifecycle_) {
    out << "sandboxd_lifecycle_operations_total{operation=\"" << escapeLabelValue(key.first)
        << "\",result=\"" << escapeLabelValue(key.second) << "\"} " << count << "\n";
  }

  if (!sandboxesError) {
    out << "# HELP sandboxd_sandboxes Sandboxes known to the registry, by status.\n"
        << "# TYPE sandboxd_sandboxes gauge\n";
    for (const auto& [status, count] : sandboxesByStatus) {
      out << "sandboxd_sandboxes{status=\"" << escapeLabelValue(status) << "\"} " << count
          << "\n";
    }
  }
  out << "# HELP sandboxd_metrics_scrape_error 1 if computing a gauge failed at this scrape.\n"
      << "# TYPE sandboxd_metrics_scrape_error gauge\n"
      << "sandboxd_metrics_scrape_error " << (sandboxesError ? 1 : 0) << "\n";
  return out.str();
}

std::string renderMetricsPage(const ApiMetrics& metrics, SandboxManager& manager,
                              const ApiObservability& observability) {
  std::map<std::string, int> counts;
  for (Phase p : {Phase::Creating, Phase::Starting, Phase::Running, Phase::Stopping,
                  Phase::Stopped, Phase::Updating, Phase::Deleting, Phase::Terminated,
                  Phase::Error}) {
    counts[toString(p)] = 0;
  }
  bool failed = false;
  try {
    auto all = manager.list(Caller{"sandboxd-metrics", true}, std::nullopt);
    if (all.isOk()) {
      for (const SandboxView& v : all.value()) {
        ++counts[toString(v.observed.phase)];
      }
    } else {
      failed = true;
    }
  } catch (...) {
    failed = true;
  }
  std::string text = metrics.render(counts, failed);
  if (observability.kubeCalls) {
    text += renderKubeCalls(observability.kubeCalls->snapshot(),
                            observability.kubeCalls->timings());
  }
  if (observability.cache) {
    text += renderCacheHealth(observability.cache->health());
  }
  if (observability.reconciler) {
    text += renderReconciler(observability.reconciler->stats(), std::chrono::steady_clock::now());
  }
  if (auto heap = heapStats()) {
    text += renderHeap(*heap);
  }
  return text;
}

std::string renderHeap(const HeapStats& heap) {
  std::ostringstream out;
  out << "# HELP sandboxd_heap_bytes The allocator's heap: bytes in use (allocated), pages it "
         "holds (resident), and of those the simulated cluster's (--kube memory: its objects "
         "have a heap arena of their own) and the long-lived objects' (registry rows, watch "
         "cache objects).\n"
      << "# TYPE sandboxd_heap_bytes gauge\n"
      << "sandboxd_heap_bytes{kind=\"allocated\"} " << heap.allocated << "\n"
      << "sandboxd_heap_bytes{kind=\"resident\"} " << heap.resident << "\n"
      << "sandboxd_heap_bytes{kind=\"simulated_cluster_allocated\"} "
      << heap.separateArenaAllocated << "\n"
      << "sandboxd_heap_bytes{kind=\"simulated_cluster_resident\"} "
      << heap.separateArenaResident << "\n"
      << "sandboxd_heap_bytes{kind=\"long_lived_allocated\"} " << heap.longLivedAllocated
      << "\n"
      << "sandboxd_heap_bytes{kind=\"long_lived_resident\"} " << heap.longLivedResident << "\n";
  return out.str();
}

std::string renderCacheHealth(const ObjectCacheHealth& health) {
  std::ostringstream out;
  out << "# HELP sandboxd_watch_cache_healthy 1 when the watch cache is synced and its "
         "watches are working.\n"
      << "# TYPE sandboxd_watch_cache_healthy gauge\n"
      << "sandboxd_watch_cache_healthy " << (health.healthy ? 1 : 0) << "\n"
      << "# HELP sandboxd_watch_cache_seconds_since_last_event Age of the last list, event or "
         "bookmark the watch cache applied (-1 before the first).\n"
      << "# TYPE sandboxd_watch_cache_seconds_since_last_event gauge\n"
      << "sandboxd_watch_cache_seconds_since_last_event "
      << (health.sinceLastEvent ? formatDouble(health.sinceLastEvent->count() / 1000.0) : "-1")
      << "\n"
      << "# HELP sandboxd_watch_cache_events_total Events and bookmarks the watch cache applied.\n"
      << "# TYPE sandboxd_watch_cache_events_total counter\n"
      << "sandboxd_watch_cache_events_total " << health.events << "\n"
      << "# HELP sandboxd_watch_cache_relists_total Lists the watch cache made (initial ones and "
         "after 410 Gone).\n"
      << "# TYPE sandboxd_watch_cache_relists_total counter\n"
      << "sandboxd_watch_cache_relists_total " << health.lists << "\n"
      << "# HELP sandboxd_watch_cache_watches_total Watch streams the watch cache opened (each "
         "resume after a stream ended counts).\n"
      << "# TYPE sandboxd_watch_cache_watches_total counter\n"
      << "sandboxd_watch_cache_watches_total " << health.watches << "\n";
  return out.str();
}

std::string renderReconciler(const ReconcilerStats& stats, MonotonicTime now) {
  std::ostringstream out;
  out << "# HELP sandboxd_reconcile_passes_total Reconcile passes, by result (failed: the "
         "registry or the cluster could not be listed).\n"
      << "# TYPE sandboxd_reconcile_passes_total counter\n"
      << "sandboxd_reconcile_passes_total{result=\"ok\"} " << stats.passes << "\n"
      << "sandboxd_reconcile_passes_total{result=\"failed\"} " << stats.failedPasses << "\n"
      << "# HELP sandboxd_reconcile_triggered_passes_total Passes started early because the "
         "watch cache reported a workload out of line with its desired state.\n"
      << "# TYPE sandboxd_reconcile_triggered_passes_total counter\n"
      << "sandboxd_reconcile_triggered_passes_total " << stats.triggeredPasses << "\n"
      << "# HELP sandboxd_reconcile_sandboxes_total Sandboxes the reconciler acted on, by "
         "action (failed: the action failed and will be retried).\n"
      << "# TYPE sandboxd_reconcile_sandboxes_total counter\n"
      << "sandboxd_reconcile_sandboxes_total{action=\"repaired\"} " << stats.repaired << "\n"
      << "sandboxd_reconcile_sandboxes_total{action=\"scaled\"} " << stats.scaled << "\n"
      << "sandboxd_reconcile_sandboxes_total{action=\"deleted\"} " << stats.deleted << "\n"
      << "sandboxd_reconcile_sandboxes_total{action=\"idle_stopped\"} " << stats.idleStopped
      << "\n"
      << "sandboxd_reconcile_sandboxes_total{action=\"expired\"} " << stats.expired << "\n"
      << "sandboxd_reconcile_sandboxes_total{action=\"failed\"} " << stats.failed << "\n"
      << "# HELP sandboxd_reconcile_seconds_since_last_pass Age of the last completed pass "
         "(-1 before the first).\n"
      << "# TYPE sandboxd_reconcile_seconds_since_last_pass gauge\n"
      << "sandboxd_reconcile_seconds_since_last_pass "
      << (stats.lastPassAt
              ? formatDouble(std::chrono::duration<double>(now - *stats.lastPassAt).count())
              : "-1")
      << "\n";
  if (stats.last) {
    out << "# HELP sandboxd_drift_objects Objects out of line with the registry, as the last "
           "reconcile pass found them before acting (orphan: sandboxd labels, no registry "
           "entry; never deleted. missing: an object of a live sandbox is gone. lingering: an "
           "object of a deleted sandbox is still there).\n"
        << "# TYPE sandboxd_drift_objects gauge\n"
        << "sandboxd_drift_objects{kind=\"orphan\"} " << stats.last->orphans << "\n"
        << "sandboxd_drift_objects{kind=\"missing\"} " << stats.last->missing << "\n"
        << "sandboxd_drift_objects{kind=\"lingering\"} " << stats.last->lingering << "\n";
  }
  return out.str();
}

std::string renderKubeCalls(
    const std::map<KubeCallMetrics::Key, uint64_t>& calls,
    const std::map<KubeCallMetrics::TimingKey, KubeCallMetrics::Timing>& timings) {
  std::ostringstream out;
  out << "# HELP sandboxd_kubernetes_calls_total Kubernetes API calls, by verb, resource and "
         "answer code (one per call, after the client's retries).\n"
      << "# TYPE sandboxd_kubernetes_calls_total counter\n";
  for (const auto& [key, count] : calls) {
    const auto& [verb, resource, code] = key;
    out << "sandboxd_kubernetes_calls_total{verb=\"" << escapeLabelValue(verb)
        << "\",resource=\"" << escapeLabelValue(resource) << "\",code=\"" << code << "\"} "
        << count << "\n";
  }
  out << "# HELP sandboxd_kubernetes_call_duration_seconds Time spent in Kubernetes API calls "
         "(retries included), by verb and resource; watches are not timed.\n"
      << "# TYPE sandboxd_kubernetes_call_duration_seconds summary\n";
  for (const auto& [key, timing] : timings) {
    const std::string labels = "{verb=\"" + escapeLabelValue(key.first) + "\",resource=\"" +
                               escapeLabelValue(key.second) + "\"}";
    out << "sandboxd_kubernetes_call_duration_seconds_sum" << labels << " "
        << formatDouble(std::chrono::duration<double>(timing.total).count()) << "\n"
        << "sandboxd_kubernetes_call_duration_seconds_count" << labels << " " << timing.count
        << "\n";
  }
  return out.str();
}

std::string renderEventStreams(size_t open, const EventStreamStats& stats) {
  std::ostringstream out;
  out << "# HELP sandboxd_event_streams_open Live event streams open now.\n"
      << "# TYPE sandboxd_event_streams_open gauge\n"
      << "sandboxd_event_streams_open " << open << "\n"
      << "# HELP sandboxd_event_streams_opened_total Live event streams opened (answered 200).\n"
      << "# TYPE sandboxd_event_streams_opened_total counter\n"
      << "sandboxd_event_streams_opened_total " << stats.opened.load() << "\n"
      << "# HELP sandboxd_event_streams_reset_total Streams closed with a reset because their "
         "client read too slowly (server.events.queueBytes unsent).\n"
      << "# TYPE sandboxd_event_streams_reset_total counter\n"
      << "sandboxd_event_streams_reset_total " << stats.resets.load() << "\n"
      << "# HELP sandboxd_event_streams_refused_total Streams refused with 429 (over "
         "server.events.maxStreams or maxStreamsPerUser).\n"
      << "# TYPE sandboxd_event_streams_refused_total counter\n"
      << "sandboxd_event_streams_refused_total " << stats.refused.load() << "\n";
  return out.str();
}

}  // namespace sandboxd::api
