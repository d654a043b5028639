// Responder: the one place an answer leaves the server. Every answer gets X-Request-Id,
// Cache-Control, the CORS headers (cors.h) and Server-Timing, "Connection: close" while the
// server drains, is counted in the metrics and written to the access log; a request body nobody
// read is drained (or the connection cut off) so that cpprestsdk can send the answer.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <cpprest/http_msg.h>
#include <nlohmann/json.hpp>

#include "api/cors.h"
#include "api/deadline_timer.h"
#include "api/errors.h"
#include "api/metrics.h"
#include "api/request_context.h"

namespace sandboxd::api {

class Responder {
 public:
  // `drainCap`: an unread body declared larger than this is not drained; the connection is
  // closed instead. `bodyReadTimeout`: how long an unread body is drained.
  Responder(const Cors& cors, ApiMetrics& metrics, DeadlineTimer& timer, int64_t drainCap,
            std::chrono::milliseconds bodyReadTimeout)
      : cors_(cors),
        metrics_(metrics),
        timer_(timer),
        drainCap_(drainCap),
        bodyReadTimeout_(bodyReadTimeout) {}

  // The error envelope (errors.h) with `error`'s status; WWW-Authenticate on 401, Allow on
  // 405, "Connection: close" on 413 and 408, Retry-After when the error sets it.
  void replyError(const RequestContextPtr& ctx, const ApiError& error);
  void replyJson(const RequestContextPtr& ctx, int status, const nlohmann::json& body);
  void replyText(const RequestContextPtr& ctx, int status, std::string body,
                 const std::string& contentType);
  // A status without a body (204).
  void replyEmpty(const RequestContextPtr& ctx, int status);
  // Sends `response` as it is, plus the headers every answer carries. Only the first answer to
  // a request is sent; later ones are dropped. `onWritten` (if set) runs once the answer is
  // written or its writing failed (for a streamed body: the stream ended, or the client went
  // away and a write to it failed).
  void send(const RequestContextPtr& ctx, web::http::http_response response,
            std::function<void()> onWritten = nullptr);

  // From now on every answer carries "Connection: close": keep-alive clients reconnect (to
  // another replica, or to us after a restart).
  void startDraining() { draining_ = true; }
  bool draining() const { return draining_; }

 private:
  const Cors& cors_;
  ApiMetrics& metrics_;
  DeadlineTimer& timer_;
  const int64_t drainCap_;
  const std::chrono::milliseconds bodyReadTimeout_;
  std::atomic<bool> draining_{false};
};

}  // namespace sandboxd::api
