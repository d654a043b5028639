// The reconciler against the in-memory cluster: intent recorded but not carried out (a failed
// call, a crash between registry and cluster), objects deleted behind sandboxd's back,
// leftovers of deleted sandboxes, a failure that persists, and things it must never touch.
#include "sandboxd/service/reconciler.h"

#include "kube/cache/object_cache.h"
#include "kube/kube_test_objects.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/deletion_rules.h"
#include "sandboxd/service/drift.h"
#include "sandboxd/service/sandbox_cache.h"
#include "sandboxd/service/sandbox_manager.h"
#include "service/service_fixture.h"

namespace sandboxd {
namespace {

using testing::ManagerFixture;

class ReconcilerTest : public ManagerFixture {
 protected:
  void SetUp() override {
    ManagerFixture::SetUp();
    ReconcilerOptions options;
    options.maxAttempts = 3;
    options.firstBackoff = std::chrono::seconds(1);
    reconciler_ = makeReconciler(registry_, service_, cluster_, config_, time_, locks_, options);
  }

  void create(const std::string& name, EnvMap secretEnv = {}) {
    CreateRequest r;
    r.name = name;
    r.env = {{"A", "1"}};
    r.secretEnv = std::move(secretEnv);
    ASSERT_OK(manager_->create(alice_, r));
    waitReady();
  }

  ReconcilePass pass() {
    auto result = reconciler_->reconcileOnce();
    EXPECT_OK(result);
    return result.isOk() ? *result : ReconcilePass{};
  }

  int replicas(const std::string& name) {
    return getObject(resources::statefulSets(), name)["spec"].value("replicas", -1);
  }

  bool clean() {
    auto report = inspectDrift(*cluster_, *registry_, config_.sandbox);
    EXPECT_OK(report);
    return report.isOk() && report->clean();
  }

