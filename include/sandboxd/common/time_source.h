// Injected time. Wall time (SystemTime) for what is stored or shown; monotonic time for
// timeouts, delays and backoff. Read once per request or pass and pass `now` down.
#pragma once

#include <chrono>
#include <optional>
#include <memory>

namespace sandboxd {

using SystemTime = std::chrono::system_clock::time_point;
using MonotonicTime = std::chrono::steady_clock::time_point;

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  // Wall-clock time: timestamps stored in the registry and returned by the API.
  virtual SystemTime systemTime() = 0;
  // Monotonic time: measuring durations, timeouts, readiness delays.
  virtual MonotonicTime monotonicTime() = 0;
};

using TimeSourcePtr = std::shared_ptr<TimeSource>;

// The real clocks.
class RealTimeSource : public TimeSource {
 public:
  SystemTime systemTime() override { return std::chrono::system_clock::now(); }
  MonotonicTime monotonicTime() override { return std::chrono::steady_clock::now(); }
};

// RFC 3339 UTC with second precision: 2026-11-23T09:14:50Z.
std::string formatRfc3339(SystemTime t);
// An RFC 3339 date-time (YYYY-MM-DDTHH:MM:SS, optional fraction, then Z or ±HH:MM; a `t` and
// `z` in either case); nullopt for anything else, an impossible date included.
std::optional<SystemTime> parseRfc3339(const std::string& text);

}  // namespace sandboxd
