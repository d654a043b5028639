#include "kube/rest/watch_stream.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cpprest/containerstream.h>
#include <optional>
#include <vector>

#include "kube/cache/field_mask_parse.h"
#include "kube/rest/http_error.h"

namespace sandboxd::rest {
namespace {

constexpr std::chrono::seconds kWatchTimeoutMargin{30};
constexpr std::chrono::seconds kWatchDefaultIdle{3600};

}  // namespace

Status watchStream(HttpTransport& transport, const ResourceType& type, const std::string& ns,
                   const WatchOptions& options, const WatchCallback& onEvent,
                   WatchCancellation* cancel) {
  Query q;
  q.add("watch", "1");
  if (!options.labelSelector.empty()) {
    q.add("labelSelector", options.labelSelector);
  }
  if (!options.fieldSelector.empty()) {
    q.add("fieldSelector", options.fieldSelector);
  }
  if (!options.resourceVersion.empty()) {
    q.add("resourceVersion", options.resourceVersion);
  }
  if (options.allowWatchBookmarks) {
    q.add("allowWatchBookmarks", "true");
  }
  if (options.timeoutSeconds > 0) {
    q.add("timeoutSeconds", std::to_string(options.timeoutSeconds));
  }
  const std::string path = resourcePath(type, ns);
  const std::string what = "watch " + path;
  const std::string& server = transport.server();

  auto token = transport.tokens().current();
  if (!token.isOk()) {
    return unauthenticated(token.status().message());
  }
  pplx::cancellation_token_source cts;
  WatchCancellationSubscription subscription(cancel, [cts]() mutable { cts.cancel(); });
  // Leaving early (an ERROR event, a bad line) closes the connection still streaming.
  struct CloseOnExit {
    pplx::cancellation_token_source cts;
    ~CloseOnExit() { cts.cancel(); }
  } closeOnExit{cts};
  if (cancel != nullptr && cancel->cancelled()) {
    return Status::ok();
  }
  const std::chrono::seconds idle =
      options.timeoutSeconds > 0
          ? std::chrono::seconds(options.timeoutSeconds) + kWatchTimeoutMargin
          : kWatchDefaultIdle;
  http::client::http_client_config config = transport.streamConfig(idle);
  int events = 0;
  try {
    http::client::http_client client(web::uri(server), config);
    http::http_request request =
        HttpTransport::newRequest(http::methods::GET, path + q.str(), *token);
    http::http_response response = client.request(request, cts.get_token()).get();
    const int code = response.status_code();
    if (code != 200) {
      std::string body;
      try {
        body = response.extract_utf8string(true).get();
      } catch (const std::exception&) {
        // The status code alone is enough.
      }
      if (code == 401 && transport.tokens().usesFile()) {
        transport.tokens().invalidate();  // the next attempt re-reads a rotated token
      }
      return mapHttpError(code, body, "GET " + path + " (watch)");
    }
    // One line per event. The body is read a whole arrival at a time (wait for one byte,
    // then take everything already buffered): cpprestsdk's read_line runs a task per byte,
    // which cost more CPU than everything else sandboxd does for a lifecycle operation.
    using BodyBuffer = concurrency::streams::streambuf<uint8_t>;
    BodyBuffer body = response.body().streambuf();
    std::string pending;
    size_t scanned = 0;  // pending[0, scanned) holds no newline
    std::vector<uint8_t> chunk(64 * 1024);
    // The event in `text`: nullopt to go on, or what watch() returns now.
    const auto handleLine = [&](const std::string& text) -> std::optional<Status> {
      json parsed = options.objectFields != nullptr
                        ? parseWatchEventKeeping(text, *options.objectFields)
                        : json::parse(text, nullptr, /*allow_exceptions=*/false);
      WatchEvent event;
      if (!parsed.is_object() || !parsed.contains("type") || !parsed["type"].is_string() ||
          !parseWatchEventType(parsed["type"].get<std::string>(), &event.type) ||
          !parsed.contains("object") || !parsed["object"].is_object()) {
        return internalError(what + ": the API server sent a line that is not a watch event: " +
                             truncated(text, 200));
      }
      event.object = std::move(parsed["object"]);
      ++events;
      onEvent(event);
      if (event.type == WatchEventType::Error) {
        const json& st = event.object;
        const int errorCode =
            st.contains("code") && st["code"].is_number_integer() ? st["code"].get<int>() : 500;
        return mapHttpError(errorCode, st.dump(), what);
      }
      if (cancel != nullptr && cancel->cancelled()) {
        return Status::ok();
      }
      return std::nullopt;
    };
    while (true) {
      const BodyBuffer::int_type first = body.bumpc().get();
      const bool ended = first == BodyBuffer::traits::eof();
      if (!ended) {
        pending.push_back(static_cast<char>(first));
        for (size_t avail = body.in_avail(); avail > 0; avail = body.in_avail()) {
          // At most what is buffered: completes at once.
          const size_t n = body.getn(chunk.data(), std::min(avail, chunk.size())).get();
          if (n == 0) {
            break;
          }
          pending.append(reinterpret_cast<const char*>(chunk.data()), n);
        }
      }
      size_t start = 0;
      for (size_t nl = pending.find('\n', scanned); nl != std::string::npos;
           nl = pending.find('\n', start)) {
        const std::string text = pending.substr(start, nl - start);
        start = nl + 1;
        if (text.empty() || text == "\r") {
          continue;
        }
        if (auto done = handleLine(text)) {
          return *done;
        }
      }
      pending.erase(0, start);
      scanned = pending.size();
      if (ended) {
        if (!pending.empty()) {  // a last line without its newline
          if (auto done = handleLine(pending)) {
            return *done;
          }
        }
        break;
      }
    }
    spdlog::debug("kube: {} ended after {} events", what, events);
    return Status::ok();
  } catch (const std::exception& e) {
    if (cancel != nullptr && cancel->cancelled()) {
      return Status::ok();
    }
    if (const auto* he = dynamic_cast<const http::http_exception*>(&e)) {
      Attempt a;
      transport.classifyTransportError(*he, a);
      if (a.outcome == Attempt::Outcome::TlsVerifyFailed) {
        return transport.certificateRefused(a.error);
      }
      return unavailable(what + " on " + server + ": " + (a.timedOut ? "timed out: " : "") +
                         a.error + " (after " + std::to_string(events) + " events)");
    }
    return unavailable(what + " on " + server + ": " + e.what() + " (after " +
                       std::to_string(events) + " events)");
  }
}

}  // namespace sandboxd::rest
