#include "api/event_streams.h"

#include <atomic>
#include <utility>
#include <vector>

#include <cpprest/producerconsumerstream.h>
#include <spdlog/spdlog.h>

#include "api/errors.h"
#include "api/sse_format.h"

namespace sandboxd::api {

namespace {

// cpprestsdk's producer/consumer buffer, written without tasks. Its public putn/sync/close
// return tasks whose continuations run on cpprestsdk's thread pool; waiting for them from a
// thread of that pool (a request's handler, an answer's continuation) can take every thread of
// the pool and stop the server. The protected calls used here are synchronous.
class EventBuffer : public concurrency::streams::details::basic_producer_consumer_buffer<uint8_t> {
 public:
  EventBuffer() : basic_producer_consumer_buffer(4096) {}
  // Appends `text` and hands it to a waiting read at once; false when closed for writing.
  bool append(const std::string& text) {
    if (!can_write()) {
      return false;
    }
    _putn(reinterpret_cast<const uint8_t*>(text.data()), text.size());
    _sync();
    return true;
  }
  // The reader sees the end once it has read what is left.
  void end() {
    if (can_write()) {
      (void)close(std::ios_base::out);  // done on return; the task only keeps `this` alive
    }
  }
};

}  // namespace

class EventStreams::Stream {
 public:
  Stream(uint64_t id, std::string user, int64_t cap)
      : id_(id), user_(std::move(user)), cap_(cap), buf_(std::make_shared<EventBuffer>()) {}

  uint64_t id() const { return id_; }
  const std::string& user() const { return user_; }
  concurrency::streams::istream body() {
    return concurrency::streams::istream(concurrency::streams::streambuf<uint8_t>(buf_));
  }

  // The start of the stream (written before the answer leaves): not held to the cap, which
  // counts from its end.
  void endOfStart() {
    std::lock_guard<std::mutex> lock(mu_);
    startBytes_ = static_cast<int64_t>(buf_->in_avail());
  }
  // Writes `text`; false when the stream is closed, or was over its unsent-bytes cap and is
  // now closed with a reset.
  bool write(const std::string& text, bool capped = true) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      return false;
    }
    if (capped && static_cast<int64_t>(buf_->in_avail()) > cap_ + startBytes_) {
      spdlog::info("event stream of {} is too far behind: reset and closed", user_);
      put(formatSseEvent("reset", "", "{\"reason\":\"behind\"}"));
      closeLocked();
      return false;
    }
    put(text);
    return true;
  }
  void close() {
    std::lock_guard<std::mutex> lock(mu_);
    closeLocked();
  }

  std::atomic<uint64_t> subscription{0};  // set once subscribed (0: none)

 private:
  void put(const std::string& text) { buf_->append(text); }
  void closeLocked() {
    if (!closed_) {
      closed_ = true;
      buf_->end();
    }
  }

  const uint64_t id_;
  const std::string user_;
  const int64_t cap_;
  std::mutex mu_;
  bool closed_ = false;
  int64_t startBytes_ = 0;
  const std::shared_ptr<EventBuffer> buf_;
};

EventStreams::EventStreams(SandboxEventHubPtr hub, const EventStreamConfig& config,
                           Responder& responder)
    : hub_(std::move(hub)), config_(config), responder_(responder) {
  heartbeat_ = std::thread([this] { heartbeatLoop(); });
}

EventStreams::~EventStreams() {
  closeAll();
  if (heartbeat_.joinable()) {
    heartbeat_.join();
  }
}

void EventStreams::open(const RequestContextPtr& ctx, const EventScope& scope,
                        const std::string& lastEventId) {
  const std::string& user = ctx->caller->user;
  std::shared_ptr<Stream> stream;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_ || !hub_) {
      responder_.replyError(ctx, serviceUnavailable(closing_ ? "the server is shutting down"
                                                             : "event streams are not enabled"));
      return;
    }
    if (static_cast<int>(streams_.size()) >= config_.maxStreams) {
      responder_.replyError(ctx, throttled("too many event streams are open, retry later"));
      return;
    }
    int& mine = perUser_[user];
    if (mine >= config_.maxStreamsPerUser) {
      responder_.replyError(ctx, throttled("at most " + std::to_string(config_.maxStreamsPerUser) +
                                           " event streams per user; close one first"));
      return;
    }
    ++mine;
    stream = std::make_shared<Stream>(nextId_++, user, config_.queueBytes);
    streams_.emplace(stream->id(), stream);
  }
  std::weak_ptr<Stream> weak = stream;
  auto subscription = hub_->subscribe(scope, lastEventId, [weak](const SandboxEventPtr& event) {
    auto s = weak.lock();
    return s && s->write(formatSseEvent(*event));
  });
  stream->endOfStart();
  if (subscription) {
    stream->subscription = *subscription;
  } else {
    stream->close();
  }
  web::http::http_response response(web::http::status_codes::OK);
  response.set_body(stream->body(), "text/event-stream; charset=utf-8");
  response.headers().add("X-Accel-Buffering", "no");  // proxies: pass events on at once
  std::weak_ptr<EventStreams> self = weak_from_this();
  responder_.send(ctx, std::move(response), [self, stream] {
    if (auto streams = self.lock()) {
      streams->finished(stream);
    } else {
      stream->close();
    }
  });
}

void EventStreams::finished(const std::shared_ptr<Stream>& stream) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (streams_.erase(stream->id()) == 0) {
      return;
    }
    auto it = perUser_.find(stream->user());
    if (it != perUser_.end() && --it->second <= 0) {
      perUser_.erase(it);
    }
  }
  if (stream->subscription != 0) {
    hub_->unsubscribe(stream->subscription);
  }
  stream->close();
}

void EventStreams::closeAll() {
  std::vector<std::shared_ptr<Stream>> open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
    for (const auto& entry : streams_) {
      open.push_back(entry.second);
    }
  }
  wake_.notify_all();
  for (const auto& stream : open) {
    if (stream->subscription != 0 && hub_) {
      hub_->unsubscribe(stream->subscription);
    }
    stream->close();  // the answer ends; finished() forgets it
  }
}

size_t EventStreams::openCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_.size();
}

void EventStreams::heartbeatLoop() {
  const std::string comment = formatSseComment("keep-alive");
  std::unique_lock<std::mutex> lock(mu_);
  while (!closing_) {
    wake_.wait_for(lock, std::chrono::milliseconds(config_.heartbeatMs),
                   [this] { return closing_; });
    if (closing_) {
      break;
    }
    std::vector<std::shared_ptr<Stream>> open;
    open.reserve(streams_.size());
    for (const auto& entry : streams_) {
      open.push_back(entry.second);
    }
    lock.unlock();
    for (const auto& stream : open) {
      stream->write(comment);
    }
    lock.lock();
  }
}

}  // namespace sandboxd::api
