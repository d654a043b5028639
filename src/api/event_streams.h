// EventStreams: the open server-sent event streams (GET /api/v1/events and
// GET /api/v1/sandboxes/{name}/events) and their limits.
//
// A stream is a 200 answer whose body is an istream over a producer_consumer_buffer:
// cpprestsdk's I/O threads read it as bytes arrive (a read on an empty buffer waits without
// holding a thread), so no request worker or thread of ours is held by an open stream. Events
// are written into the buffer by whoever publishes them (the hub's sink, sandbox_events.h),
// comments by the heartbeat thread. An event's text is formatted once by the hub and copied
// into each stream's buffer (a memcpy under the stream's own short lock; the buffer hands it
// to the waiting read, which cpprestsdk writes to the socket on its I/O threads). A client that went away is noticed when a write to its
// socket fails (at the latest at the second heartbeat after it left): cpprestsdk then fails
// the answer, and the stream is closed and forgotten (Responder::send's onWritten).
//
// Limits (server.events): streams in total and per user (429 beyond, with the error
// envelope); bytes a stream may hold unsent (a slow client): beyond them the stream gets a
// `reset` event and is closed (bounded_stream.h). closeAll()
// (SIGTERM) ends every stream's body cleanly; streams opened after it are answered 503.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "api/bounded_stream.h"
#include "api/request_context.h"
#include "api/responder.h"
#include "sandboxd/config/config.h"
#include "sandboxd/service/sandbox_events.h"

namespace sandboxd::api {

class EventStreams : public std::enable_shared_from_this<EventStreams> {
 public:
  EventStreams(SandboxEventHubPtr hub, const EventStreamConfig& config, Responder& responder);
  ~EventStreams();

  // Answers `ctx` with a stream of `scope`'s events, resuming after `lastEventId` if it can;
  // or with 429 (over a limit) or 503 (shutting down).
  void open(const RequestContextPtr& ctx, const EventScope& scope,
            const std::string& lastEventId);
  // Ends every open stream; later open()s are answered 503. Stops the heartbeat.
  void closeAll();
  size_t openCount() const;
  const EventStreamStats& stats() const { return stats_; }

 private:
  class Stream;
  void finished(const std::shared_ptr<Stream>& stream);
  void heartbeatLoop();

  const SandboxEventHubPtr hub_;
  const EventStreamConfig config_;
  Responder& responder_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool closing_ = false;
  uint64_t nextId_ = 1;
  std::map<uint64_t, std::shared_ptr<Stream>> streams_;
  std::map<std::string, int> perUser_;
  EventStreamStats stats_;
  std::thread heartbeat_;
};

}  // namespace sandboxd::api
