// The HTTP API server on cpprestsdk's http_listener (DESIGN §3).
//
// A request goes through these steps, each of which may answer and stop:
//   listener thread: header size (431), CORS preflight (OPTIONS), route match;
//   worker thread:   401 (token), 404/405 (route; for {name} routes with a body the sandbox
//                    too), 413 (Content-Length) / 415 (Content-Type), then the body is read
//                    asynchronously with a byte count (413 for chunked bodies over the limit);
//   worker thread:   400 (JSON) / 422 (fields), then the application layer.
// A "worker thread" step runs on the listener's I/O thread itself while another I/O thread is
// free (runOrSubmit, inline_slots.h), else on a worker of the pool.
// Whatever answers early still drains (and discards) a pending body, because cpprestsdk holds
// the response back until the request body has been read.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <cpprest/http_listener.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/api_server_options.h"
#include "api/bearer_token_authenticator.h"
#include "api/deadline_timer.h"
#include "api/errors.h"
#include "api/in_flight.h"
#include "api/inline_slots.h"
#include "api/metrics.h"
#include "api/openapi.h"
#include "api/request_headers.h"
#include "api/request_parsing.h"
#include "api/router.h"
#include "api/sandbox_json.h"
#include "api/worker_pool.h"
#include "sandboxd/api/api_server.h"
#include "sandboxd/common/heap.h"
#include "sandboxd/common/random_generator.h"
#include "sandboxd/kube/kube_call_metrics.h"

namespace sandboxd {
namespace {

using web::http::http_request;
using web::http::http_response;
using web::http::methods;
using web::http::experimental::listener::http_listener;
using api::ApiError;
using api::hasHeader;
using api::header;
using api::lower;
using api::trim;
using api::Route;
using api::RouteId;
using api::RouteMatch;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 16 * 1024;
// Lists at least this long are followed by a heap release, kTrimDelay later (see
// scheduleTrim; common/heap.h).
constexpr size_t kTrimAfterListItems = 1000;
// Not more often than this, and not right behind a list, when the next list of a client paging
// through or polling is likely. (With glibc's malloc_trim, which walks the whole heap holding
// the allocator's locks, a release cost a few hundred ms at 10,000 sandboxes.)
constexpr std::chrono::milliseconds kTrimDelay{5000};
// How long a client that declared a body too large to read may go on sending before the
// request is completed from our side (see BodyReader::completeNow).
constexpr std::chrono::milliseconds kStalledBodyGrace{1000};

// The method label for metrics: only the ones we know, so clients can't grow the series.
std::string methodLabel(const std::string& method) {
  static const char* known[] = {"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS",
                                "TRACE", "CONNECT"};
  for (const char* k : known) {
    if (method == k) {
      return method;
    }
  }
  return "OTHER";
}

// Everything about one request in flight.
struct RequestContext {
  http_request request;
  std::string requestId;
  std::string method;
  std::string rawPath;
  std::string rawQuery;
  Clock::time_point started;
  RouteMatch match;
  std::string routeLabel = "unmatched";
  std::string origin;        // the Origin header when it is an allowed CORS origin
  bool corsHeaders = false;  // add CORS headers to the answer
  std::optional<Caller> caller;
  bool bodyDeclared = false;  // Content-Length > 0 or chunked
  bool chunked = false;
  int64_t contentLength = -1;
  std::atomic<bool> bodyReadStarted{false};
  std::atomic<bool> replied{false};
  std::string body;
  api::InFlight::Token inFlight;  // released once the answer is written (or dropped)
  // Time spent in Kubernetes API calls by this request's finished worker steps (see
  // WorkerStep); the calls are synchronous on the worker's thread.
  std::atomic<int64_t> kubeNanos{0};
};
using RequestContextPtr = std::shared_ptr<RequestContext>;

// The worker step running on this thread (nullptr: none) and the thread's Kubernetes call
// time when it began: per thread, so a step on one thread and an answer sent from another
// (a body reader's callback) never share it.
struct WorkerStep {
  const RequestContext* ctx = nullptr;
  std::chrono::nanoseconds kubeAtStart{0};
};
thread_local WorkerStep tlsStep;

// The request's Kubernetes call time so far, including the step running on this thread.
std::chrono::nanoseconds kubeTimeOf(const RequestContext& ctx) {
  std::chrono::nanoseconds total{ctx.kubeNanos.load()};
  if (tlsStep.ctx == &ctx) {
    total += KubeCallMetrics::threadCallTime() - tlsStep.kubeAtStart;
  }
  return total;
}

// Reads a request body with a byte count. `limit` < 0 discards everything (drain only);
// otherwise `done` is called once: with the body, with TooLarge as soon as the count passes
// `limit`, or with TimedOut/Failed. After TooLarge the rest is discarded up to `drainCap` bytes
// in total; beyond the cap, or when the deadline passes first, the request is aborted, which
// makes cpprestsdk stop reading the connection and send the answer.
class BodyReader : public std::enable_shared_from_this<BodyReader> {
 public:
  enum class Outcome { Complete, TooLarge, Failed, TimedOut };
  using Done = std::function<void(Outcome outcome, std::string body)>;

