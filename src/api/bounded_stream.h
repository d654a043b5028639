// BoundedStream: the writing end of one live event stream, held to a cap of unsent bytes.
// What it writes goes into a StreamSink (for the server, the body buffer cpprestsdk sends from,
// event_streams.cc); once more than the cap sits unsent (its client reads too slowly), the
// stream gets a `reset` event with an empty id (its client resumes with a fresh current state)
// and is closed, so a slow client never holds back the others or grows without bound.
// No cpprestsdk here: tests drive it with a sink that never drains.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace sandboxd::api {

class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Bytes written and not yet taken by the client.
  virtual size_t unsent() const = 0;
  virtual void put(const std::string& text) = 0;
  // No more writes: the client reads what is left, then the end.
  virtual void end() = 0;
};

// Counts of every stream (for /metrics).
struct EventStreamStats {
  std::atomic<uint64_t> opened{0};    // streams answered 200
  std::atomic<uint64_t> resets{0};    // closed with a reset because their client was too slow
  std::atomic<uint64_t> refused{0};   // answered 429 (over a limit)
};

class BoundedStream {
 public:
  // `resets` (optional) counts overflows.
  BoundedStream(std::shared_ptr<StreamSink> sink, int64_t capBytes,
                std::atomic<uint64_t>* resets = nullptr);

  // Ends the start of the stream (the reset and current state, written before the answer
  // leaves): what was written before is not held to the cap (an admin's current state may be
  // far larger), and the cap counts from its end.
  void endOfStart();
  // Writes `text`; false when the stream is closed, or was over its cap and is now closed
  // with a reset.
  bool write(const std::string& text, bool capped = true);
  void close();
  bool closed() const;

 private:
  void closeLocked();

  const std::shared_ptr<StreamSink> sink_;
  const int64_t cap_;
  std::atomic<uint64_t>* const resets_;
  mutable std::mutex mu_;
  bool closed_ = false;
  bool started_ = false;  // endOfStart() was called
  int64_t startBytes_ = 0;
};

}  // namespace sandboxd::api
