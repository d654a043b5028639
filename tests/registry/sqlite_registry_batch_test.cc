// Registry::updateSandboxes on SQLite: many compare-and-set updates in one transaction, each
// failing on its own.
#include <gtest/gtest.h>

#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "sandboxd/registry/registry.h"
#include "support/test_dir.h"

namespace sandboxd {
namespace {

SandboxRecord record(const std::string& name) {
  SandboxRecord r;
  r.name = name;
  r.user = "alice";
  r.nameSpace = "sandboxes";
  r.sandboxId = "id-" + name;
  r.image = "ghcr.io/example/runtime:1";
  r.storage = "5Gi";
  return r;
}

TEST(SqliteRegistryBatchTest, EachUpdateOfABatchIsCompareAndSetOnItsOwn) {
  testing::TestDir dir{"sandboxd-registry-batch-test"};
  const std::string path = (dir / "sandboxd.db").string();
  auto time = std::make_shared<testing::SimulatedTimeSource>();
  auto opened = openSqliteRegistry(path, time);
  ASSERT_OK(opened);
  RegistryPtr registry = *opened;
  for (const char* name : {"current", "stale", "gone"}) {
    ASSERT_OK(registry->insertSandbox(record(name)));
  }
  auto current = registry->getSandbox("current");
  auto stale = registry->getSandbox("stale");
  auto gone = registry->getSandbox("gone");
  ASSERT_OK(current);
  ASSERT_OK(stale);
  ASSERT_OK(gone);
  SandboxRecord intent = *stale;  // another writer's, first
  intent.desired = DesiredState::Stopped;
  ASSERT_OK(registry->updateSandbox(intent));
  ASSERT_OK(registry->deleteSandbox("gone"));

  std::vector<SandboxRecord> batch{*current, *stale, *gone, record("nouser")};
  for (SandboxRecord& r : batch) {
    r.phase = Phase::Running;
    r.reason = "Running";
  }
  batch[3].user.clear();
  time->advance(std::chrono::seconds(1));
  auto results = registry->updateSandboxes(batch);
  ASSERT_EQ(results.size(), 4u);
  ASSERT_OK(results[0]);
  EXPECT_EQ(*results[0], 2);
  EXPECT_KIND(results[1], Aborted);
  EXPECT_KIND(results[2], NotFound);
  EXPECT_KIND(results[3], InvalidArgument);

  // What the file holds, through this registry and a second one on the file.
  auto again = openSqliteRegistry(path, time);
  ASSERT_OK(again);
  for (const RegistryPtr& reader : {registry, *again}) {
    auto stored = reader->getSandbox("current");
    ASSERT_OK(stored);
    EXPECT_EQ(stored->phase, Phase::Running);
    EXPECT_EQ(stored->reason, "Running");
    EXPECT_EQ(stored->version, 2);
    EXPECT_EQ(stored->updatedAt, time->systemTime());
    auto kept = reader->getSandbox("stale");
    ASSERT_OK(kept);
    EXPECT_EQ(kept->desired, DesiredState::Stopped) << "the other writer's intent stands";
    EXPECT_EQ(kept->phase, Phase::Creating);
    EXPECT_KIND(reader->getSandbox("gone"), NotFound);
    EXPECT_KIND(reader->getSandbox("nouser"), NotFound);
  }
}

}  // namespace
}  // namespace sandboxd
