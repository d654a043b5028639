#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "registry/migrations.h"
#include "sandboxd/common/embedded_files.h"
#include "sandboxd/registry/registry.h"
#include "support/test_dir.h"

namespace sandboxd {
namespace {

int userVersion(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "PRAGMA user_version");
  q.executeStep();
  return q.getColumn(0).getInt();
}

void setUserVersion(const std::string& path, int version) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("PRAGMA user_version = " + std::to_string(version));
}

std::vector<std::string> tables(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
  std::vector<std::string> out;
  while (q.executeStep()) {
    out.push_back(q.getColumn(0).getString());
  }
  return out;
}

bool hasColumn(const std::string& path, const std::string& table, const std::string& column) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT 1 FROM pragma_table_info(?) WHERE name = ?");
  q.bind(1, table);
  q.bind(2, column);
  return q.executeStep();
}

// The newest embedded migration's number, derived independently of the code under test.
int latestEmbedded() {
  auto files = embeddedFilesUnder("migrations/");
  EXPECT_FALSE(files.empty());
  const std::string name = files.rbegin()->first.substr(std::string("migrations/").size());
  return std::stoi(name.substr(0, name.find('_')));
}

class MigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "migrations");
    path_ = (dir_ / "sandboxd.db").string();
    options_.migrationsDir = (dir_ / "migrations").string();
    time_ = std::make_shared<testing::SimulatedTimeSource>();
  }

  void addMigration(const std::string& name, const std::string& sql) {
    std::ofstream(dir_ / "migrations" / name) << sql;
  }
  void addInitMigration() {
    auto init = embeddedFile("migrations/0001_init.sql");
    ASSERT_TRUE(init.has_value());
    addMigration("0001_init.sql", *init);
  }

  testing::TestDir dir_{"sandboxd-migrations-test"};
  std::string path_;
  SqliteRegistryOptions options_;
  std::shared_ptr<testing::SimulatedTimeSource> time_;
};

TEST(MigrationNumberTest, ParsesFileNames) {
  struct Case {
    const char* name;
    int want;
  };
  const Case cases[] = {
      {"0001_init.sql", 1},       {"0002_add_notes.sql", 2}, {"0120_x.sql", 120},
      {"1_short.sql", 1},         {"0000_zero.sql", -1},     {"init.sql", -1},
      {"0001init.sql", -1},       {"0001_init.txt", -1},     {"0001_init.sql.bak", -1},
      {"_0001_init.sql", -1},     {"00000001_long.sql", -1}, {"0001_.sql", 1},
  };
  for (const Case& tc : cases) {
    EXPECT_EQ(registry::migrationNumber(tc.name), tc.want) << tc.name;
  }
}

TEST(EmbeddedMigrationsTest, AreNumberedFromOneWithoutGaps) {
  auto migrations = registry::loadMigrations("");
  ASSERT_OK(migrations);
  ASSERT_FALSE(migrations->empty());
  for (size_t i = 0; i < migrations->size(); ++i) {
    EXPECT_EQ((*migrations)[i].version, static_cast<int>(i) + 1) << (*migrations)[i].name;
    EXPECT_FALSE((*migrations)[i].sql.empty());
  }
  EXPECT_EQ(migrations->back().version, latestEmbedded());
}

TEST_F(MigrationsTest, FreshDatabaseGetsTheLatestVersion) {
  auto registry = openSqliteRegistry(path_, time_);
  ASSERT_OK(registry);
  EXPECT_EQ((*registry)->schemaVersion(), latestEmbedded());
  EXPECT_EQ(userVersion(path_), latestEmbedded());
  auto names = tables(path_);
  for (const char* table : {"blobs", "sandboxes", "tokens"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), table), names.end()) << table;
  }
  SQLite::Database db(path_, SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "wal");
}

TEST_F(MigrationsTest, MigrateDatabaseIsIdempotent) {
  auto first = migrateDatabase(path_);
  ASSERT_OK(first);
  EXPECT_EQ(*first, latestEmbedded());
  auto second = migrateDatabase(path_);
  ASSERT_OK(second);
  EXPECT_EQ(*second, latestEmbedded());
}