  BodyReader(http_request request, int64_t limit, int64_t drainCap, Done done)
      : request_(std::move(request)),
        buffer_(request_.body().streambuf()),
        limit_(limit),
        drainCap_(drainCap),
        chunk_(kReadChunk),
        done_(std::move(done)) {}

  // Starts reading; gives up at `deadline`.
  void start(api::DeadlineTimer& timer, Clock::time_point deadline) {
    std::weak_ptr<BodyReader> weak = shared_from_this();
    timer.schedule(deadline, [weak] {
      if (auto self = weak.lock()) {
        self->onTimeout();
      }
    });
    readNext();
  }

  // Stops the server side from reading more of this request's body. Closing the buffer makes
  // cpprestsdk's next write into it fail; cpprestsdk then completes the request itself, on its
  // own connection thread, stops reading and sends the answer (which it holds back until the
  // body is complete). Safe while the client is still sending.
  static void closeBody(const http_request& request) {
    auto eptr = std::make_exception_ptr(std::runtime_error("request body discarded"));
    try {
      request.body().streambuf().close(std::ios_base::in | std::ios_base::out, eptr);
    } catch (...) {
    }
  }

  // Completes the request from outside cpprestsdk, for a client that stopped sending (so no
  // write into the closed buffer ever comes). Only for that case: done while cpprestsdk's
  // connection thread is still reading, it races with that thread on the socket (the answer
  // closes the socket while a read is being started: SIGSEGV in epoll_reactor::start_op, seen
  // about once in 30 runs of the endless-chunked-body test).
  static void completeNow(const http_request& request) {
    auto eptr = std::make_exception_ptr(std::runtime_error("request body discarded"));
    try {
      request._get_impl()->_complete(0, eptr);
    } catch (...) {
    }
  }

  // A body that stopped arriving: both.
  static void abort(const http_request& request) {
    closeBody(request);
    completeNow(request);
  }

 private:
  void readNext() {
    auto self = shared_from_this();
    pplx::task<size_t> next;
    try {
      next = buffer_.getn(chunk_.data(), chunk_.size());
    } catch (...) {
      finish(Outcome::Failed, Stop::None);
      return;
    }
    next.then([self](pplx::task<size_t> t) {
      size_t n = 0;
      try {
        n = t.get();
      } catch (...) {
        self->finish(Outcome::Failed, Stop::None);
        return;
      }
      self->onData(n);
    });
  }

  void onData(size_t n) {
    if (n == 0) {
      finish(Outcome::Complete, Stop::None);
      return;
    }
    Done toCall;
    bool overCap = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) {
        return;
      }
      total_ += static_cast<int64_t>(n);
      if (limit_ >= 0 && !reported_) {
        if (total_ > limit_) {
          reported_ = true;
          toCall = std::move(done_);
          body_.clear();
          body_.shrink_to_fit();
        } else {
          body_.append(reinterpret_cast<const char*>(chunk_.data()), n);
        }
      }
      overCap = total_ > drainCap_;
    }
    if (toCall) {
      toCall(Outcome::TooLarge, std::string());
    }
    if (overCap) {
      // The client is sending (we just read from it): closing the body is enough.
      finish(Outcome::Failed, Stop::CloseBody);
      return;
    }
    readNext();
  }

  void onTimeout() { finish(Outcome::TimedOut, Stop::Abort); }

  enum class Stop { None, CloseBody, Abort };

  // Ends reading once: reports `outcome` if nothing was reported yet, then stops the request
  // as asked.
  void finish(Outcome outcome, Stop stop) {
    Done toCall;
    std::string body;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) {
        return;
      }
      finished_ = true;
      if (!reported_) {
        reported_ = true;
        toCall = std::move(done_);
        if (outcome == Outcome::Complete) {
          body = std::move(body_);
        }
      }
    }
    if (toCall) {
      toCall(outcome, std::move(body));
    }
    if (stop == Stop::CloseBody) {
      closeBody(request_);
    } else if (stop == Stop::Abort) {
      abort(request_);
    }
  }

  http_request request_;
  concurrency::streams::streambuf<uint8_t> buffer_;
  const int64_t limit_;
  const int64_t drainCap_;
  std::vector<uint8_t> chunk_;  // touched only by the read chain
  std::mutex mu_;
  Done done_;
  std::string body_;
  int64_t total_ = 0;
  bool reported_ = false;
  bool finished_ = false;
};

