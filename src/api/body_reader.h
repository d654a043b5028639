// BodyReader: reads a request body with a byte count and a deadline (cpprestsdk's listener
// enforces neither: PITFALLS), and the ways to stop the server side from reading a body.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <cpprest/http_msg.h>

#include "api/deadline_timer.h"

namespace sandboxd::api {

// Reads a request body with a byte count. `limit` < 0 discards everything (drain only);
// otherwise `done` is called once: with the body, with TooLarge as soon as the count passes
// `limit`, or with TimedOut/Failed. After TooLarge the rest is discarded up to `drainCap` bytes
// in total; beyond the cap, or when the deadline passes first, the request is aborted, which
// makes cpprestsdk stop reading the connection and send the answer.
class BodyReader : public std::enable_shared_from_this<BodyReader> {
 public:
  enum class Outcome { Complete, TooLarge, Failed, TimedOut };
  using Done = std::function<void(Outcome outcome, std::string body)>;

  BodyReader(web::http::http_request request, int64_t limit, int64_t drainCap, Done done);

  // Starts reading; gives up at `deadline`.
  void start(DeadlineTimer& timer, DeadlineTimer::Clock::time_point deadline);

  // Stops the server side from reading more of this request's body. Closing the buffer makes
  // cpprestsdk's next write into it fail; cpprestsdk then completes the request itself, on its
  // own connection thread, stops reading and sends the answer (which it holds back until the
  // body is complete). Safe while the client is still sending.
  static void closeBody(const web::http::http_request& request);

  // Completes the request from outside cpprestsdk, for a client that stopped sending (so no
  // write into the closed buffer ever comes). Only for that case: done while cpprestsdk's
  // connection thread is still reading, it races with that thread on the socket (the answer
  // closes the socket while a read is being started: SIGSEGV in epoll_reactor::start_op, seen
  // about once in 30 runs of the endless-chunked-body test).
  static void completeNow(const web::http::http_request& request);

  // A body that stopped arriving: both.
  static void abort(const web::http::http_request& request);

 private:
  enum class Stop { None, CloseBody, Abort };

  void readNext();
  void onData(size_t n);
  void onTimeout();
  // Ends reading once: reports `outcome` if nothing was reported yet, then stops the request
  // as asked.
  void finish(Outcome outcome, Stop stop);

  web::http::http_request request_;
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

}  // namespace sandboxd::api
