#include "api/bounded_stream.h"

#include <utility>

#include "sandboxd/service/sse_format.h"

namespace sandboxd::api {

BoundedStream::BoundedStream(std::shared_ptr<StreamSink> sink, int64_t capBytes,
                             std::atomic<uint64_t>* resets)
    : sink_(std::move(sink)), cap_(capBytes), resets_(resets) {}

void BoundedStream::endOfStart() {
  std::lock_guard<std::mutex> lock(mu_);
  started_ = true;
  startBytes_ = static_cast<int64_t>(sink_->unsent());
}

bool BoundedStream::write(const std::string& text, bool capped) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) {
    return false;
  }
  if (capped && started_ && static_cast<int64_t>(sink_->unsent()) > cap_ + startBytes_) {
    static const std::string reset = formatSseEvent("reset", "", "{\"reason\":\"behind\"}");
    sink_->put(reset);
    closeLocked();
    if (resets_ != nullptr) {
      ++*resets_;
    }
    return false;
  }
  sink_->put(text);
  return true;
}

void BoundedStream::close() {
  std::lock_guard<std::mutex> lock(mu_);
  closeLocked();
}

bool BoundedStream::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

void BoundedStream::closeLocked() {
  if (!closed_) {
    closed_ = true;
    sink_->end();
  }
}

}  // namespace sandboxd::api