// Picks a free TCP port on `host` by binding port 0 (cpprestsdk cannot report the port it
// bound). There is a small window in which another process could take it.
std::optional<int> pickFreePort(const std::string& host) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return std::nullopt;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

// Splits HOST:PORT. Accepts "0.0.0.0", "127.0.0.1", names; "*" and "+" mean all interfaces
// (cpprestsdk would bind only [::1] for them).
StatusOr<std::pair<std::string, int>> parseListen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 >= listen.size()) {
    return invalidArgument("listen address must be HOST:PORT, got \"" + listen + "\"");
  }
  std::string host = listen.substr(0, colon);
  std::string portText = listen.substr(colon + 1);
  if (host.empty() || host == "*" || host == "+") {
    host = "0.0.0.0";
  }
  if (host.find(':') != std::string::npos || host.front() == '[') {
    return invalidArgument("listen address: IPv6 is not supported, use 0.0.0.0 or 127.0.0.1");
  }
  int port = 0;
  try {
    size_t used = 0;
    port = std::stoi(portText, &used);
    if (used != portText.size() || port < 0 || port > 65535) {
      throw std::out_of_range("port");
    }
  } catch (...) {
    return invalidArgument("listen address: bad port \"" + portText + "\"");
  }
  return std::make_pair(host, port);
}

// The request handling core, shared by the listener callback and the asynchronous steps.
class ApiCore : public std::enable_shared_from_this<ApiCore> {
 public:
  ApiCore(const ServerConfig& config, SandboxManagerPtr manager, AuthenticatorPtr authenticator,
          const api::ApiServerOptions& options)
      : config_(config),
        options_(options),
        manager_(std::move(manager)),
        authenticator_(std::move(authenticator)),
        workers_(std::max(2, config.threads), options.maxQueuedRequests),
        inline_(ioThreadsFor(config, std::thread::hardware_concurrency()) - 1),
        drainCap_(std::max<int64_t>(config.maxBodyBytes * 4, 16 << 20)) {}

  void shutdown() {
    workers_.shutdown();
    timer_.shutdown();
  }

  // Graceful stop, first half: requests arriving from now on are answered 503 with
  // "Connection: close"; waits (up to `timeout`) until every request already accepted has
  // been answered and its answer written. False when some were still in flight.
  bool drain(std::chrono::milliseconds timeout) {
    draining_ = true;
    return inFlight_->waitIdle(timeout);
  }
  int inFlightCount() const { return inFlight_->count(); }

  // Listener callback (cpprestsdk thread): cheap checks, then the work (runOrSubmit).
  void handle(http_request request) {
    auto ctx = std::make_shared<RequestContext>();
    ctx->started = Clock::now();
    ctx->request = request;
    ctx->inFlight = inFlight_->enter();
    try {
      ctx->requestId = fastUuid();
    } catch (...) {
      ctx->requestId = "req-" + std::to_string(++counter_);
    }
    if (draining_) {
      replyError(ctx, api::serviceUnavailable("the server is shutting down"));
      return;
    }
    try {
      begin(ctx);
    } catch (const std::exception& e) {
      fail(ctx, e.what());
    } catch (...) {
      fail(ctx, "unknown exception");
    }
  }

 private:
  // --- steps --------------------------------------------------------------------------------

  void begin(const RequestContextPtr& ctx) {
    http_request& req = ctx->request;
    ctx->method = req.method();
    ctx->rawPath = req.request_uri().path();
    ctx->rawQuery = req.request_uri().query();

    // CORS: only configured origins get headers.
    std::string origin = header(req, "Origin");
    if (!origin.empty() && originAllowed(origin)) {
      ctx->origin = origin;
      ctx->corsHeaders = true;
    }

    // Body framing.
    std::string te = lower(header(req, "Transfer-Encoding"));
    ctx->chunked = te.find("chunked") != std::string::npos;
    if (hasHeader(req, "Content-Length")) {
      const std::string cl(trim(header(req, "Content-Length")));
      try {
        size_t used = 0;
        long long v = std::stoll(cl, &used);
        if (used != cl.size() || v < 0) {
          throw std::invalid_argument("content-length");
        }
        ctx->contentLength = v;
      } catch (...) {
        replyError(ctx, api::badRequest("invalid Content-Length header"));
        return;
      }
    }
    ctx->bodyDeclared = ctx->chunked || ctx->contentLength > 0;

    // Header size: cpprestsdk reads headers without a cap; we at least refuse to act on them.
    size_t headerBytes = 0;
    for (const auto& h : req.headers()) {
      headerBytes += h.first.size() + h.second.size();
    }
    if (static_cast<int64_t>(headerBytes) > config_.maxHeaderBytes) {
      replyError(ctx, api::headersTooLarge("request headers exceed " +
                                           std::to_string(config_.maxHeaderBytes) + " bytes"));
      return;
    }

    if (ctx->method == methods::OPTIONS) {
      answerOptions(ctx);
      return;
    }

    ctx->match = api::matchRoute(ctx->method, ctx->rawPath);
    if (!ctx->match.pathTemplate.empty()) {
      ctx->routeLabel = ctx->match.pathTemplate;
    }
    auto self = shared_from_this();
    if (!runOrSubmit([self, ctx] { self->guarded(ctx, [&] { self->authorizeAndRoute(ctx); }); })) {
      replyError(ctx, api::throttled("server busy, retry later"));
    }
  }

