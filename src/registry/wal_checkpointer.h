// Checkpoints a WAL database on a thread of its own.
//
// SQLite's automatic checkpoint runs inside the commit that takes the write-ahead log past 1,000
// pages: that commit copies the log back into the database file and syncs both, on whichever
// request made it (a stop or start's registry write, ~0.2 ms, then took 5–8 ms once every few
// hundred). Installed as a connection's WAL hook, which turns that connection's automatic
// checkpoint off, this hears of every commit and, past `pages`, wakes its thread, which runs a
// PASSIVE checkpoint on a connection of its own: it copies what no reader still needs, never
// waits for a lock and never holds up a writer (https://sqlite.org/wal.html#checkpointing).
// Other processes' connections (the CLI's) keep their own automatic checkpoint.
#pragma once

#include <SQLiteCpp/Database.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace sandboxd::registry {

class WalCheckpointer {
 public:
  // Opens its connection to `path` (the file `db` is open on) now, on the caller's thread, and
  // installs itself as `db`'s WAL hook. Throws SQLite::Exception when the connection cannot be
  // opened; `db` then keeps its automatic checkpoint. Construct and destroy it while nobody
  // else uses `db`.
  WalCheckpointer(SQLite::Database& db, const std::string& path, int busyTimeoutMs, int pages);
  // Removes the hook (restoring `db`'s automatic checkpoint) and stops the thread.
  ~WalCheckpointer();

  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  struct Stats {
    int64_t checkpoints = 0;   // run so far
    int64_t lastLogPages = 0;  // in the log when the last one ran
    int64_t lastCopied = 0;    // of those, in the database file after it
  };
  Stats stats() const;

 private:
  static int onCommit(void* self, sqlite3* db, const char* schema, int logPages);
  void loop();

  SQLite::Database& db_;
  std::unique_ptr<SQLite::Database> own_;  // used by the thread only
  const int pages_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;
  bool stopping_ = false;
  Stats stats_;
  std::thread thread_;  // started by the first commit past `pages`
};

}  // namespace sandboxd::registry