  ReconcilerPtr reconciler_;
};

TEST(DelayAfterPassTest, PeriodicPassesTakeAtMostTheirShareOfTheTime) {
  using std::chrono::milliseconds;
  ReconcilerOptions options;
  options.interval = milliseconds(10000);
  options.maxPassShare = 0.1;
  EXPECT_EQ(delayAfterPass(options, milliseconds(40)), milliseconds(10000))
      << "a quick pass: the interval";
  EXPECT_EQ(delayAfterPass(options, milliseconds(2000)), milliseconds(18000))
      << "a 2 s pass (10,000 sandboxes): 2 s of every 20";
  options.maxPassShare = 0.5;
  EXPECT_EQ(delayAfterPass(options, milliseconds(30000)), milliseconds(30000));
  options.maxPassShare = 0;  // no limit
  EXPECT_EQ(delayAfterPass(options, milliseconds(60000)), milliseconds(10000));
}

TEST_F(ReconcilerTest, AConsistentClusterNeedsNothing) {
  create("calm");
  ReconcilePass p = pass();
  EXPECT_EQ(p.sandboxes, 1);
  EXPECT_EQ(p.repaired + p.scaled + p.deleted + p.failed + p.orphans, 0);
}

TEST_F(ReconcilerTest, AStopWhoseClusterCallFailedIsAcceptedAndCarriedOut) {
  create("box");
  cluster_->failNextForTest("patch", "StatefulSet", unavailable("connection reset"), 1);
  auto stopped = manager_->stop(alice_, "box");
  ASSERT_OK(stopped);  // accepted: the intent is recorded
  EXPECT_EQ(registry_->getSandbox("box")->desired, DesiredState::Stopped);
  EXPECT_EQ(replicas("box"), 1) << "the cluster call did fail";

  ReconcilePass p = pass();
  EXPECT_EQ(p.scaled, 1);
  EXPECT_EQ(replicas("box"), 0);
  waitReady();
  EXPECT_EQ(phaseOf("box"), Phase::Stopped);
}

TEST_F(ReconcilerTest, ACrashBetweenRegistryAndClusterIsFinished) {
  // What a kill -9 right after the registry write of a create leaves behind: a row, no objects.
  SandboxRecord r;
  r.name = "half";
  r.user = "alice";
  r.nameSpace = "default";
  r.sandboxId = "id-half";
  r.image = "ghcr.io/org/sandbox:v1";
  r.env = {{"A", "1"}};
  r.storage = "5Gi";
  ASSERT_OK(registry_->insertSandbox(r));
  EXPECT_FALSE(clean());

  ReconcilePass p = pass();
  EXPECT_EQ(p.repaired, 1);
  waitReady();
  EXPECT_EQ(phaseOf("half"), Phase::Running);
  json sts = getObject(resources::statefulSets(), "half");
  EXPECT_EQ(sts["metadata"]["labels"]["sandboxd.io/sandbox-id"], "id-half");
  EXPECT_TRUE(clean());
}

TEST_F(ReconcilerTest, DeletedServiceAndIngressAreRecreatedTheSecretAndVolumeUntouched) {
  create("svc", {{"TOKEN", "t0p"}});
  const std::string pvcUid =
      getObject(resources::persistentVolumeClaims(), "vn-homevn-agent-svc-0")["metadata"]["uid"];
  ASSERT_OK(cluster_->remove(resources::services(), "default", "svc-service"));
  ASSERT_OK(cluster_->remove(resources::ingresses(), "default", "svc-app-ingress"));

  ReconcilePass p = pass();
  EXPECT_EQ(p.missing, 2);
  EXPECT_EQ(p.repaired, 1);
  EXPECT_TRUE(exists(resources::services(), "svc-service"));
  EXPECT_TRUE(exists(resources::ingresses(), "svc-app-ingress"));
  const json secret = getObject(resources::secrets(), "svc-env");
  EXPECT_TRUE(secret.dump().find(secret.contains("data") ? "dDBw" : "t0p") != std::string::npos)
      << "the Secret is never rewritten: " << secret.dump();
  EXPECT_EQ(getObject(resources::persistentVolumeClaims(), "vn-homevn-agent-svc-0")["metadata"]
                                                                                   ["uid"],
            pvcUid);
  EXPECT_TRUE(clean());
}

TEST_F(ReconcilerTest, ADeletedNetworkPolicyIsRecreatedAndADeleteLeavesNoneBehind) {
  create("np");
  ASSERT_OK(cluster_->remove(resources::networkPolicies(), "default", "np-netpol"));
  ReconcilePass p = pass();
  EXPECT_EQ(p.missing, 1);
  EXPECT_EQ(p.repaired, 1);
  EXPECT_EQ(getObject(resources::networkPolicies(), "np-netpol")["spec"]["podSelector"]
                     ["matchLabels"]["app"],
            "np");
  EXPECT_TRUE(clean());

  // A delete whose NetworkPolicy delete failed: the reconciler removes the leftover.
  cluster_->failNextForTest("delete", "NetworkPolicy", unavailable("reset"), 1);
  (void)manager_->remove(alice_, "np", /*purge=*/false);
  pass();
  EXPECT_FALSE(exists(resources::networkPolicies(), "np-netpol"));
}

TEST_F(ReconcilerTest, ALostSecretIsAnErrorWithItsReasonNotARepair) {
  create("sec", {{"TOKEN", "t0p"}});
  ASSERT_OK(cluster_->remove(resources::secrets(), "default", "sec-env"));
  pass();
  auto view = manager_->get(alice_, "sec");
  ASSERT_OK(view);
  EXPECT_EQ(view->observed.phase, Phase::Error);
  EXPECT_EQ(view->observed.reason, "SecretLost");
  EXPECT_FALSE(exists(resources::secrets(), "sec-env")) << "values cannot be invented";

  // Setting the secret again brings it back.
  EnvChange change;
  change.setSecret = {{"TOKEN", "new"}};
  ASSERT_OK(manager_->updateEnv(alice_, "sec", change));
  pass();
  waitReady();
  auto after = manager_->get(alice_, "sec");
  ASSERT_OK(after);
  EXPECT_NE(after->observed.phase, Phase::Error) << after->observed.reason;
}

TEST_F(ReconcilerTest, LeftoversOfADeleteThatFailedAreRemovedAndAPurgedRowDropped) {
  create("gone");
  cluster_->failNextForTest("delete", "StatefulSet", unavailable("timeout"), 1);
  ASSERT_OK(manager_->remove(alice_, "gone", /*purge=*/true));  // accepted
  EXPECT_TRUE(exists(resources::statefulSets(), "gone"));

  ReconcilePass p = pass();
  EXPECT_EQ(p.deleted, 1);
  waitReady();
  time_->advance(kPurgeSettleTime);
  pass();  // the pod and volume are gone and it has settled: the purged row goes too
  EXPECT_FALSE(exists(resources::statefulSets(), "gone"));
  EXPECT_FALSE(exists(resources::persistentVolumeClaims(), "vn-homevn-agent-gone-0"));
  EXPECT_KIND(registry_->getSandbox("gone"), NotFound);
}

TEST_F(ReconcilerTest, ACreateWhoseRollbackFailedLeavesNoOrphanAndIsFinished) {
  // The Ingress fails, and so do the deletes of the StatefulSet made before it (the rollback's
  // and the manager's second try).
  cluster_->failNextForTest("create", "Ingress", unavailable("reset"), 1);
  cluster_->failNextForTest("delete", "StatefulSet", unavailable("reset"), 2);
  CreateRequest r;
  r.name = "flaky";
  EXPECT_KIND(manager_->create(alice_, r), Unavailable);
  ASSERT_TRUE(exists(resources::statefulSets(), "flaky")) << "the rollback did fail";

  // The registry still accounts for it (as a deletion): leftovers, not orphans.
  auto report = inspectDrift(*cluster_, *registry_, config_.sandbox);
  ASSERT_OK(report);
  EXPECT_EQ(report->count(DriftItem::Kind::Orphan), 0) << report->format();
  EXPECT_GT(report->count(DriftItem::Kind::Lingering), 0) << report->format();
  auto shown = manager_->get(alice_, "flaky");  // shown as being undone until it is gone
  ASSERT_OK(shown);
  EXPECT_EQ(shown->observed.phase, Phase::Deleting);

  pass();
  waitReady();
  time_->advance(kPurgeSettleTime);
  pass();
  EXPECT_FALSE(exists(resources::statefulSets(), "flaky"));
  EXPECT_KIND(registry_->getSandbox("flaky"), NotFound) << "the name is free again";
  EXPECT_TRUE(clean());
}

TEST_F(ReconcilerTest, APersistentFailureBacksOffThenIsAnErrorThatStopStillClears) {
  create("stuck");
  ASSERT_OK(cluster_->remove(resources::services(), "default", "stuck-service"));
  cluster_->failNextForTest("create", "Service", unavailable("apiserver down"), 3);

  EXPECT_EQ(pass().failed, 1);    // attempt 1
  EXPECT_EQ(pass().deferred, 1);  // backing off: not retried at once
  time_->advance(std::chrono::seconds(2));
  EXPECT_EQ(pass().failed, 1);  // attempt 2
  time_->advance(std::chrono::seconds(5));
  EXPECT_EQ(pass().failed, 1);  // attempt 3 = maxAttempts
  auto view = manager_->get(alice_, "stuck");
  ASSERT_OK(view);
  EXPECT_EQ(view->observed.phase, Phase::Error);
  EXPECT_EQ(view->observed.reason, "ReconcileFailed");
  EXPECT_NE(view->observed.message.find("apiserver down"), std::string::npos);

  // An ERROR sandbox can still be stopped; the fault is over and the reconciler finishes.
  ASSERT_OK(manager_->stop(alice_, "stuck"));
  time_->advance(std::chrono::seconds(20));
  pass();
  waitReady();
  auto stopped = manager_->get(alice_, "stuck");
  ASSERT_OK(stopped);
  EXPECT_EQ(stopped->observed.phase, Phase::Stopped) << stopped->observed.reason;
  EXPECT_TRUE(exists(resources::services(), "stuck-service"));
}

TEST_F(ReconcilerTest, ObjectsNoRegistryEntryAccountsForAreCountedNeverTouched) {
  create("mine");
  ASSERT_OK(registry_->deleteSandbox("mine"));
  ReconcilePass p = pass();
  EXPECT_GE(p.orphans, 6);  // StatefulSet, Service, 2 Ingresses, NetworkPolicy, home volume
  const ReconcilerStats stats = reconciler_->stats();
  ASSERT_TRUE(stats.last.has_value()) << "what /metrics reports as drift";
  EXPECT_EQ(stats.last->orphans, p.orphans);
  EXPECT_EQ(stats.passes, 1u);
  EXPECT_TRUE(exists(resources::statefulSets(), "mine"));
  EXPECT_TRUE(exists(resources::persistentVolumeClaims(), "vn-homevn-agent-mine-0"));
}

TEST_F(ReconcilerTest, ALatePassNeverUndoesANewerRequest) {
  create("late");
  // The pass's snapshot says "stopped" is wanted (the replicas still 1)...
  cluster_->failNextForTest("patch", "StatefulSet", unavailable("blip"), 1);
  ASSERT_OK(manager_->stop(alice_, "late"));
  // ...but before the pass acts, the user starts it again: the pass must not stop it.
  ASSERT_OK(manager_->start(alice_, "late"));
  ReconcilePass p = pass();
  EXPECT_EQ(p.scaled, 0);
  EXPECT_EQ(replicas("late"), 1);
}

// The operation record: each request is recorded with its intent and ends done (by the request
// or by the reconciler), failed (with the error), or superseded.
TEST_F(ReconcilerTest, TheOperationRecordFollowsEveryRequestToItsEnd) {
  create("ops");
  auto latest = [&]() -> OperationRecord {
    auto ops = manager_->operations(alice_, "ops");
    EXPECT_OK(ops);
    return ops.isOk() && !ops->empty() ? ops->front() : OperationRecord{};
  };
  EXPECT_EQ(latest().kind, OperationKind::Create);
  EXPECT_EQ(latest().state, OperationState::Done);
  EXPECT_EQ(latest().user, "alice");

  // A stop whose cluster call failed stays pending until the reconciler carries it out.
  cluster_->failNextForTest("patch", "StatefulSet", unavailable("connection reset"), 1);
  ASSERT_OK(manager_->stop(alice_, "ops"));
  EXPECT_EQ(latest().kind, OperationKind::Stop);
  EXPECT_EQ(latest().state, OperationState::Pending);
  pass();
  EXPECT_EQ(latest().state, OperationState::Done);
  EXPECT_TRUE(latest().finishedAt.has_value());

  // An env update the cluster refused failed, with the reason.
  ASSERT_OK(manager_->start(alice_, "ops"));
  EXPECT_EQ(latest().state, OperationState::Done);
  cluster_->failNextForTest("patch", "StatefulSet", unavailable("etcd timeout"), 1);
  EnvChange change;
  change.set = {{"B", "2"}};
  EXPECT_FALSE(manager_->updateEnv(alice_, "ops", change).isOk());
  EXPECT_EQ(latest().kind, OperationKind::UpdateEnv);
  EXPECT_EQ(latest().state, OperationState::Failed);
  EXPECT_NE(latest().error.find("etcd timeout"), std::string::npos) << latest().error;

  // One left pending by a process that died mid-request cannot be known to have happened.
  OperationRecord orphaned;
  orphaned.sandbox = "ops";
  orphaned.sandboxId = registry_->getSandbox("ops")->sandboxId;
  orphaned.kind = OperationKind::UpdateEnv;
  orphaned.user = "alice";
  ASSERT_OK(registry_->addOperation(orphaned));
  pass();
  EXPECT_EQ(latest().state, OperationState::Failed);
  EXPECT_NE(latest().error.find("interrupted"), std::string::npos) << latest().error;

  // A stop the cluster keeps refusing ends failed when the reconciler gives up.
  cluster_->failNextForTest("patch", "StatefulSet", unavailable("apiserver down"), 100);
  ASSERT_OK(manager_->stop(alice_, "ops"));
  for (int attempt = 0; attempt < 3; ++attempt) {
    time_->advance(std::chrono::seconds(30));
    pass();
  }
  EXPECT_EQ(latest().kind, OperationKind::Stop);
  EXPECT_EQ(latest().state, OperationState::Failed);
  EXPECT_NE(latest().error.find("apiserver down"), std::string::npos) << latest().error;
}

// Wired as serve wires it: the watch cache tells the reconciler of changes, so a workload
// deleted or scaled behind sandboxd's back is put right at once, not a period later.
TEST_F(ReconcilerTest, AWorkloadChangedBehindItsBackIsPutRightWithoutWaitingForThePeriod) {
  create("box");
  ReconcilerOptions options;
  options.interval = std::chrono::hours(1);  // only a reported change can bring a pass
  options.eventDelay = std::chrono::milliseconds(20);
  std::shared_ptr<Reconciler> reconciler =
      makeReconciler(registry_, service_, cluster_, config_, time_, locks_, options);
  ObjectCache cache(cluster_, sandboxCacheOptions(config_.sandbox.nameSpace), time_);
  cache.setListener([&](const ResourceType& type, const json& object, bool deleted) {
    reconciler->objectChanged(type, object, deleted);
  });
  cache.start();
  ASSERT_TRUE(cache.waitForSync(std::chrono::seconds(5)));
  reconciler->start();
  ASSERT_TRUE(testing::eventually([&] { return reconciler->stats().passes == 1; }));

  ASSERT_OK(cluster_->remove(resources::statefulSets(), "default", "box"));
  EXPECT_TRUE(testing::eventually([&] { return exists(resources::statefulSets(), "box"); }))
      << "the deleted StatefulSet is re-created";
  ASSERT_OK(cluster_->patch(resources::statefulSets(), "default", "box", PatchType::Merge,
                            {{"spec", {{"replicas", 0}}}}));
  EXPECT_TRUE(testing::eventually([&] { return replicas("box") == 1; }))
      << "a running sandbox scaled to 0 by someone else is scaled back";

  // (The pass that did it is counted once it ends.)
  EXPECT_TRUE(testing::eventually([&] {
    const ReconcilerStats stats = reconciler->stats();
    return stats.triggeredPasses >= 2 && stats.repaired >= 1 && stats.scaled >= 1;
  }));
  reconciler->stop();
  cache.setListener(nullptr);
  cache.stop();
}

}  // namespace
}  // namespace sandboxd
