// RequestContext: one request in flight, from the listener's callback to its answer: what the
// server read from it, where it stands in the checks, and the time its worker steps spent in
// Kubernetes API calls (for the Server-Timing header).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <cpprest/http_msg.h>

#include "api/in_flight.h"
#include "api/router.h"
#include "sandboxd/model/sandbox.h"

namespace sandboxd::api {

struct RequestContext {
  web::http::http_request request;
  std::string requestId;
  std::string method;
  std::string rawPath;
  std::string rawQuery;
  std::chrono::steady_clock::time_point started;
  RouteMatch match;
  std::string routeLabel = "unmatched";
  std::string origin;  // the Origin header when it is an allowed CORS origin, else empty
  std::optional<Caller> caller;
  bool bodyDeclared = false;  // Content-Length > 0 or chunked
  bool chunked = false;
  int64_t contentLength = -1;
  std::atomic<bool> bodyReadStarted{false};
  std::atomic<bool> replied{false};
  std::string body;
  InFlight::Token inFlight;  // released once the answer is written (or dropped)
  // Time spent in Kubernetes API calls by this request's finished worker steps (see
  // WorkerStepScope); the calls are synchronous on the worker's thread.
  std::atomic<int64_t> kubeNanos{0};
};
using RequestContextPtr = std::shared_ptr<RequestContext>;

// Marks a worker step of `ctx` as running on this thread while it lives: the Kubernetes calls
// the step makes on this thread count towards the request's kube time, added to
// ctx.kubeNanos when it ends. Per thread, so a step on one thread and an answer sent from
// another (a body reader's callback) never share it. Nests.
class WorkerStepScope {
 public:
  explicit WorkerStepScope(RequestContext& ctx);
  ~WorkerStepScope();
  WorkerStepScope(const WorkerStepScope&) = delete;
  WorkerStepScope& operator=(const WorkerStepScope&) = delete;

 private:
  RequestContext& ctx_;
  const RequestContext* outerCtx_;
  std::chrono::nanoseconds outerKubeAtStart_;
};

// The request's Kubernetes call time so far, including the step running on this thread.
std::chrono::nanoseconds kubeTimeOf(const RequestContext& ctx);

}  // namespace sandboxd::api