  // A request's work: here, on this I/O thread, while another I/O thread is free
  // (inline_slots.h), else on a worker. False when the workers' queue is full.
  bool runOrSubmit(std::function<void()> task) {
    if (inline_.tryAcquire()) {
      struct Release {
        api::InlineSlots& slots;
        ~Release() { slots.release(); }
      } release{inline_};
      task();
      return true;
    }
    return workers_.submit(std::move(task));
  }

  // Worker: 401, then 404/405, then 413/415, then the body.
  void authorizeAndRoute(const RequestContextPtr& ctx) {
    const bool needsAuth = !isPublicPath(ctx->match);
    if (needsAuth) {
      auto caller = authenticate(ctx);
      if (!caller) {
        return;  // answered
      }
      ctx->caller = *caller;
    }

    switch (ctx->match.result) {
      case RouteMatch::Result::PathNotFound:
        replyError(ctx, api::routeNotFound("no route for " + ctx->method + " " + ctx->rawPath));
        return;
      case RouteMatch::Result::MethodNotAllowed:
        replyError(ctx, api::methodNotAllowed("method " + ctx->method + " is not allowed on " +
                                              ctx->match.pathTemplate));
        return;
      case RouteMatch::Result::Found:
        break;
    }
    const Route& route = *ctx->match.route;

    // A {name} route that carries a body: an unknown sandbox is a 404 before anything about
    // the body is looked at (check order 404 → 413/415 → 400/422).
    auto name = ctx->match.params.find("name");
    if (ctx->bodyDeclared && name != ctx->match.params.end() && ctx->caller) {
      auto existing = manager_->get(*ctx->caller, name->second);
      if (!existing.isOk() && existing.status().kind() == ErrorKind::NotFound) {
        replyError(ctx, api::fromStatus(existing.status()));
        return;
      }
    }

    if (ctx->contentLength > config_.maxBodyBytes) {
      replyError(ctx, api::payloadTooLarge("request body exceeds " +
                                           std::to_string(config_.maxBodyBytes) + " bytes"));
      return;
    }
    if (ctx->bodyDeclared && (ctx->method == methods::POST || ctx->method == methods::PATCH ||
                              ctx->method == methods::PUT)) {
      if (!isJsonContentType(header(ctx->request, "Content-Type"))) {
        replyError(ctx, api::unsupportedMediaType("request body must be application/json"));
        return;
      }
    }

    if (!ctx->bodyDeclared) {
      dispatch(ctx, route);
      return;
    }
    // Read the body with a count, off this thread; continue with runOrSubmit.
    ctx->bodyReadStarted = true;
    auto self = shared_from_this();
    const Route* routePtr = &route;
    auto reader = std::make_shared<BodyReader>(
        ctx->request, config_.maxBodyBytes, drainCap_,
        [self, ctx, routePtr](BodyReader::Outcome outcome, std::string body) {
          switch (outcome) {
            case BodyReader::Outcome::TooLarge:
              self->replyError(ctx, api::payloadTooLarge(
                                        "request body exceeds " +
                                        std::to_string(self->config_.maxBodyBytes) + " bytes"));
              return;
            case BodyReader::Outcome::TimedOut:
              self->replyError(ctx, api::requestTimeout("request body not received in time"));
              return;
            case BodyReader::Outcome::Failed:
              self->replyError(ctx, api::badRequest("could not read the request body"));
              return;
            case BodyReader::Outcome::Complete:
              break;
          }
          ctx->body = std::move(body);
          if (!self->runOrSubmit([self, ctx, routePtr] {
                self->guarded(ctx, [&] { self->dispatch(ctx, *routePtr); });
              })) {
            self->replyError(ctx, api::throttled("server busy, retry later"));
          }
        });
    reader->start(timer_, ctx->started + options_.bodyReadTimeout);
  }

