#include "api/transport.h"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "api/body_reader.h"
#include "api/errors.h"
#include "api/request_headers.h"
#include "api/router.h"
#include "sandboxd/common/random_generator.h"

namespace sandboxd::api {
namespace {

using web::http::http_request;
using web::http::methods;
using Clock = std::chrono::steady_clock;

bool isJsonContentType(const std::string& contentType) {
  const std::string type =
      lower(std::string(trim(std::string_view(contentType).substr(0, contentType.find(';')))));
  if (type == "application/json") {
    return true;
  }
  // application/merge-patch+json and similar structured-syntax types.
  return type.rfind("application/", 0) == 0 && type.size() > 5 &&
         type.compare(type.size() - 5, 5, "+json") == 0;
}

bool isFormContentType(const std::string& contentType) {
  return lower(std::string(trim(std::string_view(contentType).substr(
             0, contentType.find(';'))))) == "application/x-www-form-urlencoded";
}

}  // namespace

Transport::Transport(const ServerConfig& config, SandboxManagerPtr manager,
                     RegistryPtr registry, AuthenticatorPtr authenticator,
                     const ApiServerOptions& options)
    : config_(config),
      options_(options),
      manager_(std::move(manager)),
      tickets_(std::make_shared<StreamTickets>(
          std::chrono::milliseconds(config.events.ticketTtlMs),
          std::make_shared<RealTimeSource>(), std::make_shared<RandomGeneratorImpl>())),
      authenticator_(
          std::make_shared<StreamTicketAuthenticator>(std::move(authenticator), tickets_)),
      time_(options.time ? options.time : std::make_shared<RealTimeSource>()),
      limiter_(config.rateLimit),
      cors_(config.corsOrigins),
      drainCap_(std::max<int64_t>(config.maxBodyBytes * 4, 16 << 20)),
      responder_(cors_, metrics_, timer_, drainCap_, options.bodyReadTimeout),
      routes_(manager_, std::move(registry), options.forwardAuth, responder_, metrics_, timer_,
              options.observability),
      streams_(std::make_shared<EventStreams>(options.events, config.events, responder_)),
      workers_(std::max(2, config.threads), options.maxQueuedRequests),
      inline_(ioThreadsFor(config, std::thread::hardware_concurrency()) - 1) {
  routes_.setEventStreams(options.events ? streams_ : nullptr, tickets_);
  routes_.setSnapshots(options.snapshots);
}

void Transport::shutdown() {
  streams_->closeAll();
  workers_.shutdown();
  timer_.shutdown();
}

bool Transport::drain(std::chrono::milliseconds timeout) {
  responder_.startDraining();
  streams_->closeAll();  // each stream's answer ends: it no longer counts as in flight
  return inFlight_->waitIdle(timeout);
}

void Transport::handle(http_request request) {
  auto ctx = std::make_shared<RequestContext>();
  ctx->started = Clock::now();
  ctx->request = request;
  ctx->inFlight = inFlight_->enter();
  try {
    ctx->requestId = fastUuid();
  } catch (...) {
    ctx->requestId = "req-" + std::to_string(++counter_);
  }
  if (responder_.draining()) {
    responder_.replyError(ctx, serviceUnavailable("the server is shutting down"));
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

template <typename F>
void Transport::guarded(const RequestContextPtr& ctx, F&& f) {
  WorkerStepScope step(*ctx);
  try {
    f();
  } catch (const std::exception& e) {
    fail(ctx, e.what());
  } catch (...) {
    fail(ctx, "unknown exception");
  }
}

// --- steps ----------------------------------------------------------------------------------

void Transport::begin(const RequestContextPtr& ctx) {
  http_request& req = ctx->request;
  ctx->method = req.method();
  ctx->rawPath = req.request_uri().path();
  ctx->rawQuery = req.request_uri().query();

  // CORS: only configured origins get headers.
  ctx->origin = cors_.allowedOrigin(req);

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
      responder_.replyError(ctx, badRequest("invalid Content-Length header"));
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
    responder_.replyError(ctx, headersTooLarge("request headers exceed " +
                                               std::to_string(config_.maxHeaderBytes) +
                                               " bytes"));
    return;
  }

  if (ctx->method == methods::OPTIONS) {
    answerOptions(ctx);
    return;
  }

  ctx->match = matchRoute(ctx->method, ctx->rawPath);
  if (!ctx->match.pathTemplate.empty()) {
    ctx->routeLabel = ctx->match.pathTemplate;
  }
  auto self = shared_from_this();
  if (!runOrSubmit([self, ctx] { self->guarded(ctx, [&] { self->authorizeAndRoute(ctx); }); })) {
    responder_.replyError(ctx, throttled("server busy, retry later"));
  }
}

bool Transport::runOrSubmit(std::function<void()> task) {
  if (inline_.tryAcquire()) {
    struct Release {
      InlineSlots& slots;
      ~Release() { slots.release(); }
    } release{inline_};
    task();
    return true;
  }
  return workers_.submit(std::move(task));
}

void Transport::authorizeAndRoute(const RequestContextPtr& ctx) {
  const bool needsAuth = !isPublicPath(ctx->match);
  if (needsAuth) {
    auto caller = authenticate(ctx);
    if (!caller) {
      return;  // answered
    }
    ctx->caller = *caller;
    if (limiter_.enabled()) {
      if (auto wait = limiter_.acquire(caller->user, caller->admin, time_->monotonicTime())) {
        ApiError error = throttled("request rate limit of user " + caller->user +
                                   " exceeded, retry after " + std::to_string(wait->count()) +
                                   " s");
        error.retryAfterSeconds = static_cast<int>(wait->count());
        responder_.replyError(ctx, error);
        return;
      }
    }
  }

  switch (ctx->match.result) {
    case RouteMatch::Result::PathNotFound:
      responder_.replyError(ctx,
                            routeNotFound("no route for " + ctx->method + " " + ctx->rawPath));
      return;
    case RouteMatch::Result::MethodNotAllowed:
      responder_.replyError(ctx, methodNotAllowed("method " + ctx->method +
                                                  " is not allowed on " +
                                                  ctx->match.pathTemplate));
      return;
    case RouteMatch::Result::Found:
      break;
  }
  const Route& route = *ctx->match.route;
  if (route.adminOnly && !(ctx->caller && ctx->caller->admin)) {
    responder_.replyError(ctx, forbidden(route.operationId + " needs an admin token"));
    return;
  }

  // A {name} route that carries a body: an unknown sandbox is a 404 before anything about
  // the body is looked at (check order 404 → 413/415 → 400/422).
  auto name = ctx->match.params.find("name");
  if (ctx->bodyDeclared && name != ctx->match.params.end() && ctx->caller) {
    auto existing = manager_->get(*ctx->caller, name->second);
    if (!existing.isOk() && existing.status().kind() == ErrorKind::NotFound) {
      responder_.replyError(ctx, fromStatus(existing.status()));
      return;
    }
  }

  if (ctx->contentLength > config_.maxBodyBytes) {
    responder_.replyError(ctx, payloadTooLarge("request body exceeds " +
                                               std::to_string(config_.maxBodyBytes) +
                                               " bytes"));
    return;
  }
  if (ctx->bodyDeclared && (ctx->method == methods::POST || ctx->method == methods::PATCH ||
                            ctx->method == methods::PUT)) {
    if (route.formBody) {
      if (!isFormContentType(header(ctx->request, "Content-Type"))) {
        responder_.replyError(ctx, unsupportedMediaType(
                                       "request body must be application/x-www-form-urlencoded"));
        return;
      }
    } else if (!isJsonContentType(header(ctx->request, "Content-Type"))) {
      responder_.replyError(ctx,
                            unsupportedMediaType("request body must be application/json"));
      return;
    }
  }

  if (!ctx->bodyDeclared) {
    routes_.dispatch(ctx, route);
    return;
  }
  readBodyThenDispatch(ctx, route);
}

std::optional<Caller> Transport::authenticate(const RequestContextPtr& ctx) {
  const std::string authorization = header(ctx->request, "Authorization");
  // Only event streams take a ticket (never another route: a ticket opens one stream).
  std::string ticket;
  if (ctx->match.route != nullptr && (ctx->match.route->id == RouteId::Events ||
                                      ctx->match.route->id == RouteId::SandboxEvents)) {
    for (const auto& [key, value] : parseQuery(ctx->rawQuery)) {
      if (key == "ticket") {
        ticket = value;
      }
    }
  }
  auto caller = authenticator_->authenticate(AuthRequest{authorization, ticket});
  if (!caller.isOk()) {
    if (caller.status().kind() != ErrorKind::Unauthenticated) {
      spdlog::error("request {}: token check failed: {}", ctx->requestId,
                    caller.status().toString());
    }
    responder_.replyError(ctx, fromStatus(caller.status()));
    return std::nullopt;
  }
  return std::move(caller).value();
}

void Transport::readBodyThenDispatch(const RequestContextPtr& ctx, const Route& route) {
  // Continues with runOrSubmit once the body is in.
  ctx->bodyReadStarted = true;
  auto self = shared_from_this();
  const Route* routePtr = &route;
  auto reader = std::make_shared<BodyReader>(
      ctx->request, config_.maxBodyBytes, drainCap_,
      [self, ctx, routePtr](BodyReader::Outcome outcome, std::string body) {
        switch (outcome) {
          case BodyReader::Outcome::TooLarge:
            self->responder_.replyError(
                ctx, payloadTooLarge("request body exceeds " +
                                     std::to_string(self->config_.maxBodyBytes) + " bytes"));
            return;
          case BodyReader::Outcome::TimedOut:
            self->responder_.replyError(ctx,
                                        requestTimeout("request body not received in time"));
            return;
          case BodyReader::Outcome::Failed:
            self->responder_.replyError(ctx, badRequest("could not read the request body"));
            return;
          case BodyReader::Outcome::Complete:
            break;
        }
        ctx->body = std::move(body);
        if (!self->runOrSubmit([self, ctx, routePtr] {
              self->guarded(ctx, [&] { self->routes_.dispatch(ctx, *routePtr); });
            })) {
          self->responder_.replyError(ctx, throttled("server busy, retry later"));
        }
      });
  reader->start(timer_, ctx->started + options_.bodyReadTimeout);
}

void Transport::answerOptions(const RequestContextPtr& ctx) {
  RouteMatch m = matchRoute(methods::OPTIONS, ctx->rawPath);
  if (m.result == RouteMatch::Result::PathNotFound) {
    responder_.replyError(ctx, routeNotFound("no route for " + ctx->rawPath));
    return;
  }
  ctx->routeLabel = m.pathTemplate;
  responder_.send(ctx, cors_.optionsAnswer(ctx->request, ctx->origin, m.allowedMethods));
}

bool Transport::isPublicPath(const RouteMatch& m) const {
  if (m.pathTemplate.empty()) {
    return false;
  }
  for (const Route& r : routeTable()) {
    if (r.pattern == m.pathTemplate && r.authenticated) {
      return false;
    }
  }
  return true;
}

// --- helpers --------------------------------------------------------------------------------

void Transport::fail(const RequestContextPtr& ctx, const std::string& what) {
  spdlog::error("request {} {} {} failed with an exception: {}", ctx->requestId, ctx->method,
                ctx->routeLabel, what);
  responder_.replyError(ctx, internal("internal error"));
}

}  // namespace sandboxd::api
