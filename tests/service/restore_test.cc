// Restore and fork against the simulated cluster (whose storage snapshots at once) and an
// in-memory registry: the steps in order, a restart between any two of them, who may, and a
// fork's volume made from its snapshot (by the create, or by the reconciler's repair after a
// crash).
#include "sandboxd/model/naming.h"
#include "sandboxd/model/reason.h"
#include "sandboxd/service/reconciler.h"
#include "sandboxd/service/restore_steps.h"
#include "sandboxd/service/snapshot_manager.h"
#include "sandboxd/service/snapshot_objects.h"
#include "service/service_fixture.h"

namespace sandboxd {
namespace {

using testing::ManagerFixture;

class RestoreTest : public ManagerFixture {
 protected:
  void SetUp() override {
    ManagerFixture::SetUp();
    snapshots_ = newSnapshotManager();
  }

  // Another manager over the same registry and cluster: what a restarted serve has.
  SnapshotManagerPtr newSnapshotManager() {
    return makeSnapshotManager(registry_, cluster_, service_, config_, time_,
                               std::make_shared<RandomGeneratorImpl>(), locks_);
  }

  // A running sandbox and a ready snapshot of it; the snapshot's id.
  std::string runningWithSnapshot(const std::string& name) {
    CreateRequest r;
    r.name = name;
    EXPECT_OK(manager_->create(alice_, r));
    waitReady();
    auto snapshot = snapshots_->create(alice_, name, "good");
    EXPECT_OK(snapshot);
    return snapshot.isOk() ? snapshot->id : "";
  }

  // Rounds of `snapshots` (the clock moving on) until no restore is left; how many it took.
  int runRestores(SnapshotManager& snapshots, int most = 30) {
    for (int round = 1; round <= most; ++round) {
      if (snapshots.stepRestores() == 0) {
        return round;
      }
      time_->advance(std::chrono::seconds(1));
    }
    ADD_FAILURE() << "the restore never ended";
    return most;
  }

  const OperationRecord* restoreOp(const std::vector<OperationRecord>& ops) {
    for (const OperationRecord& op : ops) {
      if (op.kind == OperationKind::Restore) {
        return &op;
      }
    }
    return nullptr;
  }

  // The sandbox's claim is the one `accepted` made from its snapshot, the volume it replaced
  // is kept as the pre-restore snapshot, and the sandbox runs again.
  void expectRestored(const std::string& name, const RestoreAccepted& accepted) {
    auto snapshot = registry_->getSnapshot(accepted.snapshot);
    ASSERT_OK(snapshot);
    json claim = getObject(resources::persistentVolumeClaims(), names::pvc(name));
    EXPECT_EQ(claim["spec"]["dataSource"]["kind"], "VolumeSnapshot");
    EXPECT_EQ(claim["spec"]["dataSource"]["name"], snapshot->objectName);
    EXPECT_EQ(claim["metadata"]["annotations"][kRestoreOperationAnnotation],
              std::to_string(accepted.operation));
    EXPECT_EQ(claim["metadata"]["labels"]["app"], name) << "what the StatefulSet gives it";
    EXPECT_EQ(claim["spec"]["resources"]["requests"]["storage"], "5Gi");

    auto pre = registry_->getSnapshot(accepted.preRestore);
    ASSERT_OK(pre) << "the replaced volume's copy";
    EXPECT_EQ(pre->label, kPreRestoreLabel);
    json preObject = getObject(resources::volumeSnapshots(), pre->objectName);
    EXPECT_EQ(preObject["spec"]["source"]["persistentVolumeClaimName"], names::pvc(name));

    auto record = registry_->getSandbox(name);
    ASSERT_OK(record);
    EXPECT_EQ(record->desired, DesiredState::Running) << "it ran before: it runs again";
    auto ops = manager_->operations(alice_, name);
    ASSERT_OK(ops);
    const OperationRecord* op = restoreOp(*ops);
    ASSERT_NE(op, nullptr);
    EXPECT_EQ(op->state, OperationState::Done) << op->error;
    waitReady();
    EXPECT_EQ(phaseOf(name), Phase::Running);
  }