TEST_F(MigrationsTest, UpgradeAppliesOnlyPendingMigrationsAndKeepsData) {
  addInitMigration();
  {
    auto registry = openSqliteRegistry(path_, time_, options_);
    ASSERT_OK(registry);
    EXPECT_EQ((*registry)->schemaVersion(), 1);
    ASSERT_OK((*registry)->putBlob("k", "n", "blob"));
  }
  {
    // A row as a version-1 sandboxd wrote it (today's registry writes today's columns).
    SQLite::Database db(path_, SQLite::OPEN_READWRITE);
    db.exec(
        "INSERT INTO sandboxes (name, user, namespace, sandbox_id, env, phase, created_at, "
        "updated_at) VALUES ('kept', 'alice', 'ns', 'id-kept', '{\"K\":\"v\"}', 'RUNNING', 1, 1)");
  }
  EXPECT_FALSE(hasColumn(path_, "sandboxes", "notes"));

  // 0001 would fail if re-run (CREATE TABLE of existing tables): only the embedded ones after
  // it and the test's own last one may run.
  const int latest = latestEmbedded();
  for (const auto& [name, sql] : embeddedFilesUnder("migrations/")) {
    const std::string file = name.substr(std::string("migrations/").size());
    if (file != "0001_init.sql") {
      addMigration(file, sql);
    }
  }
  char notes[32];
  std::snprintf(notes, sizeof notes, "%04d_add_notes.sql", latest + 1);
  addMigration(notes,
               "ALTER TABLE sandboxes ADD COLUMN notes TEXT NOT NULL DEFAULT '';\n"
               "UPDATE sandboxes SET notes = 'migrated';\n");
  addMigration("README.md", "not a migration");
  auto registry = openSqliteRegistry(path_, time_, options_);
  ASSERT_OK(registry);
  EXPECT_EQ((*registry)->schemaVersion(), latest + 1);
  EXPECT_EQ(userVersion(path_), latest + 1);
  EXPECT_TRUE(hasColumn(path_, "sandboxes", "notes"));
  auto kept = (*registry)->getSandbox("kept");
  ASSERT_OK(kept);
  EXPECT_EQ(kept->env.at("K"), "v");
  EXPECT_TRUE(kept->publicPorts.empty());  // 0004: a sandbox from before is owner-only
  EXPECT_EQ(kept->profile, "default");     // 0005: the sandbox.* settings it was made with
  EXPECT_EQ(*(*registry)->getBlob("k", "n"), "blob");
  SQLite::Database db(path_, SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("SELECT notes FROM sandboxes WHERE name = 'kept'").getString(),
            "migrated");
}

TEST_F(MigrationsTest, NewerDatabaseIsRefused) {
  setUserVersion(path_, 999);
  auto registry = openSqliteRegistry(path_, time_);
  EXPECT_KIND(registry, FailedPrecondition);
  ASSERT_FALSE(registry.isOk());
  EXPECT_EQ(registry.status().message(),
            "database schema version 999 is newer than this sandboxd supports (" +
                std::to_string(latestEmbedded()) + "); upgrade sandboxd");
  EXPECT_KIND(migrateDatabase(path_), FailedPrecondition);
  EXPECT_EQ(userVersion(path_), 999);
  EXPECT_TRUE(tables(path_).empty());
}

TEST_F(MigrationsTest, FailingMigrationLeavesVersionAndSchemaUnchanged) {
  addInitMigration();
  ASSERT_OK(openSqliteRegistry(path_, time_, options_));
  const auto before = tables(path_);

  // 0002 succeeds on its own; 0003 fails half-way. Neither may stick.
  addMigration("0002_good.sql", "CREATE TABLE good (x INTEGER);");
  addMigration("0003_bad.sql",
               "CREATE TABLE half (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n");
  auto registry = openSqliteRegistry(path_, time_, options_);
  EXPECT_KIND(registry, Internal);
  ASSERT_FALSE(registry.isOk());
  EXPECT_NE(registry.status().message().find("0003_bad.sql"), std::string::npos)
      << registry.status().message();
  EXPECT_EQ(userVersion(path_), 1);
  EXPECT_EQ(tables(path_), before);

  // Fixing the migration lets the next start proceed.
  addMigration("0003_bad.sql", "CREATE TABLE half (x INTEGER);");
  auto fixed = openSqliteRegistry(path_, time_, options_);
  ASSERT_OK(fixed);
  EXPECT_EQ((*fixed)->schemaVersion(), 3);
}