  // Worker: the route's own work.
  void dispatch(const RequestContextPtr& ctx, const Route& route) {
    const auto query = api::parseQuery(ctx->rawQuery);
    const std::string name =
        ctx->match.params.count("name") ? ctx->match.params.at("name") : std::string();
    switch (route.id) {
      case RouteId::Healthz:
        replyJson(ctx, 200, json{{"status", "ok"}});
        return;
      case RouteId::Readyz: {
        Status st = manager_->ready();
        if (st.isOk()) {
          replyJson(ctx, 200, json{{"status", "ready"}});
        } else {
          ApiError e = api::serviceUnavailable("not ready: " + st.message());
          replyError(ctx, e);
        }
        return;
      }
      case RouteId::Metrics:
        replyText(ctx, 200, renderMetrics(), "text/plain; version=0.0.4; charset=utf-8");
        return;
      case RouteId::OpenApi:
        replyJson(ctx, 200, openApi());
        return;
      case RouteId::ListSandboxes: {
        auto user = api::parseUserFilter(query);
        if (!user.isOk()) {
          replyError(ctx, api::fromStatus(user.status()));
          return;
        }
        if (user.value() && !ctx->caller->admin && *user.value() != ctx->caller->user) {
          replyError(ctx, api::forbidden("only admins may list other users' sandboxes"));
          return;
        }
        auto result = manager_->list(*ctx->caller, user.value());
        if (!result.isOk()) {
          replyError(ctx, api::fromStatus(result.status()));
          return;
        }
        const size_t items = result.value().size();
        replyText(ctx, 200, api::sandboxListText(result.value()), "application/json");
        if (items >= kTrimAfterListItems) {
          scheduleTrim();
        }
        return;
      }
      case RouteId::GetSandbox:
        replyView(ctx, route, "", manager_->get(*ctx->caller, name));
        return;
      case RouteId::ListOperations: {
        auto operations = manager_->operations(*ctx->caller, name);
        if (!operations.isOk()) {
          replyError(ctx, api::fromStatus(operations.status()));
          return;
        }
        replyJson(ctx, 200, api::operationListToJson(operations.value()));
        return;
      }
      case RouteId::StopSandbox:
        replyView(ctx, route, "stop", manager_->stop(*ctx->caller, name));
        return;
      case RouteId::StartSandbox:
        replyView(ctx, route, "start", manager_->start(*ctx->caller, name));
        return;
      case RouteId::DeleteSandbox: {
        auto purge = api::parsePurge(query);
        if (!purge.isOk()) {
          replyError(ctx, api::fromStatus(purge.status()));
          return;
        }
        replyView(ctx, route, "delete", manager_->remove(*ctx->caller, name, purge.value()));
        return;
      }
      case RouteId::CreateSandbox: {
        auto body = parseBody(ctx);
        if (!body) {
          return;
        }
        auto request = api::parseCreateRequest(*body);
        if (!request.isOk()) {
          replyError(ctx, api::fromStatus(request.status()));
          return;
        }
        if (!request->user.empty() && !ctx->caller->admin &&
            request->user != ctx->caller->user) {
          replyError(ctx,
                     api::forbidden("only admins may create sandboxes for other users"));
          return;
        }
        replyView(ctx, route, "create", manager_->create(*ctx->caller, request.value()));
        return;
      }
      case RouteId::UpdateEnv: {
        auto body = parseBody(ctx);
        if (!body) {
          return;
        }
        auto change = api::parseEnvChange(*body);
        if (!change.isOk()) {
          replyError(ctx, api::fromStatus(change.status()));
          return;
        }
        replyView(ctx, route, "update_env",
                  manager_->updateEnv(*ctx->caller, name, change.value()));
        return;
      }
    }
    replyError(ctx, api::internal("route without a handler"));
  }

  // --- helpers ------------------------------------------------------------------------------

  // Runs one worker step of a request: an exception becomes a 500, and the Kubernetes calls
  // the step makes on this thread count towards the request's kube time.
  template <typename F>
  void guarded(const RequestContextPtr& ctx, F&& f) {
    const WorkerStep outer = tlsStep;
    tlsStep = WorkerStep{ctx.get(), KubeCallMetrics::threadCallTime()};
    try {
      f();
    } catch (const std::exception& e) {
      fail(ctx, e.what());
    } catch (...) {
      fail(ctx, "unknown exception");
    }
    ctx->kubeNanos += (KubeCallMetrics::threadCallTime() - tlsStep.kubeAtStart).count();
    tlsStep = outer;
  }

  // An exception escaped a step: 500 with the request id, details only in the log.
  void fail(const RequestContextPtr& ctx, const std::string& what) {
    spdlog::error("request {} {} {} failed with an exception: {}", ctx->requestId, ctx->method,
                  ctx->routeLabel, what);
    replyError(ctx, api::internal("internal error"));
  }

