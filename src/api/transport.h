// Transport: takes each request from cpprestsdk's listener and carries it to its answer,
// enforcing the limits cpprestsdk does not (PITFALLS) and running the checks in the order the
// contract sets (DESIGN §3). Each step below may answer and stop:
//   listener thread: header size (431), CORS preflight (OPTIONS), route match;
//   worker thread:   401 (Authenticator), 429 (the caller's rate limit, rate_limiter.h), 404/405 (route; for {name} routes with a body the
//                    sandbox too), 413 (Content-Length) / 415 (Content-Type), then the body is
//                    read asynchronously with a byte count (413 for chunked bodies over the
//                    limit, 408 for one that stops arriving; body_reader.h);
//   worker thread:   the route's handler: 400 (JSON) / 422 (fields), then the application
//                    layer (route_handlers.h).
// A "worker thread" step runs on the listener's I/O thread itself while another I/O thread is
// free (runOrSubmit, inline_slots.h), else on a worker of the pool (429 when its queue is full).
// Whatever answers early still drains (and discards) a pending body, because cpprestsdk holds
// the response back until the request body has been read (responder.h).
// Stopping (SIGTERM): drain() answers new requests 503 with "Connection: close", ends the open
// event streams (event_streams.h) and waits for the requests already accepted.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <cpprest/http_msg.h>

#include "api/api_server_options.h"
#include "api/cors.h"
#include "api/deadline_timer.h"
#include "api/event_streams.h"
#include "api/stream_tickets.h"
#include "api/in_flight.h"
#include "api/inline_slots.h"
#include "api/metrics.h"
#include "api/rate_limiter.h"
#include "api/request_context.h"
#include "api/responder.h"
#include "api/route_handlers.h"
#include "api/worker_pool.h"
#include "sandboxd/api/authenticator.h"
#include "sandboxd/config/config.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/sandbox_manager.h"

namespace sandboxd::api {

class Transport : public std::enable_shared_from_this<Transport> {
 public:
  // `registry`: the token store of the admin token routes (null: they answer 503).
  Transport(const ServerConfig& config, SandboxManagerPtr manager, RegistryPtr registry,
            AuthenticatorPtr authenticator, const ApiServerOptions& options);

  // The listener's callback (a cpprestsdk thread): cheap checks, then the work (runOrSubmit).
  void handle(web::http::http_request request);

  // Graceful stop, first half: requests arriving from now on are answered 503 with
  // "Connection: close"; waits (up to `timeout`) until every request already accepted has
  // been answered and its answer written. False when some were still in flight.
  bool drain(std::chrono::milliseconds timeout);
  int inFlightCount() const { return inFlight_->count(); }

  // Runs what the workers have queued, then stops the workers and the timer.
  void shutdown();

 private:
  // The listener-thread checks: framing, 431, OPTIONS, route match.
  void begin(const RequestContextPtr& ctx);
  // A request's work: here, on this I/O thread, while another I/O thread is free
  // (inline_slots.h), else on a worker. False when the workers' queue is full.
  bool runOrSubmit(std::function<void()> task);
  // Worker: 401, then 404/405, then 413/415, then the body.
  void authorizeAndRoute(const RequestContextPtr& ctx);
  // 401 answered (nullopt) or the caller.
  std::optional<Caller> authenticate(const RequestContextPtr& ctx);
  // Reads a declared body with a count, off this thread; the route's handler follows.
  void readBodyThenDispatch(const RequestContextPtr& ctx, const Route& route);
  void answerOptions(const RequestContextPtr& ctx);
  bool isPublicPath(const RouteMatch& m) const;

  // Runs one worker step of a request: an exception becomes a 500, and the Kubernetes calls
  // the step makes on this thread count towards the request's kube time.
  template <typename F>
  void guarded(const RequestContextPtr& ctx, F&& f);
  // An exception escaped a step: 500 with the request id, details only in the log.
  void fail(const RequestContextPtr& ctx, const std::string& what);

  const ServerConfig config_;
  const ApiServerOptions options_;
  const SandboxManagerPtr manager_;
  const std::shared_ptr<StreamTickets> tickets_;
  const AuthenticatorPtr authenticator_;  // stream tickets, else the given one
  const TimeSourcePtr time_;
  RateLimiter limiter_;
  DeadlineTimer timer_;
  ApiMetrics metrics_;
  const Cors cors_;
  const int64_t drainCap_;
  Responder responder_;
  RouteHandlers routes_;
  const std::shared_ptr<EventStreams> streams_;
  WorkerPool workers_;
  InlineSlots inline_;
  std::atomic<uint64_t> counter_{0};
  const std::shared_ptr<InFlight> inFlight_ = std::make_shared<InFlight>();
};

}  // namespace sandboxd::api
