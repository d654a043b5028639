// MemoryCluster::State: what the parts of the simulated cluster share, under one mutex. The
// API server's half (object_store.cc) keeps the objects, their resourceVersions and the event
// history watches read (watch_stream.cc); the controllers' half (controllers.cc) keeps what
// the simulated StatefulSet, Deployment and volume controllers have left to do. Every member
// function expects `mu` to be held.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "kube/sim/memory_cluster.h"
#include "sandboxd/kube/label_selector.h"

namespace sandboxd {
namespace kube_sim {

using Key = std::tuple<std::string, std::string, std::string>;  // plural, ns, name

inline bool isWorkload(const std::string& plural) {
  return plural == "statefulsets" || plural == "deployments";
}

// A selector it does not take (set-based forms): refused rather than matched some other way.
StatusOr<LabelSelector> selectorOf(const std::string& text);

inline Status apiError(ErrorKind kind, const std::string& message) {
  return Status(kind, message);
}

// A Secret's stringData written into data (base64) and dropped, as the API server stores it.
void encodeStringData(const ResourceType& type, json& object);

}  // namespace kube_sim

struct MemoryCluster::State {
  using Key = kube_sim::Key;

  TimeSourcePtr time;
  MemoryClusterOptions options;
  int arena = -1;  // the heap arena its calls allocate in (separateHeapArena), -1: the caller's
  mutable std::mutex mu;
  std::condition_variable changed;  // an event was logged or a watch must end
  std::map<Key, json> objects;
  // Workloads whose simulated controller has work left (created or changed, pods not Ready
  // yet, a pod or claim of theirs touched). reconcile() visits only these, so a call costs
  // O(unsettled workloads × log objects), not O(workloads × pods).
  std::set<Key> unsettled;
  // An unsettled workload that only waits for its pod's readyDelay is not visited before then.
  std::map<Key, MonotonicTime> waitUntil;
  // Pod template hash per workload and generation (the template changes only with it).
  std::map<Key, std::pair<int64_t, std::string>> templateHashes;
  struct LoggedEvent {
    int64_t rv;
    std::string plural;
    std::string ns;
    WatchEventType type;
    json object;
    json previous;  // the labels before a modification (null for Added/Deleted)
  };
  std::deque<LoggedEvent> history;
  int64_t historyFloor = 100;  // watches may resume from any rv >= this
  uint64_t endGeneration = 0;
  uint64_t bookmarkGeneration = 0;
  int goneNext = 0;
  int openWatches = 0;
  std::map<std::string, MonotonicTime> podCreated;  // "ns/name" → when
  std::map<std::string, std::string> podFailures;   // workload → waiting reason
  bool pvcPending = false;
  bool snapshotApi = true;  // the snapshot.storage.k8s.io CRDs are installed
  int64_t resourceVersion = 100;
  int64_t uidCounter = 0;
  struct Failure {
    std::string verb;
    std::string kind;
    Status status;
    int times;
  };
  std::deque<Failure> failures;
  std::map<std::string, int> calls;

  // The API server (object_store.cc).
  std::string nextRv() { return std::to_string(++resourceVersion); }
  std::string newUid();
  // Counts a call of `verb`; the injected fault for it and `kind`, if any.
  Status injected(const std::string& verb, const std::string& kind);
  // Every call but ping starts here: counted, failed if a fault is injected for it, and the
  // controllers brought up to now.
  Status admit(const std::string& verb, const std::string& kind);
  json* find(const std::string& plural, const std::string& ns, const std::string& name);
  // `previous` is kept only as far as watches need it: its labels (a label change moves an
  // object in or out of a filtered watch).
  void logEvent(WatchEventType type, const std::string& plural, const std::string& ns,
                const json& object, const json& previous);
  void store(const std::string& plural, const std::string& ns, json object);
  // Gives a changed object (status only: labels unchanged) the next resourceVersion.
  void bump(json& object, const std::string& plural, const std::string& ns);
  void erase(const Key& key);
  json newObject(const ResourceType& type, const std::string& ns, json object);

  // The storage (storage.cc): the snapshot API's presence, a VolumeSnapshot made ready at once
  // by the simulated CSI driver (with its VolumeSnapshotContent), a claim created through the
  // API bound at once (Pending while the snapshot it is to be filled from is not ready), a
  // VolumeSnapshot's content deleted with it.
  // NotFound as the API server answers for a resource it does not serve.
  Status servedKind(const std::string& kind) const;
  void installSnapshotClass();
  // After `plural` ns/name was created / deleted (`removed`: the object as it was).
  void storageCreated(const std::string& plural, const std::string& ns, const std::string& name);
  void storageDeleted(const std::string& plural, const json& removed);

  // The controllers (controllers.cc).
  // Pods owned by workload `name` of `kind`. Their names start with "<name>-" (StatefulSet
  // ordinal, ReplicaSet hash), so only that range of the map is visited.
  std::vector<Key> podsOf(const std::string& ns, const std::string& name,
                          const std::string& kind) const;
  // An API write touched (plural, ns, name): the workloads it concerns have work to do.
  void touched(const std::string& plural, const std::string& ns, const std::string& name,
               const json& object);
  void touchAllWorkloads();
  // Runs the simulated controllers up to now (for the workloads that have work left).
  void reconcile();
  // Returns true when the workload is settled: nothing will change without a new write.
  bool reconcileWorkload(const Key& key, MonotonicTime now);
  // Returns true when the pod is Ready.
  bool updatePodStatus(json& pod, const std::string& ns, const std::string& workload,
                       MonotonicTime now, bool pvcBound);
};

}  // namespace sandboxd
