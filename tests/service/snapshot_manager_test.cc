// Home-volume snapshots against the simulated cluster (whose storage snapshots at once) and
// an in-memory registry: who may, what the cluster and the registry hold, retention, and a
// cluster without the snapshot API.
#include "sandboxd/service/snapshot_manager.h"

#include "sandboxd/model/naming.h"
#include "sandboxd/service/snapshot_objects.h"
#include "service/service_fixture.h"

namespace sandboxd {
namespace {

using testing::ManagerFixture;

class SnapshotManagerTest : public ManagerFixture {
 protected:
  void SetUp() override {
    ManagerFixture::SetUp();
    config_.snapshots.keep = 2;
    snapshots_ = makeSnapshotManager(registry_, cluster_, service_, config_, time_,
                                     std::make_shared<RandomGeneratorImpl>(), locks_);
    CreateRequest r;
    r.name = "demo";
    ASSERT_OK(manager_->create(alice_, r));
    waitReady();
  }

  size_t volumeSnapshotsInCluster() {
    auto list = cluster_->list(resources::volumeSnapshots(), "default");
    EXPECT_OK(list);
    return list.isOk() ? (*list)["items"].size() : 0;
  }

  SnapshotManagerPtr snapshots_;
};

TEST_F(SnapshotManagerTest, ASnapshotOfTheHomeVolumeBecomesReady) {
  auto created = snapshots_->create(alice_, "demo", "before-upgrade");
  ASSERT_OK(created);
  EXPECT_EQ(created->sandbox, "demo");
  EXPECT_EQ(created->label, "before-upgrade");
  EXPECT_EQ(created->objectName, "demo-snap-" + created->id);
  json object = getObject(resources::volumeSnapshots(), created->objectName);
  EXPECT_EQ(object["spec"]["source"]["persistentVolumeClaimName"], names::pvc("demo"));
  EXPECT_EQ(object["spec"]["volumeSnapshotClassName"], "standard") << "the cluster's default";
  EXPECT_EQ(object["metadata"]["labels"][kSnapshotIdLabel], created->id);
  EXPECT_EQ(object["metadata"]["labels"][labels::kOwner], "alice");

  auto listed = snapshots_->list(alice_, "demo");
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].state, SnapshotState::Ready);
  EXPECT_EQ((*listed)[0].size, "5Gi") << "the home volume's capacity";
  EXPECT_TRUE((*listed)[0].readyAt.has_value());
  auto stored = registry_->getSnapshot(created->id);
  ASSERT_OK(stored);
  EXPECT_EQ(stored->state, SnapshotState::Ready) << "the state is recorded";

  auto ops = manager_->operations(alice_, "demo");
  ASSERT_OK(ops);
  EXPECT_EQ((*ops)[0].kind, OperationKind::Snapshot);
  EXPECT_EQ((*ops)[0].state, OperationState::Done);
  EXPECT_EQ((*ops)[1].kind, OperationKind::Create) << "a snapshot supersedes nothing";
  EXPECT_NE((*ops)[1].state, OperationState::Superseded);
}

TEST_F(SnapshotManagerTest, AnotherUsersSandboxOrSnapshotIsNotFound) {
  auto created = snapshots_->create(alice_, "demo", "");
  ASSERT_OK(created);
  EXPECT_KIND(snapshots_->create(bob_, "demo", ""), NotFound);
  EXPECT_KIND(snapshots_->list(bob_, "demo"), NotFound);
  EXPECT_KIND(snapshots_->remove(bob_, "demo", created->id), NotFound);
  EXPECT_EQ(volumeSnapshotsInCluster(), 1u) << "bob changed nothing";
  EXPECT_OK(snapshots_->list(admin_, "demo"));
  EXPECT_KIND(snapshots_->remove(alice_, "demo", "0123456789ab"), NotFound);
  EXPECT_KIND(snapshots_->create(alice_, "nosuch", ""), NotFound);
}