  SnapshotManagerPtr snapshots_;
};

TEST_F(RestoreTest, ARestoreReplacesTheClaimAfterSnapshottingItAndStartsAgain) {
  const std::string id = runningWithSnapshot("demo");
  auto accepted = snapshots_->restore(alice_, "demo", id);
  ASSERT_OK(accepted);
  EXPECT_TRUE(accepted->resume);
  EXPECT_NE(accepted->preRestore, id);

  // Until it ends, the sandbox is held stopped and says why; a start is refused.
  auto record = registry_->getSandbox("demo");
  ASSERT_OK(record);
  EXPECT_EQ(record->desired, DesiredState::Stopped);
  waitReady();
  auto view = manager_->get(alice_, "demo");
  ASSERT_OK(view);
  EXPECT_EQ(view->observed.reason, toString(StatusReason::Restoring));
  EXPECT_KIND(manager_->start(alice_, "demo"), FailedPrecondition);
  EXPECT_KIND(snapshots_->restore(alice_, "demo", id), FailedPrecondition) << "one at a time";
  EXPECT_KIND(snapshots_->remove(alice_, "demo", id), FailedPrecondition) << "in use";
  EXPECT_KIND(snapshots_->create(alice_, "demo", ""), FailedPrecondition);

  runRestores(*snapshots_);
  expectRestored("demo", *accepted);
  EXPECT_OK(snapshots_->remove(alice_, "demo", id)) << "free again once done";
}

TEST_F(RestoreTest, ARestartBetweenAnyTwoStepsConverges) {
  // Each time the first manager stops after `cut` rounds (as serve killed there) and a new
  // one, knowing only the registry and the cluster, carries the restore on.
  int uninterrupted = 0;
  for (int cut = 0; cut <= 6; ++cut) {
    SCOPED_TRACE("cut after " + std::to_string(cut) + " rounds");
    const std::string name = "r" + std::to_string(cut);
    const std::string id = runningWithSnapshot(name);
    auto accepted = snapshots_->restore(alice_, name, id);
    ASSERT_OK(accepted);
    for (int round = 0; round < cut; ++round) {
      snapshots_->stepRestores();
      time_->advance(std::chrono::seconds(1));
    }
    auto restarted = newSnapshotManager();
    const int rounds = runRestores(*restarted);
    if (cut == 0) {
      uninterrupted = rounds;
    }
    expectRestored(name, *accepted);
    auto snapshots = snapshots_->list(alice_, name);
    ASSERT_OK(snapshots);
    EXPECT_EQ(snapshots->size(), 2u) << "the snapshot and one pre-restore copy, not more";
  }
  EXPECT_GE(uninterrupted, 4) << "the cuts covered every step";
}

TEST_F(RestoreTest, AFailedClusterCallIsRetriedNextRound) {
  const std::string id = runningWithSnapshot("demo");
  auto accepted = snapshots_->restore(alice_, "demo", id);
  ASSERT_OK(accepted);
  cluster_->failNextForTest("create", "PersistentVolumeClaim", unavailable("injected"));
  cluster_->failNextForTest("delete", "PersistentVolumeClaim", unavailable("injected"));
  runRestores(*snapshots_);
  expectRestored("demo", *accepted);
}

TEST_F(RestoreTest, RestoringTheSameSnapshotAgainKeepsWhatWasWrittenSince) {
  const std::string id = runningWithSnapshot("demo");
  auto first = snapshots_->restore(alice_, "demo", id);
  ASSERT_OK(first);
  runRestores(*snapshots_);
  auto second = snapshots_->restore(alice_, "demo", id);
  ASSERT_OK(second);
  runRestores(*snapshots_);
  expectRestored("demo", *second);
  EXPECT_NE(first->preRestore, second->preRestore);
  auto pre = registry_->getSnapshot(second->preRestore);
  ASSERT_OK(pre) << "the claim the first restore made was snapshotted before it went";
}

TEST_F(RestoreTest, AStoppedSandboxStaysStopped) {
  const std::string id = runningWithSnapshot("demo");
  ASSERT_OK(manager_->stop(alice_, "demo"));
  auto accepted = snapshots_->restore(alice_, "demo", id);
  ASSERT_OK(accepted);
  EXPECT_FALSE(accepted->resume);
  runRestores(*snapshots_);
  auto record = registry_->getSandbox("demo");
  ASSERT_OK(record);
  EXPECT_EQ(record->desired, DesiredState::Stopped);
  EXPECT_EQ(record->reason, toString(StatusReason::Restored));
  EXPECT_OK(manager_->start(alice_, "demo")) << "no restore holds it any more";
}

TEST_F(RestoreTest, WhoMayAndWhatIsRefused) {
  const std::string id = runningWithSnapshot("demo");
  EXPECT_KIND(snapshots_->restore(bob_, "demo", id), NotFound);
  EXPECT_KIND(snapshots_->restore(alice_, "demo", "0123456789ab"), NotFound);
  EXPECT_KIND(snapshots_->restore(alice_, "nosuch", id), NotFound);
  CreateRequest other;
  other.name = "other";
  ASSERT_OK(manager_->create(alice_, other));
  EXPECT_KIND(snapshots_->restore(alice_, "other", id), NotFound)
      << "a snapshot is restored into the sandbox it is of";
  auto record = registry_->getSandbox("demo");
  ASSERT_OK(record);
  EXPECT_EQ(record->desired, DesiredState::Running) << "nothing changed";
  ASSERT_OK(manager_->remove(alice_, "demo", false));
  EXPECT_KIND(snapshots_->restore(alice_, "demo", id), FailedPrecondition);
  EXPECT_OK(snapshots_->list(admin_, "demo"));
}

TEST_F(RestoreTest, ADeleteDuringTheRestoreEndsIt) {
  const std::string id = runningWithSnapshot("demo");
  auto accepted = snapshots_->restore(alice_, "demo", id);
  ASSERT_OK(accepted);
  ASSERT_OK(manager_->remove(alice_, "demo", false));
  runRestores(*snapshots_);
  auto ops = registry_->listOperations(registry_->getSandbox("demo")->sandboxId, 20);
  ASSERT_OK(ops);
  const OperationRecord* op = restoreOp(*ops);
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->state, OperationState::Failed);
}

TEST_F(RestoreTest, AForkStartsFromTheSnapshot) {
  const std::string id = runningWithSnapshot("demo");
  auto snapshot = registry_->getSnapshot(id);
  ASSERT_OK(snapshot);
  CreateRequest fork;
  fork.name = "fork";
  fork.fromSandbox = "demo";
  fork.fromSnapshot = id;
  ASSERT_OK(manager_->create(alice_, fork));
  json claim = getObject(resources::persistentVolumeClaims(), names::pvc("fork"));
  EXPECT_EQ(claim["spec"]["dataSource"]["name"], snapshot->objectName);
  EXPECT_EQ(claim["metadata"]["labels"]["app"], "fork");
  waitReady();
  EXPECT_EQ(phaseOf("fork"), Phase::Running);
  json original = getObject(resources::persistentVolumeClaims(), names::pvc("demo"));
  EXPECT_FALSE(original["spec"].contains("dataSource")) << "the original is untouched";

  // A crash before the volume was made: the reconciler's repair makes it from the snapshot
  // before it re-creates the StatefulSet.
  ASSERT_OK(cluster_->remove(resources::statefulSets(), "default", "fork"));
  ASSERT_OK(cluster_->remove(resources::persistentVolumeClaims(), "default", names::pvc("fork")));
  auto reconciler = makeReconciler(registry_, service_, cluster_, config_, time_, locks_, {});
  ASSERT_OK(reconciler->reconcileOnce());
  claim = getObject(resources::persistentVolumeClaims(), names::pvc("fork"));
  EXPECT_EQ(claim["spec"]["dataSource"]["name"], snapshot->objectName);
  EXPECT_TRUE(exists(resources::statefulSets(), "fork"));
}

TEST_F(RestoreTest, TheRepairLeavesARestoredForksClaimToTheRestore) {
  const std::string id = runningWithSnapshot("demo");
  CreateRequest fork;
  fork.name = "fork";
  fork.fromSandbox = "demo";
  fork.fromSnapshot = id;
  ASSERT_OK(manager_->create(alice_, fork));
  waitReady();
  auto own = snapshots_->create(alice_, "fork", "own");
  ASSERT_OK(own);
  auto accepted = snapshots_->restore(alice_, "fork", own->id);
  ASSERT_OK(accepted);
  // Mid-restore, the claim gone (as after the restore's delete) and the StatefulSet too: the
  // repair re-creates the StatefulSet, not the fork's claim from its first snapshot.
  ASSERT_OK(cluster_->remove(resources::statefulSets(), "default", "fork"));
  ASSERT_OK(cluster_->remove(resources::persistentVolumeClaims(), "default", names::pvc("fork")));
  auto reconciler = makeReconciler(registry_, service_, cluster_, config_, time_, locks_, {});
  ASSERT_OK(reconciler->reconcileOnce());
  EXPECT_TRUE(exists(resources::statefulSets(), "fork"));
  EXPECT_FALSE(exists(resources::persistentVolumeClaims(), names::pvc("fork")));
  runRestores(*snapshots_);
  json claim = getObject(resources::persistentVolumeClaims(), names::pvc("fork"));
  EXPECT_EQ(claim["spec"]["dataSource"]["name"], own->objectName) << "the restore's snapshot";
}

TEST_F(RestoreTest, AForkOfAnotherUsersOrAnUnreadySnapshotIsRefused) {
  const std::string id = runningWithSnapshot("demo");
  CreateRequest fork;
  fork.name = "fork";
  fork.fromSandbox = "demo";
  fork.fromSnapshot = id;
  EXPECT_KIND(manager_->create(bob_, fork), NotFound);
  fork.fromSandbox = "other";
  EXPECT_KIND(manager_->create(alice_, fork), NotFound);
  fork.fromSandbox = "demo";
  fork.fromSnapshot = "0123456789ab";
  EXPECT_KIND(manager_->create(alice_, fork), NotFound);
  fork.fromSnapshot = id;
  fork.storage = "1Gi";
  EXPECT_KIND(manager_->create(alice_, fork), InvalidArgument) << "smaller than the snapshot";
  EXPECT_KIND(registry_->getSandbox("fork"), NotFound) << "nothing was recorded";
  EXPECT_FALSE(exists(resources::persistentVolumeClaims(), names::pvc("fork")));
  fork.storage = "";
  EXPECT_OK(manager_->create(admin_, fork)) << "an admin may fork anyone's";
}

}  // namespace
}  // namespace sandboxd
