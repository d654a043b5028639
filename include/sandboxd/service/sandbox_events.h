// SandboxEventHub: the changes to sandboxes as a numbered event log, for live streams
// (server-sent events, src/api/event_streams.h). It keeps the current state of every sandbox
// (the Sandbox JSON the API answers for it), the last `bufferEvents` events, and the open
// subscriptions; publishing an event delivers it to every subscription whose scope covers it.
//
// Event ids are "<epoch>.<seq>": seq counts up from 1 in this process, epoch names the process
// (a resume against another process's ids cannot be honoured). A subscription starts either
// with the events after a Last-Event-ID the buffer still holds, or with a `reset` event and
// the current state of what it covers (a fresh stream, an id from another epoch, or one too
// far behind). The current state's events carry the id of the position they describe; all but
// the last of them end in ".p" (partial): a client cut off in the middle of a current state
// resumes with a fresh current state, not from the middle.
//
// Thread-safe. Sinks are called under the hub's lock, in event order: they must be quick and
// must not call back into the hub.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sandboxd {

struct SandboxEvent {
  std::string type;  // "sandbox" | "deleted" | "operation" | "reset"
  std::string id;    // "<epoch>.<seq>" (".p" appended: part of a current state)
  std::string name;  // the sandbox ("" for reset)
  std::string user;  // its owner ("" for reset)
  std::string data;  // JSON text, one line
};
using SandboxEventPtr = std::shared_ptr<const SandboxEvent>;

// What a subscription covers: one user's sandboxes (or every sandbox), optionally only one.
struct EventScope {
  bool allUsers = false;  // admin
  std::string user;       // when !allUsers
  std::string name;       // empty: every sandbox in reach
  bool covers(const SandboxEvent& event) const;
};

class SandboxEventHub {
 public:
  struct Options {
    size_t bufferEvents = 4096;  // events kept for resuming (at least 1)
  };
  // `epoch`: the id prefix of this process's events (no '.').
  SandboxEventHub(Options options, std::string epoch);

  // The sandbox's current state is `data` (its Sandbox JSON); an event when it changed.
  void publishSandbox(const std::string& name, const std::string& user, const std::string& data);
  // The sandbox is gone for good: a `deleted` event ({"name"}) when the hub knew it.
  void publishDeleted(const std::string& name);
  // An operation record of the sandbox changed state (`data`: the operation JSON).
  void publishOperation(const std::string& name, const std::string& user,
                        const std::string& data);

  // Receives events; false when the subscriber cannot take more (it is then dropped).
  using Sink = std::function<bool(const SandboxEventPtr&)>;
  // Delivers the start (replay, or reset + current state) to `sink`, then every later event in
  // scope. Returns the subscription's id (for unsubscribe), or nullopt when the sink refused
  // the start.
  std::optional<uint64_t> subscribe(const EventScope& scope, const std::string& lastEventId,
                                    Sink sink);
  void unsubscribe(uint64_t id);

  // Figures, for tests and /metrics.
  size_t subscriptions() const;
  uint64_t lastSeq() const;
  size_t sandboxesKnown() const;
  const std::string& epoch() const { return epoch_; }

 private:
  struct Subscription {
    EventScope scope;
    Sink sink;
  };
  // Appends and delivers; under mu_.
  void append(SandboxEventPtr event);
  std::string idFor(uint64_t seq) const;
  // The seq of `lastEventId` when the buffer holds everything after it, else nullopt.
  std::optional<uint64_t> resumePoint(const std::string& lastEventId) const;

  const Options options_;
  const std::string epoch_;
  mutable std::mutex mu_;
  uint64_t seq_ = 0;
  std::deque<std::pair<uint64_t, SandboxEventPtr>> buffer_;  // oldest first
  std::map<std::string, SandboxEventPtr> current_;            // name → its last sandbox event
  std::map<uint64_t, Subscription> subscriptions_;
  uint64_t nextSubscription_ = 1;
};

using SandboxEventHubPtr = std::shared_ptr<SandboxEventHub>;

}  // namespace sandboxd
