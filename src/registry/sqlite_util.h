// Helpers shared by the SQLite registry's files: turning SQLiteCpp exceptions into Status
// and opening a connection configured the way every sandboxd connection must be.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <sqlite3.h>

#include <SQLiteCpp/Statement.h>

#include <chrono>
#include <map>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "sandboxd/common/status.h"
#include "sandboxd/common/time_source.h"

namespace sandboxd::registry {

// Timestamps are stored as INTEGER unix milliseconds (UTC).
inline int64_t toUnixMillis(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline SystemTime fromUnixMillis(int64_t ms) {
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(std::chrono::milliseconds(ms)));
}

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

// True for the paths SQLite opens as a database in memory (no file, no write-ahead log).
inline bool isInMemory(const std::string& path) {
  return path.empty() || path == ":memory:" || path.rfind("file::memory:", 0) == 0;
}

// The least string above every string that starts with `prefix` (byte order, as SQLite's
// BINARY collation compares): `prefix` with its last byte below 0xFF raised by one, the bytes
// after it dropped. nullopt when there is none (empty, or all 0xFF).
inline std::optional<std::string> prefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last != 0xFF) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return std::nullopt;
}

// Opens `path` (creating it) and applies the per-connection settings: busy timeout,
// journal_mode=WAL (files only; it persists in the file), foreign_keys=ON, synchronous=NORMAL.
// Throws SQLite::Exception.
inline std::unique_ptr<SQLite::Database> openConnection(const std::string& path,
                                                        int busyTimeoutMs) {
  auto db = std::make_unique<SQLite::Database>(
      path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLITE_OPEN_NOMUTEX, busyTimeoutMs);
  if (!isInMemory(path)) {
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

// Prepared statements of one connection, kept and reused: preparing (parsing, planning) costs
// more than running the small queries the registry makes. Not thread-safe: used under the
// lock that guards the connection. Destroy it before the connection.
class StatementCache {
 public:
  explicit StatementCache(SQLite::Database& db) : db_(db) {}

  // One use of the statement for `sql`: bind, step, read; when it goes out of scope the
  // statement is reset (ending its read) and its bindings cleared. A statement already in use
  // further up the stack gets a fresh, unshared one instead.
  class Use {
   public:
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;
    ~Use() {
      statement_->tryReset();
      try {
        statement_->clearBindings();
      } catch (const std::exception&) {
        // Cannot fail for a valid statement; nothing to do about it here anyway.
      }
      if (inUse_ != nullptr) {
        *inUse_ = false;
      }
    }
    SQLite::Statement& operator*() { return *statement_; }

   private:
    friend class StatementCache;
    Use(SQLite::Statement* statement, bool* inUse, std::unique_ptr<SQLite::Statement> owned)
        : statement_(statement), inUse_(inUse), owned_(std::move(owned)) {}
    SQLite::Statement* statement_;
    bool* inUse_;                              // null for an unshared statement
    std::unique_ptr<SQLite::Statement> owned_;  // the unshared statement
  };

  // Throws SQLite::Exception (as preparing does).
  Use get(const std::string& sql) {
    Entry& entry = entries_[sql];
    if (entry.statement == nullptr) {
      entry.statement = std::make_unique<SQLite::Statement>(db_, sql);
    }
    if (entry.inUse) {
      auto fresh = std::make_unique<SQLite::Statement>(db_, sql);
      SQLite::Statement* raw = fresh.get();
      return Use(raw, nullptr, std::move(fresh));
    }
    entry.inUse = true;
    return Use(entry.statement.get(), &entry.inUse, nullptr);
  }

 private:
  struct Entry {
    std::unique_ptr<SQLite::Statement> statement;
    bool inUse = false;
  };
  SQLite::Database& db_;
  std::map<std::string, Entry> entries_;
};

}  // namespace sandboxd::registry
