#include "api/body_reader.h"

#include <exception>
#include <stdexcept>
#include <utility>

namespace sandboxd::api {
namespace {

constexpr size_t kReadChunk = 16 * 1024;

}  // namespace

BodyReader::BodyReader(web::http::http_request request, int64_t limit, int64_t drainCap,
                       Done done)
    : request_(std::move(request)),
      buffer_(request_.body().streambuf()),
      limit_(limit),
      drainCap_(drainCap),
      chunk_(kReadChunk),
      done_(std::move(done)) {}

void BodyReader::start(DeadlineTimer& timer, DeadlineTimer::Clock::time_point deadline) {
  std::weak_ptr<BodyReader> weak = shared_from_this();
  timer.schedule(deadline, [weak] {
    if (auto self = weak.lock()) {
      self->onTimeout();
    }
  });
  readNext();
}

void BodyReader::closeBody(const web::http::http_request& request) {
  auto eptr = std::make_exception_ptr(std::runtime_error("request body discarded"));
  try {
    request.body().streambuf().close(std::ios_base::in | std::ios_base::out, eptr);
  } catch (...) {
  }
}

void BodyReader::completeNow(const web::http::http_request& request) {
  auto eptr = std::make_exception_ptr(std::runtime_error("request body discarded"));
  try {
    request._get_impl()->_complete(0, eptr);
  } catch (...) {
  }
}

void BodyReader::abort(const web::http::http_request& request) {
  closeBody(request);
  completeNow(request);
}

void BodyReader::readNext() {
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

void BodyReader::onData(size_t n) {
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

void BodyReader::onTimeout() { finish(Outcome::TimedOut, Stop::Abort); }

void BodyReader::finish(Outcome outcome, Stop stop) {
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

}  // namespace sandboxd::api