  std::optional<Caller> authenticate(const RequestContextPtr& ctx) {
    const std::string authorization = header(ctx->request, "Authorization");
    auto caller = authenticator_->authenticate(AuthRequest{authorization});
    if (!caller.isOk()) {
      if (caller.status().kind() != ErrorKind::Unauthenticated) {
        spdlog::error("request {}: token check failed: {}", ctx->requestId,
                      caller.status().toString());
      }
      replyError(ctx, api::fromStatus(caller.status()));
      return std::nullopt;
    }
    return std::move(caller).value();
  }

  std::optional<json> parseBody(const RequestContextPtr& ctx) {
    if (ctx->body.empty()) {
      replyError(ctx, api::malformedJson("request body is empty, expected a JSON object"));
      return std::nullopt;
    }
    std::string error;
    auto parsed = api::parseJsonBody(ctx->body, &error);
    if (!parsed) {
      replyError(ctx, api::malformedJson(error));
      return std::nullopt;
    }
    return parsed;
  }

  void replyView(const RequestContextPtr& ctx, const Route& route, const std::string& operation,
                 const StatusOr<SandboxView>& result) {
    if (!operation.empty()) {
      metrics_.recordLifecycle(operation, result.isOk()
                                              ? "ok"
                                              : api::errorCodeFor(result.status().kind()));
    }
    if (!result.isOk()) {
      if (result.status().kind() == ErrorKind::Internal) {
        spdlog::error("request {} {}: {}", ctx->requestId, route.operationId,
                      result.status().toString());
      }
      replyError(ctx, api::fromStatus(result.status()));
      return;
    }
    replyJson(ctx, route.successStatus, api::sandboxToJson(result.value()));
  }

  void answerOptions(const RequestContextPtr& ctx) {
    RouteMatch m = api::matchRoute(methods::OPTIONS, ctx->rawPath);
    if (m.result == RouteMatch::Result::PathNotFound) {
      replyError(ctx, api::routeNotFound("no route for " + ctx->rawPath));
      return;
    }
    ctx->routeLabel = m.pathTemplate;
    std::string allow;
    for (const auto& method : m.allowedMethods) {
      allow += method + ", ";
    }
    allow += "OPTIONS";
    http_response response(204);
    response.headers().add("Allow", allow);
    const bool preflight =
        ctx->corsHeaders && hasHeader(ctx->request, "Access-Control-Request-Method");
    if (preflight) {
      response.headers().add("Access-Control-Allow-Methods", allow);
      response.headers().add("Access-Control-Allow-Headers",
                             "Authorization, Content-Type, X-Request-Id");
      response.headers().add("Access-Control-Max-Age", "600");
    }
    send(ctx, std::move(response));
  }

  bool isPublicPath(const RouteMatch& m) const {
    if (m.pathTemplate.empty()) {
      return false;
    }
    for (const Route& r : api::routeTable()) {
      if (r.pattern == m.pathTemplate && r.authenticated) {
        return false;
      }
    }
    return true;
  }

  bool originAllowed(const std::string& origin) const {
    for (const auto& o : config_.corsOrigins) {
      if (o == "*" || o == origin) {
        return true;
      }
    }
    return false;
  }

  static bool isJsonContentType(const std::string& contentType) {
    const std::string type =
        lower(std::string(trim(std::string_view(contentType).substr(0, contentType.find(';')))));
    if (type == "application/json") {
      return true;
    }
    // application/merge-patch+json and similar structured-syntax types.
    return type.rfind("application/", 0) == 0 && type.size() > 5 &&
           type.compare(type.size() - 5, 5, "+json") == 0;
  }

  const json& openApi() {
    std::call_once(openApiOnce_, [this] { openApi_ = api::buildOpenApiDocument(); });
    return openApi_;
  }

