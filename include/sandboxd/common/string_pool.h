// StringPool: one copy of each distinct string, counted, for maps that hold the same few
// values many times (a status index holds "Running" and its message for most of 100,000
// sandboxes). acquire() returns the pool's copy, stable until the last release() of it.
// Not thread-safe: its owner's lock guards it.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

namespace sandboxd {

class StringPool {
 public:
  // The pool's copy of `s`, counted once more.
  const std::string* acquire(const std::string& s) {
    auto [it, added] = strings_.try_emplace(s, 0);
    ++it->second;
    return &it->first;  // an unordered_map's nodes never move
  }
  // One use of a copy acquire() returned ends; the last frees it. Null: nothing.
  void release(const std::string* s) {
    if (s == nullptr) {
      return;
    }
    const auto it = strings_.find(*s);
    if (it != strings_.end() && --it->second == 0) {
      strings_.erase(it);
    }
  }
  size_t size() const { return strings_.size(); }

 private:
  std::unordered_map<std::string, size_t> strings_;
};

}  // namespace sandboxd
