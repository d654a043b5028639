#include "sandboxd/kube/kube_call_metrics.h"

#include <utility>

namespace sandboxd {

void KubeCallMetrics::record(const std::string& verb, const std::string& resource, int code) {
  std::lock_guard<std::mutex> lock(mu_);
  ++calls_[Key{verb, resource, code}];
}

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
    return counted("get", type, 200, inner_->get(type, ns, name, subresource));
  }

  StatusOr<json> list(const ResourceType& type, const std::string& ns,
                      const ListOptions& options) override {
    return counted("list", type, 200, inner_->list(type, ns, options));
  }

  StatusOr<json> create(const ResourceType& type, const std::string& ns, const json& object,
                        const WriteOptions& options) override {
    return counted("create", type, 201, inner_->create(type, ns, object, options));
  }

  StatusOr<json> replace(const ResourceType& type, const std::string& ns,
                         const std::string& name, const json& object,
                         const WriteOptions& options) override {
    return counted("update", type, 200, inner_->replace(type, ns, name, object, options));
  }

  StatusOr<json> patch(const ResourceType& type, const std::string& ns, const std::string& name,
                       PatchType patchType, const json& patch, const WriteOptions& options,
                       const std::string& subresource) override {
    return counted("patch", type, 200,
                   inner_->patch(type, ns, name, patchType, patch, options, subresource));
  }

  StatusOr<json> remove(const ResourceType& type, const std::string& ns, const std::string& name,
                        const DeleteOptions& options) override {
    return counted("delete", type, 200, inner_->remove(type, ns, name, options));
  }

  Status ping() override {
    Status status = inner_->ping();
    metrics_->record("ping", "", codeOf(status, 200));
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
  StatusOr<json> counted(const char* verb, const ResourceType& type, int okCode,
                         StatusOr<json> result) {
    metrics_->record(verb, type.plural, codeOf(result.status(), okCode));
    return result;
  }

  KubeClientPtr inner_;
  KubeCallMetricsPtr metrics_;
};

}  // namespace

KubeClientPtr withCallMetrics(KubeClientPtr inner, KubeCallMetricsPtr metrics) {
  return std::make_shared<CountingKubeClient>(std::move(inner), std::move(metrics));
}

}  // namespace sandboxd
