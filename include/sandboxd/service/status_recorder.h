// StatusRecorder: records the status a read observed (the sandbox's "last known status", what
// the API shows when the cluster cannot be reached, and the workload kind the reconciler
// repairs) off the read's path. A status read answers from memory and queues the record here;
// a thread of the recorder's own stores what is queued, coalesced by sandbox (the newest
// read's wins), in one transaction (Registry::updateSandboxes) every `interval`, and stop()
// (serve's shutdown, after the API server has finished its requests) stores the rest.
//
// Each record is stored compare-and-set on the version the read saw: a sandbox written
// meanwhile (a stop, the reconciler's verdict, a delete) keeps what was written, and its next
// read records again, as the read itself did when it recorded at once. While a batch is stored
// the per-sandbox locks of its sandboxes are held, so that the write cannot slip between a
// request's read of a row and its write of it (which would fail that request as a concurrent
// modification).
//
// A crash loses at most one interval of records; nothing depends on them being there: the
// next read (or list) derives the status from the cluster again and records it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sandboxd/registry/registry.h"
#include "sandboxd/service/sandbox_locks.h"

namespace sandboxd {

struct StatusRecorderOptions {
  std::chrono::milliseconds interval{500};
  // false: stored only by flush() and stop() (tests).
  bool background = true;
};

class StatusRecorder {
 public:
  StatusRecorder(RegistryPtr registry, SandboxLocksPtr locks, StatusRecorderOptions options = {});
  ~StatusRecorder();  // stop()s
  StatusRecorder(const StatusRecorder&) = delete;
  StatusRecorder& operator=(const StatusRecorder&) = delete;

  // Queues `record`: the row as read (its version) with the observed status in phase, reason,
  // message and workload. Replaces a record of the same sandbox still queued. After stop(),
  // stored at once.
  void record(SandboxRecord record);
  // Stores every record queued now; returns how many rows it wrote (a record whose row
  // changed or went away meanwhile is dropped).
  size_t flush();
  // Stops the thread and stores what is queued. Idempotent.
  void stop();
  size_t pending() const;

 private:
  void loop();
  // Stores `batch` in one transaction, holding its sandboxes' locks; returns the rows written.
  size_t store(const std::vector<SandboxRecord>& batch);
  // Rows per transaction: the locks of a batch's sandboxes are held while it commits.
  static constexpr size_t kBatchRows = 1000;

  const RegistryPtr registry_;
  const SandboxLocksPtr locks_;
  const StatusRecorderOptions options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::map<std::string, SandboxRecord> queued_;  // guarded by mu_
  bool stopping_ = false;                         // guarded by mu_
  std::mutex flushMu_;                            // one flush at a time
  std::thread thread_;                            // started by the first record
};

using StatusRecorderPtr = std::shared_ptr<StatusRecorder>;

}  // namespace sandboxd
