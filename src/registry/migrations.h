// Schema migrations for the SQLite registry: discovery (a directory or the embedded
// migrations/*.sql) and application in one IMMEDIATE transaction.
#pragma once

#include <SQLiteCpp/Database.h>

#include <string>
#include <vector>

#include "sandboxd/common/status.h"

namespace sandboxd::registry {

struct Migration {
  int version = 0;   // the file's number: 0002_add_x.sql -> 2
  std::string name;  // file name, for messages
  std::string sql;
};

// Parses "NNNN_description.sql" into its number; nullopt-like -1 if the name does not match.
int migrationNumber(const std::string& fileName);

// Migrations from `dir` (every *.sql file must be named NNNN_*.sql), or the embedded ones when
// `dir` is empty; sorted by version. InvalidArgument on duplicate numbers or bad names,
// NotFound if `dir` does not exist, FailedPrecondition if there are none at all.
StatusOr<std::vector<Migration>> loadMigrations(const std::string& dir);

// Applies the pending migrations to `db` in one BEGIN IMMEDIATE transaction that also sets
// PRAGMA user_version. Returns the resulting version. FailedPrecondition if the database is
// newer than the newest migration; a failing migration rolls everything back.
StatusOr<int> applyMigrations(SQLite::Database& db, const std::vector<Migration>& migrations);

// PRAGMA user_version. Throws SQLite::Exception.
int readUserVersion(SQLite::Database& db);

}  // namespace sandboxd::registry
