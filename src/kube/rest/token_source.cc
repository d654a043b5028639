#include "kube/rest/token_source.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <fstream>
#include <sstream>

namespace sandboxd::rest {

StatusOr<std::string> TokenSource::current() {
  if (file_.empty()) {
    return static_;
  }
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(file_, ec);
  const bool changed = ec || !loaded_ || mtime != mtime_;
  if (!changed && now - readAt_ < kRereadInterval) {
    return cached_;
  }
  std::ifstream in(file_, std::ios::binary);
  std::stringstream ss;
  if (in) {
    ss << in.rdbuf();
  }
  if (!in) {
    if (loaded_) {
      // Keep the last good token; the file may be in the middle of a rotation.
      spdlog::warn("kube: cannot re-read token file {}, keeping the previous token", file_);
      return cached_;
    }
    return unauthenticated("cannot read the bearer token file " + file_);
  }
  std::string token = ss.str();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
    token.pop_back();
  }
  cached_ = std::move(token);
  mtime_ = ec ? std::filesystem::file_time_type{} : mtime;
  readAt_ = now;
  loaded_ = true;
  return cached_;
}

void TokenSource::invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  loaded_ = false;
}

}  // namespace sandboxd::rest