TEST_F(SnapshotManagerTest, DeleteRemovesTheVolumeSnapshotAndTheRow) {
  auto created = snapshots_->create(alice_, "demo", "");
  ASSERT_OK(created);
  auto removed = snapshots_->remove(alice_, "demo", created->id);
  ASSERT_OK(removed);
  EXPECT_EQ(removed->id, created->id);
  EXPECT_EQ(volumeSnapshotsInCluster(), 0u);
  EXPECT_KIND(registry_->getSnapshot(created->id), NotFound);
  EXPECT_KIND(snapshots_->remove(alice_, "demo", created->id), NotFound);
}

TEST_F(SnapshotManagerTest, RetentionKeepsTheNewestUnlabelledAndEveryLabelled) {
  auto labelled = snapshots_->create(alice_, "demo", "keep-me");
  ASSERT_OK(labelled);
  std::vector<std::string> unlabelled;
  for (int i = 0; i < 4; ++i) {
    time_->advance(std::chrono::seconds(1));  // distinct creation times
    auto s = snapshots_->create(alice_, "demo", "");
    ASSERT_OK(s);
    unlabelled.push_back(s->id);
  }
  auto listed = snapshots_->list(alice_, "demo");
  ASSERT_OK(listed);
  std::vector<std::string> ids;
  for (const SnapshotRecord& s : *listed) {
    ids.push_back(s.id);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{unlabelled[3], unlabelled[2], labelled->id}))
      << "keep 2: the two oldest unlabelled went, the labelled one stays";
  EXPECT_EQ(volumeSnapshotsInCluster(), 3u) << "their VolumeSnapshots went too";
}

TEST_F(SnapshotManagerTest, APurgedSandboxCannotBeSnapshottedButItsSnapshotsStay) {
  auto created = snapshots_->create(alice_, "demo", "");
  ASSERT_OK(created);
  ASSERT_OK(manager_->remove(alice_, "demo", /*purge=*/true));
  auto refused = snapshots_->create(alice_, "demo", "");
  EXPECT_KIND(refused, FailedPrecondition);
  EXPECT_FALSE(isSnapshotsUnavailable(refused.status()));
  EXPECT_EQ(volumeSnapshotsInCluster(), 1u) << "a purge keeps the snapshots";
  ASSERT_OK(registry_->deleteSandbox("demo"));  // as the reconciler does once it settled
  auto listed = snapshots_->list(alice_, "demo");
  ASSERT_OK(listed);
  EXPECT_EQ(listed->size(), 1u) << "still listed under the name for their owner";
  EXPECT_KIND(snapshots_->list(bob_, "demo"), NotFound);
}

TEST_F(SnapshotManagerTest, WithoutTheSnapshotApiOrTheClassSnapshotsAreUnavailable) {
  cluster_->setSnapshotApiForTest(false);
  auto refused = snapshots_->create(alice_, "demo", "");
  EXPECT_KIND(refused, FailedPrecondition);
  EXPECT_TRUE(isSnapshotsUnavailable(refused.status())) << refused.status().toString();
  EXPECT_TRUE(snapshots_->list(alice_, "demo")->empty()) << "nothing was recorded";
  EXPECT_OK(manager_->stop(alice_, "demo")) << "the rest works as before";
  cluster_->setSnapshotApiForTest(true);

  config_.snapshots.className = "fast";
  auto named = makeSnapshotManager(registry_, cluster_, service_, config_, time_,
                                   std::make_shared<RandomGeneratorImpl>(), locks_);
  refused = named->create(alice_, "demo", "");
  EXPECT_TRUE(isSnapshotsUnavailable(refused.status())) << refused.status().toString();
  EXPECT_EQ(volumeSnapshotsInCluster(), 0u);
}

