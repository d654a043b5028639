#include "registry/wal_checkpointer.h"

#include <sqlite3.h>

#include <spdlog/spdlog.h>

#include "registry/sqlite_util.h"

namespace sandboxd::registry {

WalCheckpointer::WalCheckpointer(SQLite::Database& db, const std::string& path,
                                 int busyTimeoutMs, int pages)
    : db_(db), own_(openConnection(path, busyTimeoutMs)), pages_(pages) {
  sqlite3_wal_hook(db_.getHandle(), &WalCheckpointer::onCommit, this);
}

WalCheckpointer::~WalCheckpointer() {
  // The default hook is the automatic checkpoint at 1,000 pages.
  sqlite3_wal_autocheckpoint(db_.getHandle(), 1000);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

WalCheckpointer::Stats WalCheckpointer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

// On the committing thread, right after its commit: only a flag and a wake-up.
int WalCheckpointer::onCommit(void* self, sqlite3*, const char*, int logPages) {
  auto* c = static_cast<WalCheckpointer*>(self);
  if (logPages < c->pages_) {
    return SQLITE_OK;
  }
  {
    std::lock_guard<std::mutex> lock(c->mu_);
    if (c->wanted_ || c->stopping_) {
      return SQLITE_OK;
    }
    c->wanted_ = true;
    if (!c->thread_.joinable()) {
      c->thread_ = std::thread([c] { c->loop(); });
    }
  }
  c->cv_.notify_one();
  return SQLITE_OK;
}

void WalCheckpointer::loop() {
  bool failing = false;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || wanted_; });
    if (stopping_) {
      return;
    }
    wanted_ = false;
    lock.unlock();
    int logPages = 0;
    int copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(own_->getHandle(), nullptr,
                                             SQLITE_CHECKPOINT_PASSIVE, &logPages, &copied);
    // BUSY: another connection (another process) is checkpointing; a later commit asks again.
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && !failing) {
      spdlog::warn("registry: checkpoint of the write-ahead log failed: {}",
                   sqlite3_errmsg(own_->getHandle()));
    }
    failing = rc != SQLITE_OK && rc != SQLITE_BUSY;
    lock.lock();
    if (rc == SQLITE_OK) {
      ++stats_.checkpoints;
      stats_.lastLogPages = logPages;
      stats_.lastCopied = copied;
    }
  }
}

}  // namespace sandboxd::registry
