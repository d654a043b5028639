#include "registry/migrations.h"

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "registry/sqlite_util.h"
#include "sandboxd/common/embedded_files.h"

namespace sandboxd::registry {
namespace {

constexpr int kMaxMigrationNumber = 1000000;

std::string baseName(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

StatusOr<std::string> readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return internalError("cannot read migration " + path.string());
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

int migrationNumber(const std::string& fileName) {
  if (!endsWith(fileName, ".sql")) {
    return -1;
  }
  size_t i = 0;
  while (i < fileName.size() && std::isdigit(static_cast<unsigned char>(fileName[i]))) {
    ++i;
  }
  if (i == 0 || i > 7 || i >= fileName.size() || fileName[i] != '_') {
    return -1;
  }
  const int n = std::stoi(fileName.substr(0, i));
  return n >= 1 && n <= kMaxMigrationNumber ? n : -1;
}

StatusOr<std::vector<Migration>> loadMigrations(const std::string& dir) {
  std::vector<Migration> out;
  const std::string source = dir.empty() ? std::string("embedded migrations/") : dir;
  auto add = [&](const std::string& name, std::string sql) -> Status {
    const int n = migrationNumber(name);
    if (n < 0) {
      return invalidArgument("migration file " + name + " in " + source +
                             " is not named NNNN_description.sql");
    }
    out.push_back({n, name, std::move(sql)});
    return Status::ok();
  };

  if (dir.empty()) {
    for (const auto& [path, contents] : embeddedFilesUnder("migrations/")) {
      const std::string name = baseName(path);
      if (endsWith(name, ".sql")) {
        RETURN_IF_ERROR(add(name, contents));
      }
    }
  } else {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
      return notFound("migrations directory " + dir + " does not exist");
    }
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (!entry.is_regular_file() || !endsWith(name, ".sql")) {
        continue;  // READMEs and the like
      }
      ASSIGN_OR_RETURN(std::string sql, readFile(entry.path()));
      RETURN_IF_ERROR(add(name, std::move(sql)));
    }
    if (ec) {
      return internalError("cannot list migrations directory " + dir + ": " + ec.message());
    }
  }

  std::sort(out.begin(), out.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (size_t i = 1; i < out.size(); ++i) {
    if (out[i].version == out[i - 1].version) {
      return invalidArgument("migrations " + out[i - 1].name + " and " + out[i].name + " in " +
                             source + " have the same number");
    }
  }
  if (out.empty()) {
    return failedPrecondition("no migrations found in " + source);
  }
  return out;
}

int readUserVersion(SQLite::Database& db) {
  SQLite::Statement query(db, "PRAGMA user_version");
  query.executeStep();
  return query.getColumn(0).getInt();
}

StatusOr<int> applyMigrations(SQLite::Database& db, const std::vector<Migration>& migrations) {
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  auto tooNew = [latest](int current) {
    return failedPrecondition("database schema version " + std::to_string(current) +
                              " is newer than this sandboxd supports (" +
                              std::to_string(latest) + "); upgrade sandboxd");
  };
  try {
    int current = readUserVersion(db);
    if (current > latest) {
      return tooNew(current);
    }
    if (current == latest) {
      return current;
    }
    // IMMEDIATE takes the write lock up front, so two processes starting at once serialise
    // here; re-read the version under the lock because the other one may have migrated.
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    current = readUserVersion(db);
    if (current > latest) {
      return tooNew(current);
    }
    for (const Migration& m : migrations) {
      if (m.version <= current) {
        continue;
      }
      try {
        db.exec(m.sql);
      } catch (const std::exception& e) {
        // `tx` rolls back every migration of this run, and user_version with them.
        return statusFromException(e, "migration " + m.name + " failed");
      }
    }
    // PRAGMA arguments cannot be bound; `latest` is an int we parsed, so formatting is safe.
    db.exec("PRAGMA user_version = " + std::to_string(latest));
    tx.commit();
    return latest;
  } catch (const std::exception& e) {
    return statusFromException(e, "applying migrations");
  }
}

}  // namespace sandboxd::registry
