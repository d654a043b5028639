// Shared helpers for the watch and cache tests: sandbox-like manifests, polling until a
// condition holds, and a KubeClient decorator that can hold watch calls back (to open a gap
// between two watch streams deterministically).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "kube/decorators/forwarding_kube_client.h"

namespace sandboxd::testing {

inline const char* kManagedBy = "app.kubernetes.io/managed-by";

// A StatefulSet like sandboxd's (labels, a home volumeClaimTemplate); `managed` = carries
// sandboxd's ownership label.
inline json sandboxStatefulSet(const std::string& name, bool managed = true) {
  // As sandboxd renders them: the selector is only `app`, so the StatefulSet controller
  // labels the claims it makes with `app` alone.
  json selector = {{"app", name}};
  json labels = {{"app", name}, {"sandboxd.io/sandbox", name}};
  if (managed) {
    labels[kManagedBy] = "sandboxd";
  }
  json container = {{"name", "sandbox"}, {"image", "registry.example/sandbox:1"}};
  json claim = {{"metadata", {{"name", "vn-homevn-agent"}}},
                {"spec",
                 {{"accessModes", json::array({"ReadWriteOnce"})},
                  {"resources", {{"requests", {{"storage", "5Gi"}}}}}}}};
  return {{"apiVersion", "apps/v1"},
          {"kind", "StatefulSet"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"spec",
           {{"replicas", 1},
            {"serviceName", name + "-service"},
            {"selector", {{"matchLabels", selector}}},
            {"template",
             {{"metadata", {{"labels", labels}}},
              {"spec", {{"containers", json::array({container})}}}}},
            {"volumeClaimTemplates", json::array({claim})}}}};
}

// Polls `condition` every few milliseconds until it holds or `timeout` passes.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Forwards everything to `inner`; while held, watch() calls wait (until released or
// cancelled) before they reach `inner`. Records the resourceVersion each watch resumed from,
// and each list's.
class GatedKubeClient : public ForwardingKubeClient {
 public:
  explicit GatedKubeClient(KubeClientPtr inner) : ForwardingKubeClient(std::move(inner)) {}

  StatusOr<json> list(const ResourceType& type, const std::string& ns,
                      const ListOptions& options) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      listedAt_[type.plural].push_back(options.resourceVersion);
    }
    return inner()->list(type, ns, options);
  }
  // The resourceVersion of each list of `plural` so far, in order.
  std::vector<std::string> listedAt(const std::string& plural) {
    std::lock_guard<std::mutex> lock(mu_);
    return listedAt_[plural];
  }

  Status watch(const ResourceType& type, const std::string& ns, const WatchOptions& options,
               const WatchCallback& onEvent, WatchCancellation* cancel) override {
    WatchCancellationSubscription wake(cancel, [this] {
      { std::lock_guard<std::mutex> lock(mu_); }
      cv_.notify_all();
    });
    {
      std::unique_lock<std::mutex> lock(mu_);
      resumedFrom_[type.plural] = options.resourceVersion;
      ++waiting_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !held_ || (cancel != nullptr && cancel->cancelled()); });
      --waiting_;
    }
    if (cancel != nullptr && cancel->cancelled()) {
      return Status::ok();
    }
    return inner()->watch(type, ns, options, onEvent, cancel);
  }

  void hold() {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = true;
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      held_ = false;
    }
    cv_.notify_all();
  }
  // Waits until `n` watch calls wait at the gate.
  bool waitForHeldWatches(int n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return waiting_ >= n; });
  }
  std::string resumedFrom(const std::string& plural) {
    std::lock_guard<std::mutex> lock(mu_);
    return resumedFrom_[plural];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  int waiting_ = 0;
  std::map<std::string, std::string> resumedFrom_;
  std::map<std::string, std::vector<std::string>> listedAt_;
};

}  // namespace sandboxd::testing
