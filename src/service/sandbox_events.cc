#include "sandboxd/service/sandbox_events.h"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

namespace sandboxd {

bool EventScope::covers(const SandboxEvent& event) const {
  if (event.type == "reset") {
    return true;
  }
  if (!allUsers && event.user != user) {
    return false;
  }
  return name.empty() || event.name == name;
}

SandboxEventHub::SandboxEventHub(Options options, std::string epoch)
    : options_{std::max<size_t>(1, options.bufferEvents)}, epoch_(std::move(epoch)) {}

std::string SandboxEventHub::idFor(uint64_t seq) const {
  return epoch_ + "." + std::to_string(seq);
}

void SandboxEventHub::publishSandbox(const std::string& name, const std::string& user,
                                     const std::string& data) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = current_.find(name);
  if (it != current_.end() && it->second->data == data && it->second->user == user) {
    return;
  }
  auto event = std::make_shared<SandboxEvent>(
      SandboxEvent{"sandbox", idFor(seq_ + 1), name, user, data});
  current_[name] = event;
  append(std::move(event));
}

void SandboxEventHub::publishDeleted(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = current_.find(name);
  if (it == current_.end()) {
    return;
  }
  const std::string user = it->second->user;
  current_.erase(it);
  const std::string data = nlohmann::json{{"name", name}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  append(std::make_shared<SandboxEvent>(SandboxEvent{"deleted", idFor(seq_ + 1), name, user,
                                                     data}));
}

void SandboxEventHub::publishOperation(const std::string& name, const std::string& user,
                                       const std::string& data) {
  std::lock_guard<std::mutex> lock(mu_);
  append(std::make_shared<SandboxEvent>(
      SandboxEvent{"operation", idFor(seq_ + 1), name, user, data}));
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

std::optional<uint64_t> SandboxEventHub::subscribe(const EventScope& scope,
                                                   const std::string& lastEventId, Sink sink) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<SandboxEventPtr> start;
  if (auto from = resumePoint(lastEventId)) {
    for (const auto& [seq, event] : buffer_) {
      if (seq > *from && scope.covers(*event)) {
        start.push_back(event);
      }
    }
  } else {
    const std::string position = idFor(seq_);
    start.push_back(std::make_shared<SandboxEvent>(SandboxEvent{"reset", position, "", "", "{}"}));
    auto add = [&](const SandboxEventPtr& event) {
      if (scope.covers(*event)) {
        start.push_back(
            std::make_shared<SandboxEvent>(SandboxEvent{"sandbox", position, event->name,
                                                        event->user, event->data}));
      }
    };
    if (!scope.name.empty()) {
      if (auto it = current_.find(scope.name); it != current_.end()) {
        add(it->second);
      }
    } else {
      for (const auto& entry : current_) {
        add(entry.second);
      }
    }
    // All but the last are partial (see the header).
    for (size_t i = 0; i + 1 < start.size(); ++i) {
      auto partial = std::make_shared<SandboxEvent>(*start[i]);
      partial->id += ".p";
      start[i] = std::move(partial);
    }
  }
  for (const auto& event : start) {
    if (!sink(event)) {
      return std::nullopt;
    }
  }
  const uint64_t id = nextSubscription_++;
  subscriptions_.emplace(id, Subscription{scope, std::move(sink)});
  return id;
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

size_t SandboxEventHub::sandboxesKnown() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_.size();
}

}  // namespace sandboxd
