// Snapshot rows in the SQLite registry (migration 0006): written with their operation,
// listed newest first by sandbox name, updated, deleted; the operation record's new kind.
#include <gtest/gtest.h>

#include <chrono>

#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "sandboxd/registry/registry.h"

namespace sandboxd {
namespace {

class SnapshotRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    time_ = std::make_shared<testing::SimulatedTimeSource>();
    auto r = openSqliteRegistry(":memory:", time_);
    ASSERT_OK(r);
    registry_ = *r;
  }

  SnapshotRecord snapshot(const std::string& id, const std::string& sandbox) {
    SnapshotRecord s;
    s.id = id;
    s.sandbox = sandbox;
    s.sandboxId = "sid-" + sandbox;
    s.user = "alice";
    s.nameSpace = "default";
    s.objectName = snapshotObjectName(sandbox, id);
    s.createdAt = time_->systemTime();
    return s;
  }

  OperationRecord operation(const std::string& sandbox, OperationKind kind) {
    OperationRecord op;
    op.sandbox = sandbox;
    op.sandboxId = "sid-" + sandbox;
    op.kind = kind;
    op.user = "alice";
    return op;
  }

  std::shared_ptr<testing::SimulatedTimeSource> time_;
  RegistryPtr registry_;
};

TEST_F(SnapshotRegistryTest, RowsRoundTripNewestFirst) {
  SnapshotRecord first = snapshot("aaaa01", "demo");
  first.label = "before";
  ASSERT_OK(registry_->insertSnapshot(first, nullptr));
  time_->advance(std::chrono::seconds(5));
  ASSERT_OK(registry_->insertSnapshot(snapshot("bbbb02", "demo"), nullptr));
  ASSERT_OK(registry_->insertSnapshot(snapshot("cccc03", "other"), nullptr));

  auto listed = registry_->listSnapshots("demo");
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, "bbbb02");
  EXPECT_EQ((*listed)[1].id, "aaaa01");
  EXPECT_EQ((*listed)[1].label, "before");
  EXPECT_EQ((*listed)[1].objectName, "demo-snap-aaaa01");
  EXPECT_EQ((*listed)[1].state, SnapshotState::Pending);
  EXPECT_FALSE((*listed)[1].readyAt.has_value());
  EXPECT_KIND(registry_->insertSnapshot(first, nullptr), AlreadyExists);
}

TEST_F(SnapshotRegistryTest, UpdateAndDelete) {
  ASSERT_OK(registry_->insertSnapshot(snapshot("aaaa01", "demo"), nullptr));
  auto s = registry_->getSnapshot("aaaa01");
  ASSERT_OK(s);
  s->state = SnapshotState::Ready;
  s->size = "5Gi";
  s->readyAt = time_->systemTime();
  ASSERT_OK(registry_->updateSnapshot(*s));
  auto read = registry_->getSnapshot("aaaa01");
  ASSERT_OK(read);
  EXPECT_EQ(read->state, SnapshotState::Ready);
  EXPECT_EQ(read->size, "5Gi");
  ASSERT_TRUE(read->readyAt.has_value());
  ASSERT_OK(registry_->deleteSnapshot("aaaa01"));
  EXPECT_KIND(registry_->getSnapshot("aaaa01"), NotFound);
  EXPECT_KIND(registry_->deleteSnapshot("aaaa01"), NotFound);
  EXPECT_KIND(registry_->updateSnapshot(*s), NotFound);
}

TEST_F(SnapshotRegistryTest, TheOperationIsWrittenWithTheRowAndSupersedesNothing) {
  ASSERT_OK(registry_->addOperation(operation("demo", OperationKind::Stop)));
  OperationRecord op = operation("demo", OperationKind::Snapshot);
  auto id = registry_->insertSnapshot(snapshot("aaaa01", "demo"), &op);
  ASSERT_OK(id);
  EXPECT_GT(*id, 0);
  auto ops = registry_->listOperations("sid-demo", 10);
  ASSERT_OK(ops);
  ASSERT_EQ(ops->size(), 2u);
  EXPECT_EQ((*ops)[0].kind, OperationKind::Snapshot);
  EXPECT_EQ((*ops)[1].kind, OperationKind::Stop);
  EXPECT_EQ((*ops)[1].state, OperationState::Pending) << "the stop is still pending";

  // A lifecycle request supersedes the pending stop, not the pending snapshot.
  ASSERT_OK(registry_->addOperation(operation("demo", OperationKind::Start)));
  ops = registry_->listOperations("sid-demo", 10);
  ASSERT_OK(ops);
  EXPECT_EQ((*ops)[1].state, OperationState::Pending) << "snapshot";
  EXPECT_EQ((*ops)[2].state, OperationState::Superseded) << "stop";
}

TEST_F(SnapshotRegistryTest, ABadIdIsRefusedByTheSchema) {
  EXPECT_FALSE(registry_->insertSnapshot(snapshot("NOT-HEX", "demo"), nullptr).isOk());
  EXPECT_TRUE(registry_->listSnapshots("demo")->empty());
}

}  // namespace
}  // namespace sandboxd

namespace sandboxd {
namespace {

TEST(SnapshotTimesTest, TheNewestSnapshotOfEachSandboxIdInOneRead) {
  auto time = std::make_shared<testing::SimulatedTimeSource>();
  auto opened = openSqliteRegistry(":memory:", time);
  ASSERT_OK(opened);
  RegistryPtr registry = *opened;
  auto empty = registry->newestSnapshotTimes();
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());

  const auto add = [&](const std::string& id, const std::string& sandboxId,
                       const std::string& label) {
    SnapshotRecord s;
    s.id = id;
    s.sandbox = "demo";
    s.sandboxId = sandboxId;
    s.user = "alice";
    s.objectName = snapshotObjectName("demo", id);
    s.label = label;
    s.createdAt = time->systemTime();
    ASSERT_OK(registry->insertSnapshot(s, nullptr));
  };
  add("a1", "sid-old", "");
  time->advance(std::chrono::hours(1));
  const SystemTime second = time->systemTime();
  add("a2", "sid-old", "labelled");  // a labelled one counts too
  time->advance(std::chrono::hours(1));
  add("b1", "sid-new", "");
  time->advance(std::chrono::hours(1));
  add("a0", "sid-old", "");
  const SystemTime latest = time->systemTime();

  auto newest = registry->newestSnapshotTimes();
  ASSERT_OK(newest);
  ASSERT_EQ(newest->size(), 2u);
  EXPECT_EQ(newest->at("sid-old"), latest);
  EXPECT_EQ(newest->at("sid-new"), second + std::chrono::hours(1));
  ASSERT_OK(registry->deleteSnapshot("a0"));
  EXPECT_EQ(registry->newestSnapshotTimes()->at("sid-old"), second);
}

}  // namespace
}  // namespace sandboxd
