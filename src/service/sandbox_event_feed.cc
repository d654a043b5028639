#include "sandboxd/service/sandbox_event_feed.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

#include "sandboxd/common/heap.h"

namespace sandboxd {
namespace {

// How many of a sandbox's newest operations are compared on each change of its record.
constexpr size_t kOperationsCompared = 5;

// A state's hash, never 0 (0: nothing published yet). Two states with one hash (a chance of
// 2^-64) would make the second no event.
uint64_t hashOf(const std::string& text) {
  const uint64_t h = std::hash<std::string>{}(text);
  return h == 0 ? 1 : h;
}

}  // namespace

SandboxEventFeed::SandboxEventFeed(SandboxEventHubPtr hub,
                                   std::shared_ptr<SandboxChanges> changes,
                                   SandboxEventLookups lookups)
    : hub_(std::move(hub)), changes_(std::move(changes)), lookups_(std::move(lookups)) {}

SandboxEventFeed::~SandboxEventFeed() { stop(); }

Status SandboxEventFeed::start() {
  ASSIGN_OR_RETURN(auto all, lookups_.owners());
  // One scope for all (known()'s is then free); only allocates: each user is assigned to an
  // empty string, and `all` is freed after it.
  {
    HeapArenaScope longLived(longLivedHeapArena());
    for (const auto& sandbox : all) {
      known(sandbox.name).user = sandbox.user;
    }
  }
  thread_ = std::thread([this] { run(); });
  return Status::ok();
}

void SandboxEventFeed::stop() {
  if (stopping_.exchange(true)) {
    return;
  }
  changes_->close();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void SandboxEventFeed::run() {
  while (!stopping_) {
    auto batch = changes_->take(std::chrono::milliseconds(1000));
    if (!batch.empty()) {
      try {
        apply(batch);
      } catch (const std::exception& e) {
        spdlog::error("event feed: {}", e.what());
      }
    }
  }
}

void SandboxEventFeed::apply(const std::vector<SandboxChange>& changes) {
  for (const SandboxChange& change : changes) {
    // Read and published under the hub's publishing lock (sandbox_events.h).
    auto publishing = hub_->publishing();
    auto sandbox = lookups_.get(change.name);
    if (!sandbox.isOk()) {
      if (sandbox.status().kind() == ErrorKind::NotFound) {
        auto it = known_.find(change.name);
        if (it != known_.end()) {
          hub_->publishDeleted(change.name, it->second.user);
          known_.erase(it);
        }
      } else {
        spdlog::warn("event feed: reading sandbox {}: {}", change.name,
                     sandbox.status().toString());
      }
      continue;
    }
    Known& known = this->known(change.name);
    if (known.user != sandbox->user) {
      std::string user;
      {
        HeapArenaScope longLived(longLivedHeapArena());
        user = sandbox->user;
      }
      known = Known{std::move(user), 0, {}};
    }
    if (change.record) {
      const uint64_t hash = hashOf(sandbox->json);
      if (hash != known.stateHash) {
        known.stateHash = hash;
        hub_->publishSandbox(change.name, sandbox->user, sandbox->json, change.appliedNs);
      }
    }
    if (change.operations) {
      applyOperations(change.name, known);
    }
  }
}

void SandboxEventFeed::applyOperations(const std::string& name, Known& known) {
  auto ops = lookups_.operations(name);
  if (!ops.isOk()) {
    if (ops.status().kind() != ErrorKind::NotFound) {
      spdlog::warn("event feed: reading operations of {}: {}", name, ops.status().toString());
    }
    return;
  }
  std::vector<std::pair<int64_t, uint64_t>> now;
  const size_t n = std::min(kOperationsCompared, ops->size());
  now.reserve(n);
  // Oldest first, so that a client sees them in the order they happened.
  for (size_t i = n; i-- > 0;) {
    const OperationSnapshot& op = (*ops)[i];
    const uint64_t state = hashOf(op.state);
    now.emplace_back(op.id, state);
    auto it = std::find_if(known.operations.begin(), known.operations.end(),
                           [&op](const auto& seen) { return seen.first == op.id; });
    if (it == known.operations.end() || it->second != state) {
      hub_->publishOperation(name, known.user, op.json);
    }
  }
  if (now == known.operations) {
    return;
  }
  // Kept as long as the sandbox: copied into the long-lived objects' arena (common/heap.h).
  std::vector<std::pair<int64_t, uint64_t>> kept;
  {
    HeapArenaScope longLived(longLivedHeapArena());
    kept.assign(now.begin(), now.end());
  }
  known.operations.swap(kept);
}

SandboxEventFeed::Known& SandboxEventFeed::known(const std::string& name) {
  auto it = known_.find(name);
  if (it == known_.end()) {
    HeapArenaScope longLived(longLivedHeapArena());
    it = known_.emplace(name, Known{}).first;
  }
  return it->second;
}

}  // namespace sandboxd
