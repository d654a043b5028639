// Snapshots beyond create/list/delete (issue 23): deleting all of a sandbox's snapshots
// (a purge with purgeSnapshots), the manager's counters, and the scheduled snapshots
// (snapshots.intervalHours) against the simulated cluster and an in-memory registry.
#include "sandboxd/service/snapshot_manager.h"

#include "sandboxd/service/snapshot_objects.h"
#include "service/service_fixture.h"
#include "service/snapshot_schedule.h"

namespace sandboxd {
namespace {

using testing::ManagerFixture;

class SnapshotExtrasTest : public ManagerFixture {
 protected:
  void SetUp() override {
    ManagerFixture::SetUp();
    config_.snapshots.keep = 2;
    snapshots_ = makeSnapshotManager(registry_, cluster_, service_, config_, time_,
                                     std::make_shared<RandomGeneratorImpl>(), locks_);
    create("demo", alice_);
  }

  void create(const std::string& name, const Caller& who) {
    CreateRequest r;
    r.name = name;
    ASSERT_OK(manager_->create(who, r));
    waitReady();
  }

  size_t volumeSnapshotsInCluster() {
    auto list = cluster_->list(resources::volumeSnapshots(), "default");
    EXPECT_OK(list);
    return list.isOk() ? (*list)["items"].size() : 0;
  }

  std::shared_ptr<SnapshotScheduler> scheduler(int hours) {
    SnapshotScheduleOptions options;
    options.interval = std::chrono::hours(hours);
    return std::make_shared<SnapshotScheduler>(registry_, snapshots_, time_, options);
  }

