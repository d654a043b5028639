#include "sandboxd/service/sandbox_events.h"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

#include "sandboxd/service/sse_format.h"

namespace sandboxd {

bool EventScope::covers(const std::string& sandboxUser, const std::string& sandboxName) const {
  if (!allUsers && sandboxUser != user) {
    return false;
  }
  return name.empty() || sandboxName == name;
}

bool EventScope::covers(const SandboxEvent& event) const {
  return event.type == "reset" || covers(event.user, event.name);
}

SandboxEventHub::SandboxEventHub(Options options, std::string epoch, Snapshot snapshot)
    : options_{std::max<size_t>(1, options.bufferEvents), options.applyStamps},
      epoch_(std::move(epoch)),
      snapshot_(std::move(snapshot)) {}

std::string SandboxEventHub::idFor(uint64_t seq) const {
  return epoch_ + "." + std::to_string(seq);
}

SandboxEventPtr SandboxEventHub::make(std::string type, std::string id, const std::string& name,
                                      const std::string& user, std::string data,
                                      int64_t appliedNs) const {
  auto event = std::make_shared<SandboxEvent>();
  event->type = std::move(type);
  event->id = std::move(id);
  event->name = name;
  event->user = user;
  event->data = std::move(data);
  event->appliedNs = appliedNs;
  std::string wire = formatSseEvent(event->type, event->id, event->data);
  if (options_.applyStamps && appliedNs != 0) {
    wire.insert(0, ": applied " + std::to_string(appliedNs) + "\n");
  }
  event->wire = std::make_shared<const std::string>(std::move(wire));
  return event;
}

void SandboxEventHub::publishSandbox(const std::string& name, const std::string& user,
                                     const std::string& data, int64_t appliedNs) {
  std::lock_guard<std::mutex> lock(mu_);
  append(make("sandbox", idFor(seq_ + 1), name, user, data, appliedNs));
}

void SandboxEventHub::publishDeleted(const std::string& name, const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string data = nlohmann::json{{"name", name}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  append(make("deleted", idFor(seq_ + 1), name, user, std::move(data), 0));
}

void SandboxEventHub::publishOperation(const std::string& name, const std::string& user,
                                       const std::string& data) {
  std::lock_guard<std::mutex> lock(mu_);
  append(make("operation", idFor(seq_ + 1), name, user, data, 0));
}

void SandboxEventHub::append(SandboxEventPtr event) {
  ++seq_;
  buffer_.emplace_back(seq_, event);
  while (buffer_.size() > options_.bufferEvents) {
    buffer_.pop_front();
  }
  for (auto it = subscriptions_.begin(); it != subscriptions_.end();) {
    if (it->second.scope.covers(*event) && !it->second.sink(event)) {
      it = subscriptions_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<uint64_t> SandboxEventHub::resumePoint(const std::string& lastEventId) const {
  // "<epoch>.<seq>" exactly; anything else (a partial current state, another epoch) starts
  // afresh.
  const std::string prefix = epoch_ + ".";
  if (lastEventId.size() <= prefix.size() || lastEventId.compare(0, prefix.size(), prefix) != 0) {
    return std::nullopt;
  }
  const std::string digits = lastEventId.substr(prefix.size());
  if (digits.size() > 19 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const uint64_t seq = std::stoull(digits);
  if (seq > seq_) {
    return std::nullopt;
  }
  // Everything after seq must still be buffered: seq + 1 is the oldest kept, or newer.
  const uint64_t oldest = buffer_.empty() ? seq_ + 1 : buffer_.front().first;
  if (seq + 1 < oldest) {
    return std::nullopt;
  }
  return seq;
}

StatusOr<std::optional<uint64_t>> SandboxEventHub::subscribe(const EventScope& scope,
                                                             const std::string& lastEventId,
                                                             Sink sink) {
  // Nothing is published while the current state is read and the subscription added.
  std::unique_lock<std::mutex> publishing(publishMu_);
  std::unique_lock<std::mutex> lock(mu_);
  std::vector<SandboxEventPtr> start;
  if (auto from = resumePoint(lastEventId)) {
    for (const auto& [seq, event] : buffer_) {
      if (seq > *from && scope.covers(*event)) {
        start.push_back(event);
      }
    }
  } else {
    // Read without the hub's lock: streams keep receiving what is published meanwhile (only
    // the publisher waits).
    lock.unlock();
    ASSIGN_OR_RETURN(auto state, snapshot_(scope));
    lock.lock();
    const std::string position = idFor(seq_);
    std::vector<SandboxSnapshot*> covered;  // the snapshot may read more than the scope covers
    for (auto& s : state) {
      if (scope.covers(s.user, s.name)) {
        covered.push_back(&s);
      }
    }
    // All but the last are partial (see the header).
    start.reserve(covered.size() + 1);
    start.push_back(
        make("reset", covered.empty() ? position : position + ".p", "", "", "{}", 0));
    for (size_t i = 0; i < covered.size(); ++i) {
      start.push_back(make("sandbox", i + 1 < covered.size() ? position + ".p" : position,
                           covered[i]->name, covered[i]->user, std::move(covered[i]->json), 0));
    }
  }
  for (const auto& event : start) {
    if (!sink(event)) {
      return std::optional<uint64_t>();
    }
  }
  const uint64_t id = nextSubscription_++;
  subscriptions_.emplace(id, Subscription{scope, std::move(sink)});
  return std::optional<uint64_t>(id);
}

void SandboxEventHub::unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  subscriptions_.erase(id);
}

size_t SandboxEventHub::subscriptions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return subscriptions_.size();
}

uint64_t SandboxEventHub::lastSeq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seq_;
}

size_t SandboxEventHub::buffered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buffer_.size();
}

}  // namespace sandboxd