  std::string renderMetrics() {
    std::map<std::string, int> counts;
    for (Phase p : {Phase::Creating, Phase::Starting, Phase::Running, Phase::Stopping,
                    Phase::Stopped, Phase::Updating, Phase::Deleting, Phase::Terminated,
                    Phase::Error}) {
      counts[toString(p)] = 0;
    }
    bool failed = false;
    try {
      auto all = manager_->list(Caller{"sandboxd-metrics", true}, std::nullopt);
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
    std::string text = metrics_.render(counts, failed);
    if (options_.observability.kubeCalls) {
      text += api::renderKubeCalls(options_.observability.kubeCalls->snapshot(),
                                   options_.observability.kubeCalls->timings());
    }
    if (options_.observability.cache) {
      text += api::renderCacheHealth(options_.observability.cache->health());
    }
    if (options_.observability.reconciler) {
      text += api::renderReconciler(options_.observability.reconciler->stats(),
                                    std::chrono::steady_clock::now());
    }
    return text;
  }

  // Building a large list frees many small blocks; hand the free pages back to the system
  // rather than keep them resident until the next large list. On the timer thread, kTrimDelay
  // later and at most once per kTrimDelay.
  void scheduleTrim() {
    if (trimScheduled_.exchange(true)) {
      return;
    }
    timer_.schedule(Clock::now() + kTrimDelay, [this] {
      trimScheduled_ = false;
      releaseFreedHeap();
    });
  }

  // --- answering ----------------------------------------------------------------------------

  static std::string serverTiming(std::chrono::nanoseconds kube, double totalSeconds) {
    char text[96];
    std::snprintf(text, sizeof(text), "kube;dur=%.3f, total;dur=%.3f",
                  std::chrono::duration<double, std::milli>(kube).count(), totalSeconds * 1000.0);
    return text;
  }

  void replyError(const RequestContextPtr& ctx, const ApiError& error) {
    http_response response(static_cast<web::http::status_code>(error.httpStatus));
    response.set_body(api::errorBody(error, ctx->requestId).dump(-1, ' ', false,
                                                                  json::error_handler_t::replace),
                      "application/json");
    if (error.httpStatus == 401) {
      response.headers().add("WWW-Authenticate", "Bearer");
    }
    if (error.httpStatus == 405 && !ctx->match.allowedMethods.empty()) {
      std::string allow;
      for (const auto& m : ctx->match.allowedMethods) {
        allow += (allow.empty() ? "" : ", ") + m;
      }
      response.headers().add("Allow", allow + ", OPTIONS");
    }
    if (error.httpStatus == 413 || error.httpStatus == 408) {
      response.headers().add("Connection", "close");
    }
    send(ctx, std::move(response));
  }

  void replyJson(const RequestContextPtr& ctx, int status, const json& body) {
    http_response response(static_cast<web::http::status_code>(status));
    response.set_body(body.dump(-1, ' ', false, json::error_handler_t::replace),
                      "application/json");
    send(ctx, std::move(response));
  }

  void replyText(const RequestContextPtr& ctx, int status, std::string body,
                 const std::string& contentType) {
    http_response response(static_cast<web::http::status_code>(status));
    response.set_body(std::move(body), contentType);
    send(ctx, std::move(response));
  }

  // The one place a response leaves: adds the request id and CORS headers, logs, counts, and
  // drains a body nobody read.
  void send(const RequestContextPtr& ctx, http_response response) {
    if (ctx->replied.exchange(true)) {
      return;
    }
    if (draining_) {
      // Keep-alive clients reconnect (to another replica, or to us after a restart).
      response.headers()["Connection"] = "close";
    }
    response.headers().add("X-Request-Id", ctx->requestId);
    response.headers().add("Cache-Control", "no-store");
    if (ctx->corsHeaders) {
      response.headers().add("Access-Control-Allow-Origin", ctx->origin);
      response.headers().add("Access-Control-Expose-Headers", "X-Request-Id");
    }
    if (!config_.corsOrigins.empty()) {
      response.headers().add("Vary", "Origin");
    }
    const bool drain = ctx->bodyDeclared && !ctx->bodyReadStarted.exchange(true);
    if (drain && ctx->contentLength > drainCap_) {
      // Not worth reading: stop the connection instead. A client still sending ends it at
      // once (closed body); one that stopped is completed a moment later (see completeNow).
      response.headers()["Connection"] = "close";
      BodyReader::closeBody(ctx->request);
      timer_.schedule(Clock::now() + kStalledBodyGrace,
                      [request = ctx->request] { BodyReader::completeNow(request); });
    }
    const int status = response.status_code();
    // Count and log before the answer leaves, so a client that has its answer also sees it in
    // /metrics.
    const double seconds =
        std::chrono::duration<double>(Clock::now() - ctx->started).count();
    // How much of that was the Kubernetes API's (W3C Server-Timing; durations in ms): a
    // client's latency minus kube is what sandboxd (and the network to it) added.
    response.headers().add("Server-Timing", serverTiming(kubeTimeOf(*ctx), seconds));
    metrics_.recordRequest(ctx->routeLabel, methodLabel(ctx->method), status, seconds);
    spdlog::info("http {} {} {} {:.1f}ms user={} request_id={}", ctx->method, ctx->routeLabel,
                 status, seconds * 1000.0, ctx->caller ? ctx->caller->user : "-",
                 ctx->requestId);
    try {
      // The request stays in flight until its answer is written.
      ctx->request.reply(response).then([inFlight = std::move(ctx->inFlight)](pplx::task<void> t) {
        try {
          t.get();
        } catch (...) {
        }
      });
    } catch (const std::exception& e) {
      spdlog::debug("request {}: reply failed: {}", ctx->requestId, e.what());
    }
    if (drain && ctx->contentLength <= drainCap_) {
      std::make_shared<BodyReader>(ctx->request, -1, drainCap_, nullptr)
          ->start(timer_, Clock::now() + options_.bodyReadTimeout);
    }
  }

  const ServerConfig config_;
  const api::ApiServerOptions options_;
  const SandboxManagerPtr manager_;
  const AuthenticatorPtr authenticator_;
  api::WorkerPool workers_;
  api::InlineSlots inline_;
  api::DeadlineTimer timer_;
  std::atomic<bool> trimScheduled_{false};
  const int64_t drainCap_;
  api::ApiMetrics metrics_;
  std::atomic<uint64_t> counter_{0};
  std::once_flag openApiOnce_;
  json openApi_;
  std::atomic<bool> draining_{false};
  const std::shared_ptr<api::InFlight> inFlight_ = std::make_shared<api::InFlight>();
};

class ApiServerImpl : public ApiServer {
 public:
  ApiServerImpl(const ServerConfig& config, SandboxManagerPtr manager,
                AuthenticatorPtr authenticator, const api::ApiServerOptions& options)
      : config_(config),
        options_(options),
        core_(std::make_shared<ApiCore>(config, std::move(manager),
                                        std::move(authenticator), options)) {}

