// MemoryCluster: an in-process simulated Kubernetes API for unit tests and `--kube memory`.
// It stores objects like the API server (uid, resourceVersion, generation, AlreadyExists,
// NotFound, dry-run) and imitates the controllers where users would notice: a StatefulSet
// creates its PVCs from the volumeClaimTemplates (Bound at once) and its pod, which turns
// Ready `readyDelay` after it was created; scaling to 0 removes the pod and keeps the PVC;
// a Deployment likewise gets a pod; deleting a workload deletes its pods (not its PVCs).
// It serves the snapshot API (snapshot.storage.k8s.io/v1) with a default VolumeSnapshotClass
// "standard": a VolumeSnapshot of a bound claim is ready at once, a claim created with a ready
// snapshot as its dataSource is bound at once (storage.cc).
// Controllers run lazily, on every call, up to the injected clock's monotonic now (open
// watches also run them every `watchPollInterval`, so watchers see pods turn Ready), and only
// for workloads with work left: one a write touched (itself, a pod it owns, one of its claims)
// or whose pod is not Ready yet (visited again once its readyDelay is up). So a call costs
// O(log objects) whatever the number of sandboxes.
//
// Watches: every change gets the next resourceVersion and is kept in a history of the last
// `watchHistory` events; a watch resumes from any resourceVersion still in the history, an older
// one gets an ERROR event with code 410 (Gone). Bookmarks every `bookmarkInterval` (injected
// clock) when allowed. Stop every watch (cancel it) before destroying the cluster.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "sandboxd/common/time_source.h"
#include "sandboxd/kube/kube_client.h"

namespace sandboxd {

struct MemoryClusterOptions {
  std::chrono::milliseconds readyDelay{1500};
  std::chrono::milliseconds watchPollInterval{100};  // real time
  std::chrono::milliseconds bookmarkInterval{60000};  // injected clock
  size_t watchHistory = 10000;
  // Its objects in a heap arena of their own (separateHeapArena in sandboxd/common/heap.h): what
  // every call allocates, but not what a watch's callback does. `serve --kube memory` sets it.
  bool separateHeapArena = false;
};

class MemoryCluster : public KubeClient {
 public:
  MemoryCluster(TimeSourcePtr time, MemoryClusterOptions options = {});
  ~MemoryCluster() override;

  // KubeClient
  StatusOr<json> get(const ResourceType& type, const std::string& ns, const std::string& name,
                     const std::string& subresource = "") override;
  StatusOr<json> list(const ResourceType& type, const std::string& ns,
                      const ListOptions& options = {}) override;
  StatusOr<json> create(const ResourceType& type, const std::string& ns, const json& object,
                        const WriteOptions& options = {}) override;
  StatusOr<json> replace(const ResourceType& type, const std::string& ns,
                         const std::string& name, const json& object,
                         const WriteOptions& options = {}) override;
  StatusOr<json> patch(const ResourceType& type, const std::string& ns, const std::string& name,
                       PatchType patchType, const json& patch, const WriteOptions& options = {},
                       const std::string& subresource = "") override;
  StatusOr<json> remove(const ResourceType& type, const std::string& ns, const std::string& name,
                        const DeleteOptions& options = {}) override;
  Status ping() override;
  Status watch(const ResourceType& type, const std::string& ns, const WatchOptions& options,
               const WatchCallback& onEvent, WatchCancellation* cancel) override;

  // Test hooks.
  // Makes pods of `workloadName` report this waiting reason instead of becoming Ready
  // (e.g. "ImagePullBackOff", "CrashLoopBackOff"); "Unschedulable" keeps them unscheduled.
  void setPodFailureForTest(const std::string& workloadName, const std::string& reason);
  // Installs or removes the snapshot API (false: every snapshot.storage.k8s.io call is
  // NotFound, as on a cluster without the CRDs).
  void setSnapshotApiForTest(bool installed);
  // Keeps new PVCs Pending (no volume to bind).
  void setPvcPendingForTest(bool pending);
  // Fails the next calls matching `verb` ("create", "patch", …) and `kind` with `status`.
  void failNextForTest(const std::string& verb, const std::string& kind, Status status,
                       int times = 1);
  // Number of calls by verb since construction ("get", "list", "create", "watch", …).
  std::map<std::string, int> callCountsForTest() const;
  // Forgets the watch history (like an etcd compaction) and ends every open watch stream, so
  // that resuming from any earlier resourceVersion gets 410 Gone.
  void expireWatchHistoryForTest();
  // The next `times` watches that resume from a resourceVersion get 410 Gone.
  void failNextWatchResumeWithGoneForTest(int times = 1);
  // Ends every open watch stream normally (as the server's timeout or a dropped connection).
  void endWatchesForTest();
  // Sends a BOOKMARK on every open watch that allows them.
  void sendWatchBookmarksForTest();
  // Watch streams open right now.
  int openWatchesForTest() const;

 private:
  struct State;

  // How a write changes the stored objects.
  enum class WriteOp {
    Create,  // stores a new object: none may be stored under its name (make() answers that)
    Update,  // stores a new version of the object (NotFound if there is none)
    Delete,  // removes the object (NotFound if there is none)
  };
  // What a write verb supplies: from the stored object (null only for Create, when there is
  // none), the object to store (for Delete: the one removed), or the error the API server would
  // answer instead.
  using MakeObject = std::function<StatusOr<json>(json* current)>;
  // The path every write takes (memory_cluster.cc says in what order); `verb` as counted and
  // matched by failNextForTest.
  StatusOr<json> write(const std::string& verb, WriteOp op, const ResourceType& type,
                       const std::string& ns, const std::string& name, bool dryRun,
                       const MakeObject& make);

  std::unique_ptr<State> state_;
};

}  // namespace sandboxd