  SnapshotManagerPtr snapshots_;
};

TEST_F(SnapshotExtrasTest, RemoveAllDeletesEverySnapshotTheCallerSeesUnderTheName) {
  ASSERT_OK(snapshots_->create(alice_, "demo", "labelled"));
  ASSERT_OK(snapshots_->create(alice_, "demo", ""));
  create("other", alice_);
  auto kept = snapshots_->create(alice_, "other", "");
  ASSERT_OK(kept);
  ASSERT_EQ(volumeSnapshotsInCluster(), 3u);

  EXPECT_KIND(snapshots_->removeAll(bob_, "demo"), NotFound);
  EXPECT_EQ(volumeSnapshotsInCluster(), 3u) << "bob changed nothing";

  auto removed = snapshots_->removeAll(alice_, "demo");
  ASSERT_OK(removed);
  EXPECT_EQ(*removed, 2);
  EXPECT_TRUE(snapshots_->list(alice_, "demo")->empty());
  EXPECT_EQ(volumeSnapshotsInCluster(), 1u) << "another sandbox's snapshot stays";
  EXPECT_OK(registry_->getSnapshot(kept->id));
  EXPECT_EQ(snapshots_->stats().deletedByPurge, 2u);
  EXPECT_EQ(*snapshots_->removeAll(alice_, "demo"), 0) << "none left: nothing to do";
}

TEST_F(SnapshotExtrasTest, RemoveAllTriesEverySnapshotAndReportsAFailure) {
  ASSERT_OK(snapshots_->create(alice_, "demo", "a"));
  ASSERT_OK(snapshots_->create(alice_, "demo", "b"));
  cluster_->failNextForTest("delete", "VolumeSnapshot", unavailable("injected"));
  EXPECT_KIND(snapshots_->removeAll(alice_, "demo"), Unavailable);
  EXPECT_EQ(snapshots_->list(alice_, "demo")->size(), 1u) << "the other one went";
  EXPECT_EQ(*snapshots_->removeAll(alice_, "demo"), 1);
  EXPECT_EQ(volumeSnapshotsInCluster(), 0u);
}

TEST_F(SnapshotExtrasTest, StatsCountCreatesFailuresAndDeletesByCause) {
  auto first = snapshots_->create(alice_, "demo", "");
  ASSERT_OK(first);
  for (int i = 0; i < 2; ++i) {
    time_->advance(std::chrono::seconds(1));
    ASSERT_OK(snapshots_->create(alice_, "demo", ""));  // the third prunes the first (keep 2)
  }
  auto labelled = snapshots_->create(alice_, "demo", "mine");
  ASSERT_OK(labelled);
  ASSERT_OK(snapshots_->remove(alice_, "demo", labelled->id));
  EXPECT_KIND(snapshots_->create(bob_, "demo", ""), NotFound);       // not a failed snapshot
  EXPECT_KIND(snapshots_->create(alice_, "demo", "a\nb"), InvalidArgument);  // nor this
  cluster_->failNextForTest("create", "VolumeSnapshot", unavailable("injected"));
  EXPECT_KIND(snapshots_->create(alice_, "demo", ""), Unavailable);
  ASSERT_OK(snapshots_->createScheduled("demo"));

  const SnapshotStats stats = snapshots_->stats();
  EXPECT_EQ(stats.createdByUser, 4u);
  EXPECT_EQ(stats.failedByUser, 1u);
  EXPECT_EQ(stats.createdBySchedule, 1u);
  EXPECT_EQ(stats.failedBySchedule, 0u);
  EXPECT_EQ(stats.deletedByUser, 1u);
  EXPECT_EQ(stats.deletedByRetention, 2u) << "the first, then the second by the scheduled one";
  EXPECT_EQ(stats.deletedByPurge, 0u);
}

TEST_F(SnapshotExtrasTest, AScheduledSnapshotIsUnlabelledAndTakenBySandboxd) {
  auto taken = snapshots_->createScheduled("demo");
  ASSERT_OK(taken);
  EXPECT_EQ(taken->label, "");
  EXPECT_EQ(taken->user, "alice") << "the sandbox's owner owns it";
  auto ops = manager_->operations(alice_, "demo");
  ASSERT_OK(ops);
  EXPECT_EQ((*ops)[0].kind, OperationKind::Snapshot);
  EXPECT_EQ((*ops)[0].user, "sandboxd");
  EXPECT_KIND(snapshots_->createScheduled("nosuch"), NotFound);
}

// --- the rule -------------------------------------------------------------------------------

SandboxRecordPtr record(const std::string& name, const std::string& id, DesiredState desired,
                        SystemTime created) {
  auto r = std::make_shared<SandboxRecord>();
  r->name = name;
  r->sandboxId = id;
  r->desired = desired;
  r->createdAt = created;
  return r;
}

TEST(SnapshotsDueTest, RunningSandboxesWhoseNewestSnapshotIsAnIntervalOld) {
  const SystemTime now(std::chrono::hours(1000));
  const auto h = [](int n) { return std::chrono::hours(n); };
  const std::vector<SandboxRecordPtr> records = {
      record("fresh", "id-fresh", DesiredState::Running, now - h(1)),        // new, none yet
      record("old", "id-old", DesiredState::Running, now - h(100)),          // none, old
      record("recent", "id-recent", DesiredState::Running, now - h(100)),    // snapshot 2 h ago
      record("stale", "id-stale", DesiredState::Running, now - h(100)),      // 30 h ago
      record("stopped", "id-stopped", DesiredState::Stopped, now - h(100)),  // not running
      record("gone", "id-gone", DesiredState::Deleted, now - h(100)),
      record("exact", "id-exact", DesiredState::Running, now - h(24)),       // none, 24 h old
      record("reborn", "id-reborn-2", DesiredState::Running, now - h(1)),    // new incarnation
  };
  const std::map<std::string, SystemTime> newest = {
      {"id-recent", now - h(2)},      {"id-stale", now - h(30)},
      {"id-stopped", now - h(50)},    {"id-reborn-1", now - h(50)},  // the old incarnation's
  };
  EXPECT_EQ(snapshotsDue(records, newest, now, h(24)),
            (std::vector<std::string>{"old", "stale", "exact"}))
      << "most overdue first";
  EXPECT_TRUE(snapshotsDue(records, newest, now, h(0)).empty()) << "0: never";
  EXPECT_EQ(snapshotsDue(records, newest, now, h(1)).size(), 6u);
}

// --- the sweep ------------------------------------------------------------------------------

TEST_F(SnapshotExtrasTest, TheSweepSnapshotsRunningSandboxesOncePerInterval) {
  create("idle", alice_);
  ASSERT_OK(manager_->stop(alice_, "idle"));
  auto sweeper = scheduler(24);
  auto swept = sweeper->sweep();
  ASSERT_OK(swept);
  EXPECT_EQ(swept->due, 0) << "just created";
  EXPECT_EQ(volumeSnapshotsInCluster(), 0u);

  time_->advance(std::chrono::hours(24));
  swept = sweeper->sweep();
  ASSERT_OK(swept);
  EXPECT_EQ(swept->taken, 1) << "demo; not the stopped one";
  auto listed = snapshots_->list(alice_, "demo");
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].label, "");
  EXPECT_TRUE(snapshots_->list(alice_, "idle")->empty());