TEST_F(MigrationsTest, FailureOnAFreshDatabaseLeavesItEmpty) {
  addInitMigration();
  addMigration("0002_bad.sql", "THIS IS NOT SQL;");
  EXPECT_KIND(migrateDatabase(path_, options_), Internal);
  EXPECT_EQ(userVersion(path_), 0);
  EXPECT_TRUE(tables(path_).empty());
}

TEST_F(MigrationsTest, MigrationMayNotManageItsOwnTransaction) {
  addInitMigration();
  addMigration("0002_tx.sql", "BEGIN; CREATE TABLE t (x INTEGER); COMMIT;");
  EXPECT_KIND(migrateDatabase(path_, options_), Internal);
  EXPECT_EQ(userVersion(path_), 0);
}

TEST_F(MigrationsTest, BadMigrationDirectories) {
  EXPECT_KIND(migrateDatabase(path_, options_), FailedPrecondition);  // empty

  SqliteRegistryOptions missing;
  missing.migrationsDir = (dir_ / "nope").string();
  EXPECT_KIND(migrateDatabase(path_, missing), NotFound);

  addInitMigration();
  addMigration("init_again.sql", "SELECT 1;");
  EXPECT_KIND(migrateDatabase(path_, options_), InvalidArgument);
  std::filesystem::remove(dir_ / "migrations" / "init_again.sql");

  addMigration("01_duplicate.sql", "SELECT 1;");
  auto dup = migrateDatabase(path_, options_);
  EXPECT_KIND(dup, InvalidArgument);
  std::filesystem::remove(dir_ / "migrations" / "01_duplicate.sql");

  EXPECT_OK(migrateDatabase(path_, options_));
}

TEST_F(MigrationsTest, ConcurrentFirstOpensAllSucceed) {
  std::vector<StatusOr<RegistryPtr>> results(6, StatusOr<RegistryPtr>(internalError("unset")));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = openSqliteRegistry(path_, time_); });
  }
  for (auto& t : threads) {
    t.join();
  }
  for (auto& r : results) {
    ASSERT_OK(r);
    EXPECT_EQ(r.value()->schemaVersion(), latestEmbedded());
  }
}

TEST_F(MigrationsTest, SchemaChecksRejectBadRows) {
  ASSERT_OK(migrateDatabase(path_));
  SQLite::Database db(path_, SQLite::OPEN_READWRITE);
  const std::string cols =
      "INSERT INTO sandboxes (name, user, namespace, sandbox_id, phase, created_at, "
      "updated_at, desired, env) VALUES ";
  EXPECT_NO_THROW(db.exec(cols + "('ok', 'u', 'ns', 'id', 'RUNNING', 1, 1, 'running', '{}')"));
  EXPECT_THROW(db.exec(cols + "('a', 'u', 'ns', 'id', 'RUNNING', 1, 1, 'flying', '{}')"),
               SQLite::Exception);
  EXPECT_THROW(db.exec(cols + "('b', 'u', 'ns', 'id', 'RUNNING', 1, 1, 'running', '[1]')"),
               SQLite::Exception);
  EXPECT_THROW(db.exec(cols + "('c', 'u', 'ns', 'id', 'RUNNING', 'soon', 1, 'running', '{}')"),
               SQLite::Exception);
  EXPECT_THROW(db.exec("INSERT INTO tokens VALUES ('t', 'u', 0, 'plaintext-token', 1)"),
               SQLite::Exception);
}

}  // namespace
}  // namespace sandboxd
