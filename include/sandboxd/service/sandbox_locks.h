// Per-sandbox serialization shared by everything that changes a sandbox (the manager's
// request handlers and the reconciler): operations on one name never interleave. Striped, so
// the memory is constant; two names may share a stripe, which only costs concurrency.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace sandboxd {

class SandboxLocks {
 public:
  std::mutex& forName(const std::string& name) {
    return stripes_[std::hash<std::string>{}(name) % stripes_.size()];
  }

 private:
  std::array<std::mutex, 64> stripes_;
};

using SandboxLocksPtr = std::shared_ptr<SandboxLocks>;

}  // namespace sandboxd