TEST_F(SnapshotManagerTest, ABadLabelIsRefusedBeforeAnythingHappens) {
  EXPECT_KIND(snapshots_->create(alice_, "demo", std::string(64, 'a')), InvalidArgument);
  EXPECT_KIND(snapshots_->create(alice_, "demo", "two\nlines"), InvalidArgument);
  EXPECT_EQ(volumeSnapshotsInCluster(), 0u);
}

TEST_F(SnapshotManagerTest, AFailedCreateLeavesNoRow) {
  cluster_->failNextForTest("create", "VolumeSnapshot", unavailable("injected"));
  EXPECT_KIND(snapshots_->create(alice_, "demo", ""), Unavailable);
  EXPECT_TRUE(snapshots_->list(alice_, "demo")->empty());
  auto ops = manager_->operations(alice_, "demo");
  ASSERT_OK(ops);
  EXPECT_EQ((*ops)[0].kind, OperationKind::Snapshot);
  EXPECT_EQ((*ops)[0].state, OperationState::Failed);
}

TEST_F(SnapshotManagerTest, AClaimFromAReadySnapshotIsBoundInTheSimulatedCluster) {
  auto created = snapshots_->create(alice_, "demo", "");
  ASSERT_OK(created);
  json claim = {{"metadata", {{"name", "restored"}}},
                {"spec",
                 {{"accessModes", {"ReadWriteOnce"}},
                  {"resources", {{"requests", {{"storage", "5Gi"}}}}},
                  {"dataSource",
                   {{"apiGroup", "snapshot.storage.k8s.io"},
                    {"kind", "VolumeSnapshot"},
                    {"name", created->objectName}}}}}};
  auto made = cluster_->create(resources::persistentVolumeClaims(), "default", claim);
  ASSERT_OK(made);
  EXPECT_EQ((*made)["status"]["phase"], "Bound");
  claim["metadata"]["name"] = "waiting";
  claim["spec"]["dataSource"]["name"] = "no-such-snapshot";
  made = cluster_->create(resources::persistentVolumeClaims(), "default", claim);
  ASSERT_OK(made);
  EXPECT_EQ((*made)["status"]["phase"], "Pending");
}

}  // namespace
}  // namespace sandboxd

namespace sandboxd {
namespace {

TEST(SnapshotObjectsTest, TheStatusOfAVolumeSnapshot) {
  EXPECT_EQ(observeVolumeSnapshot(json::object()).state, SnapshotState::Pending);
  EXPECT_EQ(observeVolumeSnapshot(json{{"status", {{"readyToUse", false}}}}).state,
            SnapshotState::Pending);
  const ObservedSnapshot ready =
      observeVolumeSnapshot(json{{"status", {{"readyToUse", true}, {"restoreSize", "5Gi"}}}});
  EXPECT_EQ(ready.state, SnapshotState::Ready);
  EXPECT_EQ(ready.size, "5Gi");
  const ObservedSnapshot failed = observeVolumeSnapshot(
      json{{"status", {{"readyToUse", false}, {"error", {{"message", "no such volume"}}}}}});
  EXPECT_EQ(failed.state, SnapshotState::Failed);
  EXPECT_EQ(failed.error, "no such volume");
  EXPECT_EQ(observeVolumeSnapshot(json{{"status", "odd"}}).state, SnapshotState::Pending);
}

TEST(SnapshotObjectsTest, TheDefaultClassIsTheAnnotatedOne) {
  const json classes = {
      {"items",
       {{{"metadata", {{"name", "slow"}}}},
        {{"metadata",
          {{"name", "fast"},
           {"annotations", {{"snapshot.storage.kubernetes.io/is-default-class", "true"}}}}}},
        "not an object"}}};
  EXPECT_EQ(defaultSnapshotClass(classes), "fast");
  EXPECT_EQ(defaultSnapshotClass(json{{"items", json::array()}}), "");
  EXPECT_EQ(defaultSnapshotClass(json()), "");
}

}  // namespace
}  // namespace sandboxd
