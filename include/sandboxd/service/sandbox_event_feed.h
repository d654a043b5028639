// SandboxEventFeed: turns changes (SandboxChanges) into the hub's events. Its own thread takes
// the changed sandboxes, reads each one as the API shows it (the lookups; for the server, the
// manager's peek and the Sandbox JSON of GET /api/v1/sandboxes/{name}) and publishes it when
// it differs from what it last published (kept as a hash). A sandbox the lookup no longer
// finds is published as deleted. For a changed operation record, the newest operations whose
// state differs from what was last published become `operation` events.
//
// Per sandbox it keeps its owner (to route a deletion), the hash of its last published state
// and those of its newest operations' states: a few dozen bytes, never its JSON.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sandboxd/common/status.h"
#include "sandboxd/service/sandbox_changes.h"
#include "sandboxd/service/sandbox_events.h"

namespace sandboxd {

struct SandboxOwner {
  std::string name;
  std::string user;
};

struct OperationSnapshot {
  int64_t id = 0;
  std::string state;  // pending | done | failed | superseded
  std::string json;   // the operation JSON (with "sandbox"), one line
};

struct SandboxEventLookups {
  // Every sandbox's name and owner (the feed's start). Required.
  std::function<StatusOr<std::vector<SandboxOwner>>()> owners;
  // The current state of what a scope covers (a new stream's start). Required by the server's
  // hub (SandboxEventHub::Snapshot); the feed does not use it.
  SandboxEventHub::Snapshot inScope;
  // One sandbox; NotFound when it is gone. Required.
  std::function<StatusOr<SandboxSnapshot>(const std::string& name)> get;
  // Its newest operations, newest first; NotFound when the sandbox is gone. Required.
  std::function<StatusOr<std::vector<OperationSnapshot>>(const std::string& name)> operations;
};

class SandboxEventFeed {
 public:
  SandboxEventFeed(SandboxEventHubPtr hub, std::shared_ptr<SandboxChanges> changes,
                   SandboxEventLookups lookups);
  ~SandboxEventFeed();

  // Learns every sandbox's owner, then starts the thread.
  Status start();
  void stop();

  // Applies one batch of changes on the caller's thread (what the thread does; for tests).
  void apply(const std::vector<SandboxChange>& changes);

  size_t sandboxesKnown() const { return known_.size(); }  // for tests (the feed's thread)

 private:
  struct Known {
    std::string user;
    uint64_t stateHash = 0;  // of the Sandbox JSON last published (0: none yet)
    // The newest operations' ids and the hash of the state last published of each.
    std::vector<std::pair<int64_t, uint64_t>> operations;
  };
  void run();
  void applyOperations(const std::string& name, Known& known);
  // `name`'s entry in known_, made (in the long-lived objects' arena) when it has none.
  Known& known(const std::string& name);

  const SandboxEventHubPtr hub_;
  const std::shared_ptr<SandboxChanges> changes_;
  const SandboxEventLookups lookups_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::map<std::string, Known> known_;
};

}  // namespace sandboxd
