#include "api/responder.h"

#include <cstdio>
#include <memory>
#include <utility>

#include <spdlog/spdlog.h>

#include "api/body_reader.h"

namespace sandboxd::api {
namespace {

using web::http::http_response;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

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

std::string serverTiming(std::chrono::nanoseconds kube, double totalSeconds) {
  char text[96];
  std::snprintf(text, sizeof(text), "kube;dur=%.3f, total;dur=%.3f",
                std::chrono::duration<double, std::milli>(kube).count(), totalSeconds * 1000.0);
  return text;
}

}  // namespace

void Responder::replyError(const RequestContextPtr& ctx, const ApiError& error) {
  http_response response(static_cast<web::http::status_code>(error.httpStatus));
  response.set_body(
      errorBody(error, ctx->requestId).dump(-1, ' ', false, json::error_handler_t::replace),
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
  if (error.retryAfterSeconds > 0) {
    response.headers().add("Retry-After", std::to_string(error.retryAfterSeconds));
  }
  if (error.httpStatus == 413 || error.httpStatus == 408) {
    response.headers().add("Connection", "close");
  }
  send(ctx, std::move(response));
}

void Responder::replyJson(const RequestContextPtr& ctx, int status, const json& body) {
  http_response response(static_cast<web::http::status_code>(status));
  response.set_body(body.dump(-1, ' ', false, json::error_handler_t::replace),
                    "application/json");
  send(ctx, std::move(response));
}

void Responder::replyText(const RequestContextPtr& ctx, int status, std::string body,
                          const std::string& contentType) {
  http_response response(static_cast<web::http::status_code>(status));
  response.set_body(std::move(body), contentType);
  send(ctx, std::move(response));
}

void Responder::replyEmpty(const RequestContextPtr& ctx, int status) {
  send(ctx, http_response(static_cast<web::http::status_code>(status)));
}

void Responder::send(const RequestContextPtr& ctx, http_response response,
                     std::function<void()> onWritten) {
  if (ctx->replied.exchange(true)) {
    if (onWritten) {
      onWritten();
    }
    return;
  }
  if (draining_) {
    // Keep-alive clients reconnect (to another replica, or to us after a restart).
    response.headers()["Connection"] = "close";
  }
  response.headers().add("X-Request-Id", ctx->requestId);
  response.headers().add("Cache-Control", "no-store");
  cors_.addResponseHeaders(response.headers(), ctx->origin);
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
  const double seconds = std::chrono::duration<double>(Clock::now() - ctx->started).count();
  // How much of that was the Kubernetes API's (W3C Server-Timing; durations in ms): a
  // client's latency minus kube is what sandboxd (and the network to it) added.
  response.headers().add("Server-Timing", serverTiming(kubeTimeOf(*ctx), seconds));
  metrics_.recordRequest(ctx->routeLabel, methodLabel(ctx->method), status, seconds);
  spdlog::info("http {} {} {} {:.1f}ms user={} request_id={}", ctx->method, ctx->routeLabel,
               status, seconds * 1000.0, ctx->caller ? ctx->caller->user : "-",
               ctx->requestId);
  try {
    // The request stays in flight until its answer is written.
    ctx->request.reply(response).then([inFlight = std::move(ctx->inFlight),
                                       onWritten](pplx::task<void> t) {
      try {
        t.get();
      } catch (...) {
      }
      if (onWritten) {
        onWritten();
      }
    });
  } catch (const std::exception& e) {
    spdlog::debug("request {}: reply failed: {}", ctx->requestId, e.what());
    if (onWritten) {
      onWritten();
    }
  }
  if (drain && ctx->contentLength <= drainCap_) {
    std::make_shared<BodyReader>(ctx->request, -1, drainCap_, nullptr)
        ->start(timer_, Clock::now() + bodyReadTimeout_);
  }
}

}  // namespace sandboxd::api