  ~ApiServerImpl() override { stop(); }

  // ApiServer
  Status start() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (listener_) {
      return failedPrecondition("API server already started");
    }
    ASSIGN_OR_RETURN(auto hostPort, parseListen(config_.listen));
    auto [host, port] = hostPort;
    if (port == 0) {
      auto free = pickFreePort(host);
      if (!free) {
        return unavailable("cannot find a free port on " + host);
      }
      port = *free;
    }
    const std::string url = "http://" + host + ":" + std::to_string(port) + "/";
    try {
      auto listener = std::make_unique<http_listener>(url);
      std::weak_ptr<ApiCore> weak = core_;
      auto handler = [weak](http_request request) {
        if (auto core = weak.lock()) {
          core->handle(std::move(request));
        } else {
          request.reply(503);
        }
      };
      // OPTIONS and TRACE need their own registration: cpprestsdk answers OPTIONS itself and
      // echoes TRACE (Authorization header included) unless a handler is registered for them.
      listener->support(handler);
      listener->support(methods::OPTIONS, handler);
      listener->support(methods::TRCE, handler);
      listener->open().wait();
      listener_ = std::move(listener);
    } catch (const std::exception& e) {
      return unavailable("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                         e.what());
    }
    port_ = port;
    spdlog::info("API listening on {}:{}", host, port);
    return Status::ok();
  }

  void stop() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (listener_) {
      // cpprestsdk's close() drops open connections, answered or not: let the requests
      // already accepted finish first.
      if (!core_->drain(options_.drainTimeout)) {
        spdlog::warn("{} request(s) still in flight after {} ms; closing anyway",
                     core_->inFlightCount(), options_.drainTimeout.count());
      }
      try {
        listener_->close().wait();
      } catch (const std::exception& e) {
        spdlog::warn("closing the API listener: {}", e.what());
      }
      listener_.reset();
    }
    if (!stopped_) {
      core_->shutdown();
      stopped_ = true;
    }
  }

  int port() const override { return port_; }

 private:
  const ServerConfig config_;
  const api::ApiServerOptions options_;
  std::shared_ptr<ApiCore> core_;
  std::mutex mu_;
  std::unique_ptr<http_listener> listener_;
  bool stopped_ = false;
  int port_ = 0;
};

}  // namespace

ApiServerPtr makeApiServer(const ServerConfig& config, SandboxManagerPtr manager,
                           RegistryPtr registry, ApiObservability observability) {
  api::ApiServerOptions options;
  options.observability = std::move(observability);
  return api::makeApiServerWithOptions(config, std::move(manager), std::move(registry), options);
}

namespace api {

ApiServerPtr makeApiServerWithOptions(const ServerConfig& config, SandboxManagerPtr manager,
                                      RegistryPtr registry, const ApiServerOptions& options) {
  AuthenticatorPtr authenticator = options.authenticator;
  if (!authenticator) {
    authenticator = std::make_shared<BearerTokenAuthenticator>(std::move(registry));
  }
  return std::make_unique<ApiServerImpl>(config, std::move(manager), std::move(authenticator),
                                         options);
}

}  // namespace api

}  // namespace sandboxd
