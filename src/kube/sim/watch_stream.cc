// The simulated cluster's watches: each one replays the event history from the resourceVersion
// it resumes from (410 Gone once that has left the history), then waits for new events, with
// label changes moving objects in or out of a filtered watch and bookmarks when allowed.
#include <algorithm>
#include <cctype>

#include "kube/sim/cluster_state.h"
#include "sandboxd/common/heap.h"

namespace sandboxd {

using kube_sim::apiError;
using kube_sim::selectorOf;

Status MemoryCluster::watch(const ResourceType& type, const std::string& ns,
                            const WatchOptions& options, const WatchCallback& onEvent,
                            WatchCancellation* cancel) {
  State& st = *state_;
  HeapArenaScope heap(st.arena);  // onEvent runs in the caller's, below
  WatchCancellationSubscription wake(cancel, [&st] {
    { std::lock_guard<std::mutex> lock(st.mu); }
    st.changed.notify_all();
  });
  std::unique_lock<std::mutex> lock(st.mu);
  RETURN_IF_ERROR(st.admit("watch", type.kind));

  auto inScope = [&](const std::string& plural, const std::string& objectNs) {
    return plural == type.plural && (ns.empty() || objectNs == ns);
  };
  ASSIGN_OR_RETURN(const LabelSelector selector, selectorOf(options.labelSelector));
  std::vector<WatchEvent> pending;
  int64_t from = 0;
  if (options.resourceVersion.empty() || options.resourceVersion == "0") {
    for (const auto& [key, object] : st.objects) {
      if (inScope(std::get<0>(key), std::get<1>(key)) &&
          selector.matches(object)) {
        pending.push_back({WatchEventType::Added, object});
      }
    }
    from = st.resourceVersion;
  } else {
    const std::string& rv = options.resourceVersion;
    if (rv.size() > 18 || !std::all_of(rv.begin(), rv.end(),
                                       [](unsigned char c) { return std::isdigit(c); })) {
      return apiError(ErrorKind::InvalidArgument, "invalid resourceVersion \"" + rv + "\"");
    }
    from = std::stoll(rv);
    if (st.goneNext > 0 || from < st.historyFloor) {
      st.goneNext = std::max(0, st.goneNext - 1);
      const std::string message = "too old resource version: " + rv + " (" +
                                  std::to_string(st.historyFloor) + ")";
      json status = {{"kind", "Status"}, {"apiVersion", "v1"},   {"status", "Failure"},
                     {"code", 410},      {"reason", "Expired"}, {"message", message}};
      lock.unlock();
      HeapArenaScope caller(heap.previous());
      onEvent({WatchEventType::Error, status});
      return aborted("Gone: watch " + type.plural + ": " + message + " (HTTP 410 Expired)");
    }
  }

  ++st.openWatches;
  struct Closer {
    State& st;
    ~Closer() { --st.openWatches; }
  };
  const uint64_t endGeneration = st.endGeneration;
  uint64_t bookmarkGeneration = st.bookmarkGeneration;
  const MonotonicTime started = st.time->monotonicTime();
  const MonotonicTime deadline = options.timeoutSeconds > 0
                                     ? started + std::chrono::seconds(options.timeoutSeconds)
                                     : MonotonicTime::max();
  MonotonicTime nextBookmark = started + st.options.bookmarkInterval;
  Closer closer{st};
  while (true) {
    auto first = std::upper_bound(
        st.history.begin(), st.history.end(), from,
        [](int64_t rv, const State::LoggedEvent& e) { return rv < e.rv; });
    for (auto e_it = first; e_it != st.history.end(); ++e_it) {
      const auto& e = *e_it;
      from = e.rv;
      if (!inScope(e.plural, e.ns)) {
        continue;
      }
      const bool matchesNow = selector.matches(e.object);
      const bool matchedBefore =
          !e.previous.is_null() && selector.matches(e.previous);
      if (e.type == WatchEventType::Modified && matchesNow != matchedBefore) {
        // Label changes move objects in or out of a filtered watch.
        pending.push_back({matchesNow ? WatchEventType::Added : WatchEventType::Deleted,
                           e.object});
      } else if (matchesNow) {
        pending.push_back({e.type, e.object});
      }
    }
    from = std::max(from, st.resourceVersion);
    if (!pending.empty()) {
      std::vector<WatchEvent> deliver;
      deliver.swap(pending);
      lock.unlock();
      {
        HeapArenaScope caller(heap.previous());
        for (const auto& event : deliver) {
          onEvent(event);
        }
      }
      lock.lock();
      continue;
    }
    if ((cancel != nullptr && cancel->cancelled()) || st.endGeneration != endGeneration) {
      return Status::ok();
    }
    const MonotonicTime now = st.time->monotonicTime();
    if (now >= deadline) {
      return Status::ok();
    }
    if (options.allowWatchBookmarks &&
        (st.bookmarkGeneration != bookmarkGeneration || now >= nextBookmark)) {
      bookmarkGeneration = st.bookmarkGeneration;
      nextBookmark = now + st.options.bookmarkInterval;
      pending.push_back({WatchEventType::Bookmark,
                         {{"apiVersion", type.apiVersion},
                          {"kind", type.kind},
                          {"metadata", {{"resourceVersion", std::to_string(from)}}}}});
      continue;
    }
    st.changed.wait_for(lock, st.options.watchPollInterval);
    st.reconcile();
  }
}

void MemoryCluster::expireWatchHistoryForTest() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->history.clear();
  state_->historyFloor = state_->resourceVersion;
  ++state_->endGeneration;
  state_->changed.notify_all();
}

void MemoryCluster::failNextWatchResumeWithGoneForTest(int times) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->goneNext += times;
}

void MemoryCluster::endWatchesForTest() {
  std::lock_guard<std::mutex> lock(state_->mu);
  ++state_->endGeneration;
  state_->changed.notify_all();
}

void MemoryCluster::sendWatchBookmarksForTest() {
  std::lock_guard<std::mutex> lock(state_->mu);
  ++state_->bookmarkGeneration;
  state_->changed.notify_all();
}

int MemoryCluster::openWatchesForTest() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->openWatches;
}

}  // namespace sandboxd
