// The rows the SQLite registry holds in memory are made in the long-lived objects' heap arena
// (common/heap.h), whether a write made them or a read of the file: at 100,000 sandboxes they
// are a third of serve's heap, and among requests' garbage they pinned its pages.
#include <gtest/gtest.h>

#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "sandboxd/common/heap.h"
#include "sandboxd/registry/registry.h"
#include "support/test_dir.h"

namespace sandboxd {
namespace {

constexpr int kRows = 500;

SandboxRecord record(int i) {
  SandboxRecord r;
  r.name = "held-rows-sandbox-" + std::to_string(i);
  r.user = "alice-with-a-long-user-name";
  r.nameSpace = "sandboxes";
  r.sandboxId = "0f8fad5b-d9cb-469f-a165-70867728950e";
  r.image = "ghcr.io/example/runtime:1.2.3-with-a-long-tag";
  r.env = {{"FOO", "a value longer than the short string buffer"}};
  r.storage = "5Gi";
  r.message = "StatefulSet held-rows-sandbox is ready (1 of 1 replicas ready)";
  return r;
}

size_t longLivedBytes() { return heapStats()->longLivedAllocated; }

TEST(HeldRowsHeapTest, RowsHeldInMemoryLiveInTheLongLivedArena) {
  testing::TestDir dir{"sandboxd-held-rows-test"};
  const std::string path = (dir / "sandboxd.db").string();
  auto time = std::make_shared<testing::SimulatedTimeSource>();
  auto opened = openSqliteRegistry(path, time);
  ASSERT_OK(opened);
  RegistryPtr writer = *opened;
  ASSERT_OK(writer->listSandboxes(std::nullopt));  // rows held from here on
  const bool arenas = heapStats().has_value();
  if (!arenas) {  // built without jemalloc (sanitizers): no arena, the rows as ever
    EXPECT_EQ(longLivedHeapArena(), -1);
  }
  // Each row: the record, its heap strings and its map node, several hundred bytes.
  const size_t atLeast = kRows * sizeof(SandboxRecord);

  const size_t before = arenas ? longLivedBytes() : 0;
  for (int i = 0; i < kRows; ++i) {
    ASSERT_OK(writer->insertSandbox(record(i)));
  }
  auto listed = writer->listSandboxes(std::nullopt);
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), static_cast<size_t>(kRows));
  if (arenas) {
    EXPECT_GE(longLivedBytes(), before + atLeast) << "rows made by writes";
  }

  listed->clear();  // it shares the rows held

  // Rows an update makes replace the old ones there: no growth per update.
  const size_t afterInserts = arenas ? longLivedBytes() : 0;
  for (int i = 0; i < kRows; ++i) {
    auto row = writer->getSandbox(record(i).name);
    ASSERT_OK(row);
    row->message = "StatefulSet held-rows-sandbox is stopped (0 of 0 replicas ready)";
    ASSERT_OK(writer->updateSandbox(*row));
  }
  auto updated = writer->getSandbox(record(7).name);
  ASSERT_OK(updated);
  EXPECT_EQ(updated->message, "StatefulSet held-rows-sandbox is stopped (0 of 0 replicas ready)");
  if (arenas) {
    EXPECT_LT(longLivedBytes(), afterInserts + atLeast / 4) << "the old rows were freed";
  }

  // A second connection reads the file's rows: those are made there too.
  auto reader = openSqliteRegistry(path, time);
  ASSERT_OK(reader);
  const size_t beforeRead = arenas ? longLivedBytes() : 0;
  auto read = (*reader)->listSandboxes(std::nullopt);
  ASSERT_OK(read);
  ASSERT_EQ(read->size(), static_cast<size_t>(kRows));
  EXPECT_EQ((*read)[0]->image, record(0).image);
  if (arenas) {
    EXPECT_GE(longLivedBytes(), beforeRead + atLeast) << "rows made by a read of the file";
  }

  // Deleted, they are freed from it.
  const size_t beforeDelete = arenas ? longLivedBytes() : 0;
  for (int i = 0; i < kRows; ++i) {
    ASSERT_OK(writer->deleteSandbox(record(i).name));
  }
  if (arenas) {
    EXPECT_LE(longLivedBytes() + atLeast, beforeDelete) << "deleted rows are freed";
  }
}

}  // namespace
}  // namespace sandboxd
