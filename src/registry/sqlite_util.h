// Helpers shared by the SQLite registry's files: turning SQLiteCpp exceptions into Status
// and opening a connection configured the way every sandboxd connection must be.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <sqlite3.h>

#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <thread>

#include "sandboxd/common/status.h"

namespace sandboxd::registry {

// True for "database is locked"/busy: another connection holds the write lock past our
// busy timeout. The caller may retry later.
inline bool isBusy(const SQLite::Exception& e) {
  const int primary = e.getErrorCode() & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

// The single place an exception from SQLiteCpp (or anything else thrown below the registry)
// becomes a Status: Unavailable when the database is busy, Internal otherwise.
inline Status statusFromException(const std::exception& e, const std::string& context) {
  if (const auto* se = dynamic_cast<const SQLite::Exception*>(&e)) {
    if (isBusy(*se)) {
      return unavailable(context + ": database is busy, retry later (" + se->what() + ")");
    }
  }
  return internalError(context + ": " + e.what());
}

// Opens `path` (creating it) and applies the per-connection settings: busy timeout,
// journal_mode=WAL (files only; it persists in the file), foreign_keys=ON, synchronous=NORMAL.
// Throws SQLite::Exception.
inline std::unique_ptr<SQLite::Database> openConnection(const std::string& path,
                                                        int busyTimeoutMs) {
  auto db = std::make_unique<SQLite::Database>(
      path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLITE_OPEN_NOMUTEX, busyTimeoutMs);
  const bool inMemory = path.empty() || path == ":memory:" || path.rfind("file::memory:", 0) == 0;
  if (!inMemory) {
    // Switching a new file to WAL needs an exclusive lock. While another process is creating
    // the same file (its first open, migrations), SQLite answers BUSY at once instead of
    // waiting (deadlock avoidance), so the busy timeout does not cover it: retry within it.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(busyTimeoutMs);
    for (;;) {
      try {
        db->exec("PRAGMA journal_mode=WAL");
        break;
      } catch (const SQLite::Exception& e) {
        if (!isBusy(e) || std::chrono::steady_clock::now() >= deadline) {
          throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  }
  db->exec("PRAGMA foreign_keys=ON");
  db->exec("PRAGMA synchronous=NORMAL");
  return db;
}

}  // namespace sandboxd::registry
