#include "registry/wal_checkpointer.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "registry/sqlite_util.h"
#include "support/test_dir.h"

namespace sandboxd::registry {
namespace {

constexpr int kPageBytes = 4096;  // SQLite's default page size

class WalCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = openConnection(path_, 5000);
    db_->exec("CREATE TABLE t (b BLOB)");
  }

  // `commits` commits of 16 KB each: about five pages of the log apiece.
  void write(int commits) {
    for (int i = 0; i < commits; ++i) {
      db_->exec("INSERT INTO t (b) VALUES (randomblob(16000))");
    }
  }
  int64_t logBytes() const { return std::filesystem::file_size(path_ + "-wal"); }
  int64_t rowsSeenByAnotherConnection() const {
    SQLite::Database other(path_, SQLite::OPEN_READONLY);
    SQLite::Statement q(other, "SELECT count(*) FROM t");
    q.executeStep();
    return q.getColumn(0).getInt64();
  }

  testing::TestDir dir_{"sandboxd-wal-test"};
  const std::string path_ = (dir_ / "db").string();
  std::unique_ptr<SQLite::Database> db_;  // closed before dir_ goes
};

// With the hook installed, a commit past 1,000 pages no longer checkpoints: the log keeps
// every page written (SQLite's own checkpoint would have started it over at ~1,000).
TEST_F(WalCheckpointerTest, CommitsNoLongerCheckpointThemselves) {
  WalCheckpointer checkpointer(*db_, path_, 5000, /*pages=*/1 << 30);
  write(300);
  EXPECT_GE(logBytes(), 1300 * kPageBytes);
  EXPECT_EQ(checkpointer.stats().checkpoints, 0);
}

TEST_F(WalCheckpointerTest, ItsThreadCheckpointsOncePastItsPages) {
  WalCheckpointer checkpointer(*db_, path_, 5000, /*pages=*/64);
  write(40);  // ~200 pages: each commit past 64 asks; the thread runs while they continue
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (checkpointer.stats().checkpoints == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto stats = checkpointer.stats();
  ASSERT_GE(stats.checkpoints, 1);
  EXPECT_GE(stats.lastLogPages, 64);
  EXPECT_GT(stats.lastCopied, 0);  // copied into the database file, no reader holding them
  EXPECT_LE(stats.lastCopied, stats.lastLogPages);
  EXPECT_EQ(rowsSeenByAnotherConnection(), 40);
}

TEST_F(WalCheckpointerTest, GoingRestoresSqlitesOwnCheckpoint) {
  { WalCheckpointer checkpointer(*db_, path_, 5000, /*pages=*/1 << 30); }
  write(600);  // ~3,000 pages: started over at ~1,000 each time
  EXPECT_LT(logBytes(), 2000 * kPageBytes);
  EXPECT_EQ(rowsSeenByAnotherConnection(), 600);
}

TEST_F(WalCheckpointerTest, AConnectionThatWillNotOpenIsAnError) {
  EXPECT_THROW(WalCheckpointer(*db_, (dir_ / "no" / "such" / "db").string(), 5000, 64),
               std::exception);
}

}  // namespace
}  // namespace sandboxd::registry
