// Idle auto-stop, expiry and volume growth: the rules (pure) and the manager applying them with
// a simulated clock (no test sleeps): a sweep stops an idle sandbox and deletes an expired one
// (volume kept), each with its operation record; activity reported postpones the stop; PATCH
// grows the home claim and refuses what it must, changing nothing then.
#include "sandboxd/service/lifetimes.h"

#include "sandboxd/model/naming.h"
#include "sandboxd/model/reason.h"
#include "sandboxd/service/activity_tracker.h"
#include "service/sandbox_update.h"
#include "service/service_fixture.h"

namespace sandboxd {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using testing::ManagerFixture;

SandboxRecord running(SystemTime created) {
  SandboxRecord r;
  r.name = "s";
  r.desired = DesiredState::Running;
  r.createdAt = created;
  r.lastActivityAt = created;
  return r;
}

TEST(LifetimeRules, IdleAndExpiryAreDueOnlyWhenTheirTimeHasCome) {
  const SystemTime t0 = SystemTime{} + hours(1000);
  SandboxRecord r = running(t0);
  EXPECT_EQ(lifetimeDue(r, 30, t0, t0 + minutes(29)), LifetimeDue::None);
  EXPECT_EQ(lifetimeDue(r, 30, t0, t0 + minutes(30)), LifetimeDue::IdleStop);
  EXPECT_EQ(lifetimeDue(r, 0, t0, t0 + hours(10000)), LifetimeDue::None) << "0 = never";
  r.desired = DesiredState::Stopped;
  EXPECT_EQ(lifetimeDue(r, 30, t0, t0 + hours(1)), LifetimeDue::None) << "already stopped";
  r.expiresAt = t0 + hours(2);
  EXPECT_EQ(lifetimeDue(r, 30, t0, t0 + hours(1)), LifetimeDue::None);
  EXPECT_EQ(lifetimeDue(r, 30, t0, t0 + hours(2)), LifetimeDue::Expire) << "stopped ones too";
  r.desired = DesiredState::Deleted;
  EXPECT_EQ(lifetimeDue(r, 30, t0, t0 + hours(3)), LifetimeDue::None) << "already going";

  // Activity counts from the latest of the row, its creation and a report not stored yet.
  SandboxRecord fresh = running(t0);
  fresh.lastActivityAt = SystemTime{};
  EXPECT_EQ(lastActivityOf(fresh, std::nullopt), t0);
  EXPECT_EQ(lastActivityOf(fresh, t0 + minutes(5)), t0 + minutes(5));
  fresh.lastActivityAt = t0 + minutes(9);
  EXPECT_EQ(lastActivityOf(fresh, t0 + minutes(5)), t0 + minutes(9));
}

TEST(LifetimeRules, ARequestedIdlePeriodStaysWithinTheProfilesBound) {
  SandboxConfig settings;
  EXPECT_OK(validateIdleStopMinutes(0, settings)) << "no bound: never is allowed";
  EXPECT_OK(validateIdleStopMinutes(kMaxIdleStopMinutes, settings));
  EXPECT_KIND(validateIdleStopMinutes(kMaxIdleStopMinutes + 1, settings), InvalidArgument);
  EXPECT_KIND(validateIdleStopMinutes(-1, settings), InvalidArgument);
  settings.idleStopMinutes = 60;
  settings.maxIdleStopMinutes = 240;
  EXPECT_OK(validateIdleStopMinutes(240, settings));
  EXPECT_KIND(validateIdleStopMinutes(241, settings), InvalidArgument);
  EXPECT_KIND(validateIdleStopMinutes(0, settings), InvalidArgument) << "never is refused";

  SandboxRecord r = running(SystemTime{});
  r.idleStopMinutes = 15;
  EXPECT_EQ(idleStopMinutesOf(r, settings), 15);
  r.idleStopMinutes.reset();
  EXPECT_EQ(idleStopMinutesOf(r, settings), 60) << "the profile's";
}

TEST(SandboxUpdateCheck, VolumesGrowWithinBoundsAndNeverShrink) {
  SandboxConfig settings;  // 1Gi … 100Gi
  SandboxRecord r = running(SystemTime{});
  r.storage = "5Gi";
  SandboxUpdate grow;
  grow.storage = "10Gi";
  auto grown = checkSandboxUpdate(r, grow, settings, SystemTime{});
  ASSERT_OK(grown);
  EXPECT_TRUE(grown->grow);
  EXPECT_EQ(grown->record.storage, "10Gi");

  SandboxUpdate same;
  same.storage = "5120Mi";
  auto unchanged = checkSandboxUpdate(r, same, settings, SystemTime{});
  ASSERT_OK(unchanged);
  EXPECT_FALSE(unchanged->grow) << "the same size in other units";
  EXPECT_EQ(unchanged->record.storage, "5Gi");

  SandboxUpdate shrink;
  shrink.storage = "4Gi";
  auto refused = checkSandboxUpdate(r, shrink, settings, SystemTime{});
  EXPECT_KIND(refused, InvalidArgument);
  EXPECT_NE(refused.status().message().find("shrink"), std::string::npos);
  SandboxUpdate tooBig;
  tooBig.storage = "200Gi";
  EXPECT_KIND(checkSandboxUpdate(r, tooBig, settings, SystemTime{}), InvalidArgument);
  SandboxUpdate past;
  past.expiresAt = std::optional<SystemTime>(SystemTime{} - hours(1));
  EXPECT_KIND(checkSandboxUpdate(r, past, settings, SystemTime{}), InvalidArgument);
}

class LifetimeManagerTest : public ManagerFixture {
 protected:
  void SetUp() override {
    ManagerFixture::SetUp();
    withSettings([](SandboxConfig&) {});
  }
  void withSettings(const std::function<void(SandboxConfig&)>& change) {
    change(config_.sandbox);
    ActivityTrackerOptions noThread;
    noThread.background = false;
    activity_ = std::make_shared<ActivityTracker>(registry_, noThread);
    manager_ = makeSandboxManager(registry_, service_, cluster_, config_, time_, locks_,
                                  recorder_, activity_);
  }
  CreateRequest request(const std::string& name) {
    CreateRequest r;
    r.name = name;
    return r;
  }
  LifetimeSweep sweep() {
    auto swept = manager_->sweepLifetimes();
    EXPECT_TRUE(swept.isOk()) << swept.status().toString();
    return swept.isOk() ? *swept : LifetimeSweep{};
  }
  OperationRecord newestOperation(const std::string& name) {
    auto ops = manager_->operations(admin_, name);
    EXPECT_TRUE(ops.isOk() && !ops->empty());
    return ops.isOk() && !ops->empty() ? ops->front() : OperationRecord{};
  }
  json claim(const std::string& name) { return getObject(resources::persistentVolumeClaims(),
                                                         names::pvc(name)); }
  ActivityTrackerPtr activity_;
};

TEST_F(LifetimeManagerTest, AnIdleSandboxIsStoppedAndReportedActivityPostponesIt) {
  withSettings([](SandboxConfig& s) { s.idleStopMinutes = 30; });
  ASSERT_OK(manager_->create(alice_, request("idle")));
  waitReady();
  time_->advance(minutes(25));
  EXPECT_EQ(sweep().idleStopped, 0);
  ASSERT_OK(manager_->touch(alice_, "idle"));  // at 25 min, noted in memory only
  time_->advance(minutes(25));                   // 50 min after create, 25 after the report
  EXPECT_EQ(sweep().idleStopped, 0) << "a report not stored yet counts";
  ASSERT_OK(activity_->flush());
  auto stored = registry_->getSandbox("idle");
  ASSERT_OK(stored);
  EXPECT_GT(stored->lastActivityAt, stored->createdAt) << "the report is stored";
  time_->advance(minutes(6));
  EXPECT_EQ(sweep().idleStopped, 1);

  auto row = registry_->getSandbox("idle");
  ASSERT_OK(row);
  EXPECT_EQ(row->desired, DesiredState::Stopped);
  OperationRecord op = newestOperation("idle");
  EXPECT_EQ(op.kind, OperationKind::IdleStop);
  EXPECT_EQ(op.user, "sandboxd");
  EXPECT_EQ(op.state, OperationState::Done);
  waitReady();
  auto view = manager_->get(alice_, "idle");
  ASSERT_OK(view);
  EXPECT_EQ(view->observed.phase, Phase::Stopped);
  EXPECT_EQ(view->observed.reason, "IdleStopped") << "why, not just how it looks";
  recorder_->flush();
  EXPECT_EQ(manager_->get(alice_, "idle")->observed.reason, "IdleStopped") << "kept recorded";
  EXPECT_EQ(sweep().idleStopped, 0) << "stopped once";

  // Started again, it counts afresh and shows the cluster's reasons.
  ASSERT_OK(manager_->start(alice_, "idle"));
  waitReady();
  EXPECT_EQ(manager_->get(alice_, "idle")->observed.reason, "Ready");
  time_->advance(minutes(29));
  EXPECT_EQ(sweep().idleStopped, 0);
}

TEST_F(LifetimeManagerTest, ASandboxsOwnIdlePeriodAndNeverOverrideTheProfile) {
  withSettings([](SandboxConfig& s) { s.idleStopMinutes = 30; });
  CreateRequest never = request("never");
  never.idleStopMinutes = 0;
  ASSERT_OK(manager_->create(alice_, never));
  CreateRequest quick = request("quick");
  quick.idleStopMinutes = 5;
  auto created = manager_->create(alice_, quick);
  ASSERT_OK(created);
  EXPECT_EQ(created->idleStopMinutes, 5);
  time_->advance(minutes(6));
  EXPECT_EQ(sweep().idleStopped, 1);
  EXPECT_EQ(registry_->getSandbox("quick")->desired, DesiredState::Stopped);
  time_->advance(hours(24 * 30));
  EXPECT_EQ(sweep().idleStopped, 0);
  EXPECT_EQ(registry_->getSandbox("never")->desired, DesiredState::Running);

  // PATCH back to the profile's period: the next sweep stops it.
  SandboxUpdate profileDefault;
  profileDefault.idleStopMinutes = std::optional<int>();
  auto patched = manager_->update(alice_, "never", profileDefault);
  ASSERT_OK(patched);
  EXPECT_EQ(patched->idleStopMinutes, 30);
  time_->advance(minutes(31));
  EXPECT_EQ(sweep().idleStopped, 1);

  // A profile with a bound refuses never, at create and by PATCH.
  withSettings([](SandboxConfig& s) { s.maxIdleStopMinutes = 120; });
  CreateRequest refused = request("refused");
  refused.idleStopMinutes = 0;
  EXPECT_KIND(manager_->create(alice_, refused), InvalidArgument);
  EXPECT_KIND(registry_->getSandbox("refused"), NotFound) << "nothing created";
}

TEST_F(LifetimeManagerTest, AnExpiredSandboxIsDeletedWithItsVolumeKept) {
  CreateRequest expiring = request("brief");
  expiring.expiresAt = time_->systemTime() + hours(1);
  ASSERT_OK(manager_->create(alice_, expiring));
  waitReady();
  ASSERT_TRUE(exists(resources::persistentVolumeClaims(), names::pvc("brief")));
  time_->advance(minutes(30));
  EXPECT_EQ(sweep().expired, 0);
  time_->advance(minutes(31));
  EXPECT_EQ(sweep().expired, 1);
  auto row = registry_->getSandbox("brief");
  ASSERT_OK(row);
  EXPECT_EQ(row->desired, DesiredState::Deleted);
  EXPECT_FALSE(row->purge);
  EXPECT_EQ(row->reason, "Expired");
  EXPECT_EQ(newestOperation("brief").kind, OperationKind::Expire);
  waitReady();
  EXPECT_FALSE(exists(resources::statefulSets(), "brief"));
  EXPECT_TRUE(exists(resources::persistentVolumeClaims(), names::pvc("brief")))
      << "the home volume is kept";

  CreateRequest past = request("past");
  past.expiresAt = time_->systemTime() - minutes(1);
  EXPECT_KIND(manager_->create(alice_, past), InvalidArgument);

  // Cleared by PATCH: never expires.
  CreateRequest later = request("later");
  later.expiresAt = time_->systemTime() + hours(1);
  ASSERT_OK(manager_->create(alice_, later));
  SandboxUpdate clear;
  clear.expiresAt = std::optional<SystemTime>();
  ASSERT_OK(manager_->update(alice_, "later", clear));
  time_->advance(hours(2));
  EXPECT_EQ(sweep().expired, 0);
  EXPECT_FALSE(registry_->getSandbox("later")->expires());
}

TEST_F(LifetimeManagerTest, PatchGrowsTheHomeClaimAndRefusesWithoutChangingAnything) {
  CreateRequest r = request("disk");
  r.storage = "5Gi";
  ASSERT_OK(manager_->create(alice_, r));
  waitReady();
  SandboxUpdate grow;
  grow.storage = "8Gi";
  auto grown = manager_->update(alice_, "disk", grow);
  ASSERT_OK(grown);
  EXPECT_EQ(grown->record->storage, "8Gi");
  EXPECT_EQ(claim("disk")["spec"]["resources"]["requests"]["storage"], "8Gi");
  EXPECT_EQ(registry_->getSandbox("disk")->storage, "8Gi");
  EXPECT_EQ(newestOperation("disk").kind, OperationKind::Resize);
  EXPECT_EQ(newestOperation("disk").state, OperationState::Done);

  SandboxUpdate shrink;
  shrink.storage = "6Gi";
  shrink.idleStopMinutes = std::optional<int>(10);
  EXPECT_KIND(manager_->update(alice_, "disk", shrink), InvalidArgument);
  EXPECT_EQ(claim("disk")["spec"]["resources"]["requests"]["storage"], "8Gi");
  EXPECT_FALSE(registry_->getSandbox("disk")->idleStopMinutes.has_value())
      << "a refused PATCH changes none of its fields";
  EXPECT_KIND(manager_->update(bob_, "disk", grow), NotFound) << "another user's";

  // Over the owner's maxStorage: a 409, nothing changed.
  config_.quotas.maxStorage = "10Gi";
  withSettings([](SandboxConfig&) {});
  SandboxUpdate over;
  over.storage = "11Gi";
  EXPECT_KIND(manager_->update(alice_, "disk", over), QuotaExceeded);
  EXPECT_EQ(claim("disk")["spec"]["resources"]["requests"]["storage"], "8Gi");

  // No claim (stopped, so no pod brings one back): a 409 saying so.
  ASSERT_OK(manager_->stop(alice_, "disk"));
  waitReady();
  ASSERT_OK(cluster_->remove(resources::persistentVolumeClaims(), "default", names::pvc("disk")));
  SandboxUpdate more;
  more.storage = "9Gi";
  auto noClaim = manager_->update(alice_, "disk", more);
  EXPECT_KIND(noClaim, FailedPrecondition);
  EXPECT_EQ(registry_->getSandbox("disk")->storage, "8Gi");
}

TEST_F(LifetimeManagerTest, ActivityOnlyEverRaisesTheStoredTimeAndKeepsTheVersion) {
  ASSERT_OK(manager_->create(alice_, request("act")));
  auto before = registry_->getSandbox("act");
  ASSERT_OK(before);
  time_->advance(minutes(10));
  ASSERT_OK(manager_->touch(alice_, "act"));
  ASSERT_OK(activity_->flush());
  auto after = registry_->getSandbox("act");
  ASSERT_OK(after);
  EXPECT_EQ(after->version, before->version) << "activity is no intent";
  EXPECT_EQ(after->lastActivityAt, time_->systemTime());
  // A write carrying the older time (a request's copy read before the report) keeps the newer.
  SandboxRecord stale = *before;
  stale.image = "ghcr.io/org/other:v2";
  ASSERT_OK(registry_->updateSandbox(stale));
  EXPECT_EQ(registry_->getSandbox("act")->lastActivityAt, time_->systemTime());
  // Reported activity on another user's sandbox is a 404, on a deleted one a 409.
  EXPECT_KIND(manager_->touch(bob_, "act"), NotFound);
  ASSERT_OK(manager_->remove(alice_, "act", false));
  EXPECT_KIND(manager_->touch(alice_, "act"), FailedPrecondition);
}

}  // namespace
}  // namespace sandboxd
