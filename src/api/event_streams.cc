#include "api/event_streams.h"

#include <atomic>
#include <utility>
#include <vector>

#include <cpprest/producerconsumerstream.h>
#include <spdlog/spdlog.h>

#include "api/errors.h"
#include "sandboxd/service/sse_format.h"

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

// The answer's body as a BoundedStream's sink.
class BodySink : public StreamSink {
 public:
  explicit BodySink(std::shared_ptr<EventBuffer> buf) : buf_(std::move(buf)) {}
  size_t unsent() const override { return buf_->in_avail(); }
  void put(const std::string& text) override { buf_->append(text); }
  void end() override { buf_->end(); }

 private:
  const std::shared_ptr<EventBuffer> buf_;
};

}  // namespace

class EventStreams::Stream {
 public:
  Stream(uint64_t id, std::string user, int64_t cap, std::atomic<uint64_t>* resets)
      : id_(id),
        user_(std::move(user)),
        buf_(std::make_shared<EventBuffer>()),
        out_(std::make_shared<BodySink>(buf_), cap, resets) {}

  uint64_t id() const { return id_; }
  const std::string& user() const { return user_; }
  concurrency::streams::istream body() {
    return concurrency::streams::istream(concurrency::streams::streambuf<uint8_t>(buf_));
  }
  BoundedStream& out() { return out_; }

  std::atomic<uint64_t> subscription{0};  // set once subscribed (0: none)

 private:
  const uint64_t id_;
  const std::string user_;
  const std::shared_ptr<EventBuffer> buf_;
  BoundedStream out_;
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
      ++stats_.refused;
      responder_.replyError(ctx, throttled("too many event streams are open, retry later"));
      return;
    }
    int& mine = perUser_[user];
    if (mine >= config_.maxStreamsPerUser) {
      ++stats_.refused;
      if (mine == 0) {
        perUser_.erase(user);
      }
      responder_.replyError(ctx, throttled("at most " + std::to_string(config_.maxStreamsPerUser) +
                                           " event streams per user; close one first"));
      return;
    }
    ++mine;
    stream = std::make_shared<Stream>(nextId_++, user, config_.queueBytes, &stats_.resets);
    streams_.emplace(stream->id(), stream);
  }
  std::weak_ptr<Stream> weak = stream;
  auto subscription =
      hub_->subscribe(scope, lastEventId, [weak](const SandboxEventPtr& event) {
        auto s = weak.lock();
        return s && s->out().write(*event->wire);  // the text formatted once, for every stream
      });
  if (!subscription.isOk()) {
    finished(stream);
    responder_.replyError(ctx, fromStatus(subscription.status()));
    return;
  }
  stream->out().endOfStart();
  if (*subscription) {
    stream->subscription = **subscription;
  } else {
    stream->out().close();
  }
  ++stats_.opened;
  web::http::http_response response(web::http::status_codes::OK);
  response.set_body(stream->body(), "text/event-stream; charset=utf-8");
  response.headers().add("X-Accel-Buffering", "no");  // proxies: pass events on at once
  std::weak_ptr<EventStreams> self = weak_from_this();
  responder_.send(ctx, std::move(response), [self, stream] {
    if (auto streams = self.lock()) {
      streams->finished(stream);
    } else {
      stream->out().close();
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
  stream->out().close();
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
    stream->out().close();  // the answer ends; finished() forgets it
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
      stream->out().write(comment);
    }
    lock.lock();
  }
}

}  // namespace sandboxd::api
