#include "sandboxd/kube/kube_call_metrics.h"

#include <utility>

namespace sandboxd {

namespace {
// Per thread: time spent in timed calls (see KubeCallMetrics::threadCallTime).
thread_local std::chrono::nanoseconds tlsCallTime{0};
}  // namespace

void KubeCallMetrics::record(const std::string& verb, const std::string& resource, int code) {
  std::lock_guard<std::mutex> lock(mu_);
  ++calls_[Key{verb, resource, code}];
}

void KubeCallMetrics::recordTimed(const std::string& verb, const std::string& resource, int code,
                                  std::chrono::nanoseconds elapsed) {
  std::lock_guard<std::mutex> lock(mu_);
  ++calls_[Key{verb, resource, code}];
  Timing& t = timings_[TimingKey{verb, resource}];
  t.total += elapsed;
  ++t.count;
}

std::map<KubeCallMetrics::TimingKey, KubeCallMetrics::Timing> KubeCallMetrics::timings() const {
  std::lock_guard<std::mutex> lock(mu_);
  return timings_;
}

std::chrono::nanoseconds KubeCallMetrics::threadCallTime() { return tlsCallTime; }

std::map<KubeCallMetrics::Key, uint64_t> KubeCallMetrics::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

namespace {

int codeOf(const Status& status, int okCode) {
  return status.isOk() ? okCode : toHttpStatus(status.kind());
}

class CountingKubeClient : public KubeClient {
 public:
  CountingKubeClient(KubeClientPtr inner, KubeCallMetricsPtr metrics)
      : inner_(std::move(inner)), metrics_(std::move(metrics)) {}

  StatusOr<json> get(const ResourceType& type, const std::string& ns, const std::string& name,
                     const std::string& subresource) override {
    const auto started = Clock::now();
    return counted("get", type, 200, inner_->get(type, ns, name, subresource), started);
  }

  StatusOr<json> list(const ResourceType& type, const std::string& ns,
                      const ListOptions& options) override {
    const auto started = Clock::now();
    return counted("list", type, 200, inner_->list(type, ns, options), started);
  }

  StatusOr<std::string> listText(const ResourceType& type, const std::string& ns,
                                 const ListOptions& options) override {
    const auto started = Clock::now();
    auto text = inner_->listText(type, ns, options);
    finished("list", type.plural, codeOf(text.status(), 200), started);
    return text;
  }

  StatusOr<json> create(const ResourceType& type, const std::string& ns, const json& object,
                        const WriteOptions& options) override {
    const auto started = Clock::now();
    return counted("create", type, 201, inner_->create(type, ns, object, options), started);
  }

  StatusOr<json> replace(const ResourceType& type, const std::string& ns,
                         const std::string& name, const json& object,
                         const WriteOptions& options) override {
    const auto started = Clock::now();
    return counted("update", type, 200, inner_->replace(type, ns, name, object, options),
                   started);
  }

  StatusOr<json> patch(const ResourceType& type, const std::string& ns, const std::string& name,
                       PatchType patchType, const json& patch, const WriteOptions& options,
                       const std::string& subresource) override {
    const auto started = Clock::now();
    return counted("patch", type, 200,
                   inner_->patch(type, ns, name, patchType, patch, options, subresource),
                   started);
  }

  StatusOr<json> remove(const ResourceType& type, const std::string& ns, const std::string& name,
                        const DeleteOptions& options) override {
    const auto started = Clock::now();
    return counted("delete", type, 200, inner_->remove(type, ns, name, options), started);
  }

  Status ping() override {
    const auto started = Clock::now();
    Status status = inner_->ping();
    finished("ping", "", codeOf(status, 200), started);
    return status;
  }

  // Counted once, when the stream ends (200 for a stream that ended normally or was cancelled).
  Status watch(const ResourceType& type, const std::string& ns, const WatchOptions& options,
               const WatchCallback& onEvent, WatchCancellation* cancel) override {
    Status status = inner_->watch(type, ns, options, onEvent, cancel);
    metrics_->record("watch", type.plural, codeOf(status, 200));
    return status;
  }

 private:
  using Clock = std::chrono::steady_clock;

  StatusOr<json> counted(const char* verb, const ResourceType& type, int okCode,
                         StatusOr<json> result, Clock::time_point started) {
    finished(verb, type.plural, codeOf(result.status(), okCode), started);
    return result;
  }

  void finished(const char* verb, const std::string& resource, int code,
                Clock::time_point started) {
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started);
    tlsCallTime += elapsed;
    metrics_->recordTimed(verb, resource, code, elapsed);
  }

  KubeClientPtr inner_;
  KubeCallMetricsPtr metrics_;
};

}  // namespace

KubeClientPtr withCallMetrics(KubeClientPtr inner, KubeCallMetricsPtr metrics) {
  return std::make_shared<CountingKubeClient>(std::move(inner), std::move(metrics));
}

}  // namespace sandboxd
