#include "api/request_context.h"

#include "sandboxd/kube/kube_call_metrics.h"

namespace sandboxd::api {
namespace {

// The worker step running on this thread (nullptr: none) and the thread's Kubernetes call
// time when it began.
struct WorkerStep {
  const RequestContext* ctx = nullptr;
  std::chrono::nanoseconds kubeAtStart{0};
};
thread_local WorkerStep tlsStep;

}  // namespace

WorkerStepScope::WorkerStepScope(RequestContext& ctx)
    : ctx_(ctx), outerCtx_(tlsStep.ctx), outerKubeAtStart_(tlsStep.kubeAtStart) {
  tlsStep = WorkerStep{&ctx, KubeCallMetrics::threadCallTime()};
}

WorkerStepScope::~WorkerStepScope() {
  ctx_.kubeNanos += (KubeCallMetrics::threadCallTime() - tlsStep.kubeAtStart).count();
  tlsStep = WorkerStep{outerCtx_, outerKubeAtStart_};
}

std::chrono::nanoseconds kubeTimeOf(const RequestContext& ctx) {
  std::chrono::nanoseconds total{ctx.kubeNanos.load()};
  if (tlsStep.ctx == &ctx) {
    total += KubeCallMetrics::threadCallTime() - tlsStep.kubeAtStart;
  }
  return total;
}

}  // namespace sandboxd::api
