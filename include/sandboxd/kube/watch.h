// Kubernetes watches: the options of one watch request, the events it delivers, and the
// cancellation a caller uses to end a blocking KubeClient::watch() from another thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sandboxd/kube/field_mask.h"

namespace sandboxd {

enum class WatchEventType { Added, Modified, Deleted, Bookmark, Error };

// "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR" (the API's spelling).
const char* toString(WatchEventType type);
// The type for the API's spelling; false if unknown.
bool parseWatchEventType(const std::string& text, WatchEventType* out);

struct WatchOptions {
  std::string labelSelector;
  std::string fieldSelector;
  // Resume after this resourceVersion (from a list or an earlier event). Empty: the server
  // first sends ADDED for every current object, then changes.
  std::string resourceVersion;
  bool allowWatchBookmarks = true;
  // The server ends the stream after this long (0 = the server's default). Clients wait
  // somewhat longer than this for the stream to end before they give up on it.
  int64_t timeoutSeconds = 300;
  // The fields of each event's object the caller reads (null: all), as ListOptions::itemFields:
  // a client may deliver more; the REST client builds only these (an ERROR event's Status
  // whole). A pod event is ~9 KB of JSON, of which the watch cache keeps a tenth.
  std::shared_ptr<const FieldMask> objectFields;
};

struct WatchEvent {
  WatchEventType type = WatchEventType::Added;
  // The object (for Bookmark: only apiVersion, kind and metadata.resourceVersion; for Error:
  // a Status object with "code", "reason" and "message").
  nlohmann::json object;
};

using WatchCallback = std::function<void(const WatchEvent&)>;

// One-shot cancellation of running watches. cancel() is thread-safe and idempotent; it runs
// the registered callbacks once (outside the lock), and a callback registered after cancel()
// runs at once. Callbacks must be cheap and must not block.
class WatchCancellation {
 public:
  void cancel() {
    std::vector<std::function<void()>> run;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cancelled_) {
        return;
      }
      cancelled_ = true;
      for (auto& [id, fn] : callbacks_) {
        run.push_back(std::move(fn));
      }
      callbacks_.clear();
    }
    for (auto& fn : run) {
      fn();
    }
  }

  bool cancelled() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }

  // Returns an id for unsubscribe(); 0 when `fn` already ran because of an earlier cancel().
  int subscribe(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!cancelled_) {
        const int id = ++nextId_;
        callbacks_.emplace(id, std::move(fn));
        return id;
      }
    }
    fn();
    return 0;
  }

  void unsubscribe(int id) {
    std::lock_guard<std::mutex> lock(mu_);
    callbacks_.erase(id);
  }

 private:
  mutable std::mutex mu_;
  bool cancelled_ = false;
  int nextId_ = 0;
  std::map<int, std::function<void()>> callbacks_;
};

// Unsubscribes on scope exit.
class WatchCancellationSubscription {
 public:
  WatchCancellationSubscription(WatchCancellation* cancel, std::function<void()> fn)
      : cancel_(cancel), id_(cancel != nullptr ? cancel->subscribe(std::move(fn)) : 0) {}
  ~WatchCancellationSubscription() {
    if (cancel_ != nullptr && id_ != 0) {
      cancel_->unsubscribe(id_);
    }
  }
  WatchCancellationSubscription(const WatchCancellationSubscription&) = delete;
  WatchCancellationSubscription& operator=(const WatchCancellationSubscription&) = delete;

 private:
  WatchCancellation* cancel_;
  int id_;
};

}  // namespace sandboxd
