// SandboxEventHub: the changes to sandboxes as a numbered event log, for live streams
// (server-sent events, src/api/event_streams.h). It keeps the last `bufferEvents` events and
// the open subscriptions; publishing an event delivers it to every subscription whose scope
// covers it. It keeps no state per sandbox: a new subscription's current state is read at
// that moment (`Snapshot`, the manager's reads), so memory does not grow with the sandboxes.
//
// Each event's wire text (text/event-stream, sse_format.h) is formatted once, when it is
// published, and shared by every stream it reaches.
//
// Event ids are "<epoch>.<seq>": seq counts up from 1 in this process, epoch names the process
// (a resume against another process's ids cannot be honoured). A subscription starts either
// with the events after a Last-Event-ID the buffer still holds, or with a `reset` event and
// the current state of what it covers (a fresh stream, an id from another epoch, or one too
// far behind). The current state's events carry the id of the position they describe; all but
// the last of them end in ".p" (partial): a client cut off in the middle of a current state
// resumes with a fresh current state, not from the middle.
//
// The current state and the events after it agree because the one publisher (the event feed)
// reads each sandbox and publishes it while holding publishing(), and a subscription reads its
// current state while holding it too: every event delivered after the current state was read
// after it, so it is never older than what the state showed.
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

#include "sandboxd/common/status.h"

namespace sandboxd {

struct SandboxEvent {
  std::string type;  // "sandbox" | "deleted" | "operation" | "reset"
  std::string id;    // "<epoch>.<seq>" (".p" appended: part of a current state)
  std::string name;  // the sandbox ("" for reset)
  std::string user;  // its owner ("" for reset)
  std::string data;  // JSON text, one line
  int64_t appliedNs = 0;  // SandboxChange::appliedNs of the change it reports (0: none)
  // Its text/event-stream text, formatted once by the hub (never null for a hub's event).
  std::shared_ptr<const std::string> wire;
};
using SandboxEventPtr = std::shared_ptr<const SandboxEvent>;

// A sandbox as the API shows it.
struct SandboxSnapshot {
  std::string name;
  std::string user;
  std::string json;  // the Sandbox JSON, one line
};

// What a subscription covers: one user's sandboxes (or every sandbox), optionally only one.
struct EventScope {
  bool allUsers = false;  // admin
  std::string user;       // when !allUsers
  std::string name;       // empty: every sandbox in reach
  bool covers(const SandboxEvent& event) const;
  bool covers(const std::string& sandboxUser, const std::string& sandboxName) const;
};

class SandboxEventHub {
 public:
  struct Options {
    size_t bufferEvents = 4096;  // events kept for resuming (at least 1)
    // Diagnostics: a wire text begins with ": applied <appliedNs>" when the event has one.
    bool applyStamps = false;
  };
  // The current state of what a scope covers, in name order (sandboxes it no longer finds are
  // simply absent).
  using Snapshot = std::function<StatusOr<std::vector<SandboxSnapshot>>(const EventScope&)>;
  // `epoch`: the id prefix of this process's events (no '.').
  SandboxEventHub(Options options, std::string epoch, Snapshot snapshot);

  // Held by the publisher around reading a sandbox and publishing it (see above).
  std::unique_lock<std::mutex> publishing() { return std::unique_lock<std::mutex>(publishMu_); }

  // The sandbox's current state is `data` (its Sandbox JSON).
  void publishSandbox(const std::string& name, const std::string& user, const std::string& data,
                      int64_t appliedNs = 0);
  // The sandbox is gone for good: a `deleted` event ({"name"}).
  void publishDeleted(const std::string& name, const std::string& user);
  // An operation record of the sandbox changed state (`data`: the operation JSON).
  void publishOperation(const std::string& name, const std::string& user,
                        const std::string& data);

  // Receives events; false when the subscriber cannot take more (it is then dropped).
  using Sink = std::function<bool(const SandboxEventPtr&)>;
  // Delivers the start (replay, or reset + current state) to `sink`, then every later event in
  // scope. Returns the subscription's id (for unsubscribe), or nullopt when the sink refused
  // the start; the current state's read error when it failed.
  StatusOr<std::optional<uint64_t>> subscribe(const EventScope& scope,
                                              const std::string& lastEventId, Sink sink);
  void unsubscribe(uint64_t id);

  // Figures, for tests and /metrics.
  size_t subscriptions() const;
  uint64_t lastSeq() const;
  size_t buffered() const;
  const std::string& epoch() const { return epoch_; }

 private:
  struct Subscription {
    EventScope scope;
    Sink sink;
  };
  SandboxEventPtr make(std::string type, std::string id, const std::string& name,
                       const std::string& user, std::string data, int64_t appliedNs) const;
  // Appends and delivers; under mu_.
  void append(SandboxEventPtr event);
  std::string idFor(uint64_t seq) const;
  // The seq of `lastEventId` when the buffer holds everything after it, else nullopt.
  std::optional<uint64_t> resumePoint(const std::string& lastEventId) const;

  const Options options_;
  const std::string epoch_;
  const Snapshot snapshot_;
  std::mutex publishMu_;
  mutable std::mutex mu_;
  uint64_t seq_ = 0;
  std::deque<std::pair<uint64_t, SandboxEventPtr>> buffer_;  // oldest first
  std::map<uint64_t, Subscription> subscriptions_;
  uint64_t nextSubscription_ = 1;
};

using SandboxEventHubPtr = std::shared_ptr<SandboxEventHub>;

}  // namespace sandboxd
