// TokenSource: the bearer token the REST client sends, either static (from a kubeconfig) or
// re-read from its file when it changes (projected service account tokens rotate).
#pragma once

#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <utility>

#include "sandboxd/common/status.h"

namespace sandboxd::rest {

class TokenSource {
 public:
  TokenSource(std::string token, std::string file)
      : static_(std::move(token)), file_(std::move(file)) {}

  bool usesFile() const { return !file_.empty(); }

  // The token to send ("" = none). The file is read again when it changed, and at least once a
  // minute; while it cannot be read, the last good token is kept.
  StatusOr<std::string> current();

  // Forces the next current() to re-read the file (after a 401).
  void invalidate();

 private:
  static constexpr std::chrono::seconds kRereadInterval{60};

  const std::string static_;
  const std::string file_;
  std::mutex mu_;
  std::string cached_;
  std::filesystem::file_time_type mtime_{};
  std::chrono::steady_clock::time_point readAt_{};
  bool loaded_ = false;
};

}  // namespace sandboxd::rest
