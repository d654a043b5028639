#include "sandboxd/service/sandbox_event_feed.h"

#include <utility>

#include <spdlog/spdlog.h>

namespace sandboxd {
namespace {

// How many of a sandbox's newest operations are compared on each change of its record.
constexpr size_t kOperationsCompared = 5;

}  // namespace

SandboxEventFeed::SandboxEventFeed(SandboxEventHubPtr hub,
                                   std::shared_ptr<SandboxChanges> changes,
                                   SandboxEventLookups lookups)
    : hub_(std::move(hub)), changes_(std::move(changes)), lookups_(std::move(lookups)) {}

SandboxEventFeed::~SandboxEventFeed() { stop(); }

Status SandboxEventFeed::start() {
  ASSIGN_OR_RETURN(auto all, lookups_.listAll());
  for (const auto& sandbox : all) {
    owners_[sandbox.name] = sandbox.user;
    hub_->publishSandbox(sandbox.name, sandbox.user, sandbox.json);
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
    auto sandbox = lookups_.get(change.name);
    if (!sandbox.isOk()) {
      if (sandbox.status().kind() == ErrorKind::NotFound) {
        hub_->publishDeleted(change.name);
        owners_.erase(change.name);
        operationStates_.erase(change.name);
      } else {
        spdlog::warn("event feed: reading sandbox {}: {}", change.name,
                     sandbox.status().toString());
      }
      continue;
    }
    owners_[change.name] = sandbox->user;
    if (change.record) {
      hub_->publishSandbox(change.name, sandbox->user, sandbox->json);
    }
    if (change.operations) {
      applyOperations(change.name, sandbox->user);
    }
  }
}

void SandboxEventFeed::applyOperations(const std::string& name, const std::string& user) {
  auto ops = lookups_.operations(name);
  if (!ops.isOk()) {
    if (ops.status().kind() != ErrorKind::NotFound) {
      spdlog::warn("event feed: reading operations of {}: {}", name, ops.status().toString());
    }
    return;
  }
  auto& seen = operationStates_[name];
  std::map<int64_t, std::string> now;
  const size_t n = std::min(kOperationsCompared, ops->size());
  // Oldest first, so that a client sees them in the order they happened.
  for (size_t i = n; i-- > 0;) {
    const OperationSnapshot& op = (*ops)[i];
    now[op.id] = op.state;
    auto it = seen.find(op.id);
    if (it == seen.end() || it->second != op.state) {
      hub_->publishOperation(name, user, op.json);
    }
  }
  seen = std::move(now);
}

}  // namespace sandboxd