  time_->advance(std::chrono::hours(23));
  EXPECT_EQ(sweeper->sweep()->taken, 0) << "the newest is 23 hours old";
  time_->advance(std::chrono::hours(1));
  EXPECT_EQ(sweeper->sweep()->taken, 1);
  time_->advance(std::chrono::hours(24));
  EXPECT_EQ(sweeper->sweep()->taken, 1);
  EXPECT_EQ(snapshots_->list(alice_, "demo")->size(), 2u) << "retention (keep 2) prunes them";
  EXPECT_EQ(snapshots_->stats().createdBySchedule, 3u);
}

TEST_F(SnapshotExtrasTest, ALabelledSnapshotCountsAsTheNewest) {
  auto sweeper = scheduler(24);
  time_->advance(std::chrono::hours(30));
  ASSERT_OK(snapshots_->create(alice_, "demo", "by-hand"));
  EXPECT_EQ(sweeper->sweep()->due, 0);
}

TEST_F(SnapshotExtrasTest, WithoutTheSnapshotApiTheSweepStopsAndGoesOn) {
  create("second", alice_);
  auto sweeper = scheduler(1);
  time_->advance(std::chrono::hours(2));
  cluster_->setSnapshotApiForTest(false);
  auto swept = sweeper->sweep();
  ASSERT_OK(swept);
  EXPECT_TRUE(swept->unavailable);
  EXPECT_EQ(swept->due, 2);
  EXPECT_EQ(swept->taken, 0);
  EXPECT_EQ(swept->deferred, 1) << "the second was not tried";
  EXPECT_EQ(snapshots_->stats().failedBySchedule, 1u);
  cluster_->setSnapshotApiForTest(true);
  swept = sweeper->sweep();
  ASSERT_OK(swept);
  EXPECT_EQ(swept->taken, 2) << "once the API is there";
}

TEST_F(SnapshotExtrasTest, AFailedSandboxWaitsAndTheCapLeavesTheRestForLater) {
  create("second", alice_);
  SnapshotScheduleOptions options;
  options.interval = std::chrono::hours(1);
  options.maxPerSweep = 1;
  options.retryAfter = std::chrono::minutes(10);
  SnapshotScheduler sweeper(registry_, snapshots_, time_, options);
  time_->advance(std::chrono::hours(2));
  cluster_->failNextForTest("create", "VolumeSnapshot", unavailable("injected"));
  auto swept = sweeper.sweep();
  ASSERT_OK(swept);
  EXPECT_EQ(swept->failed, 1);
  EXPECT_EQ(swept->deferred, 1) << "the cap";
  swept = sweeper.sweep();
  ASSERT_OK(swept);
  EXPECT_EQ(swept->taken, 1) << "the other one";
  EXPECT_EQ(swept->deferred, 1) << "the failed one waits";
  time_->advance(std::chrono::minutes(10));
  swept = sweeper.sweep();
  ASSERT_OK(swept);
  EXPECT_EQ(swept->taken, 1);
  EXPECT_EQ(swept->due, 1);
}

TEST_F(SnapshotExtrasTest, MaybeSweepRunsAtMostOnceAMinute) {
  auto sweeper = scheduler(1);
  EXPECT_TRUE(sweeper->maybeSweep().has_value());
  time_->advance(std::chrono::seconds(59));
  EXPECT_FALSE(sweeper->maybeSweep().has_value());
  time_->advance(std::chrono::seconds(1));
  EXPECT_TRUE(sweeper->maybeSweep().has_value());
  EXPECT_FALSE(scheduler(0)->maybeSweep().has_value()) << "intervalHours 0: never";
}

}  // namespace
}  // namespace sandboxd
