// ActivityTracker: what a frontend reports while its user works (POST
// /api/v1/sandboxes/{name}/activity), kept off the request's path. A report only notes the
// time in memory; a thread of the tracker's own stores what was noted, newest time per
// sandbox, in one commit every `interval` (Registry::recordActivity, which only ever raises a
// row's lastActivityAt), and stop() stores the rest. Idle auto-stop asks pending() as well as
// the row, so a report counts from the moment it is made.
//
// A crash loses at most one interval of reports: an idle period then counts from the one
// before, which stops a sandbox at most that much early.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "sandboxd/registry/registry.h"

namespace sandboxd {

struct ActivityTrackerOptions {
  std::chrono::milliseconds interval{1000};
  bool background = true;  // false: stored only by flush() and stop() (tests)
};

class ActivityTracker {
 public:
  explicit ActivityTracker(RegistryPtr registry, ActivityTrackerOptions options = {});
  ~ActivityTracker();  // stop()s
  ActivityTracker(const ActivityTracker&) = delete;
  ActivityTracker& operator=(const ActivityTracker&) = delete;

  // Notes activity on sandbox `name` (of id `sandboxId`) at `at`. After stop(), stored at once.
  void touch(const std::string& name, const std::string& sandboxId, SystemTime at);
  // The newest activity noted and not stored yet for that sandbox.
  std::optional<SystemTime> pending(const std::string& name, const std::string& sandboxId) const;
  // Stores what is noted now, in one commit.
  Status flush();
  // Stops the thread and stores what is noted. Idempotent.
  void stop();

 private:
  void loop();

  const RegistryPtr registry_;
  const ActivityTrackerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::map<std::string, Registry::Activity> noted_;  // by name; guarded by mu_
  bool stopping_ = false;                            // guarded by mu_
  std::mutex flushMu_;                               // one flush at a time
  std::thread thread_;                               // started by the first touch
};

using ActivityTrackerPtr = std::shared_ptr<ActivityTracker>;

}  // namespace sandboxd
