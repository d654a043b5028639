// SandboxEventFeed: turns changes (SandboxChanges) into the hub's events. Its own thread takes
// the changed sandboxes, reads each one as the API shows it (the lookups; for the server, the
// manager's get and the Sandbox JSON of GET /api/v1/sandboxes/{name}) and publishes it; the hub
// drops what did not change. A sandbox the lookup no longer finds is published as deleted. For
// a changed operation record, the newest operations whose state differs from what was last
// published become `operation` events.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sandboxd/common/status.h"
#include "sandboxd/service/sandbox_changes.h"
#include "sandboxd/service/sandbox_events.h"

namespace sandboxd {

struct SandboxSnapshot {
  std::string name;
  std::string user;
  std::string json;  // the Sandbox JSON, one line
};

struct OperationSnapshot {
  int64_t id = 0;
  std::string state;  // pending | done | failed | superseded
  std::string json;   // the operation JSON (with "sandbox"), one line
};

struct SandboxEventLookups {
  // Every sandbox (the feed's start). Required.
  std::function<StatusOr<std::vector<SandboxSnapshot>>()> listAll;
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

  // Publishes every sandbox's current state, then starts the thread.
  Status start();
  void stop();

  // Applies one batch of changes on the caller's thread (what the thread does; for tests).
  void apply(const std::vector<SandboxChange>& changes);

 private:
  void run();
  void applyOperations(const std::string& name, const std::string& user);

  const SandboxEventHubPtr hub_;
  const std::shared_ptr<SandboxChanges> changes_;
  const SandboxEventLookups lookups_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  // Per sandbox: its owner and the state last published of each recent operation.
  std::map<std::string, std::string> owners_;
  std::map<std::string, std::map<int64_t, std::string>> operationStates_;
};

}  // namespace sandboxd
