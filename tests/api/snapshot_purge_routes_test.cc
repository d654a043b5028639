// DELETE /api/v1/sandboxes/{name}?purge=true&purgeSnapshots=true with fakes: the order (the
// purge, then SnapshotManager::removeAll), the refusals that change nothing, and a failure to
// delete the snapshots answered after the purge stood.
#include "api/api_test_support.h"

namespace sandboxd::testing {
namespace {

class PurgingSnapshots : public SnapshotManager {
 public:
  StatusOr<SnapshotRecord> create(const Caller&, const std::string&,
                                  const std::string&) override {
    return internalError("unused");
  }
  StatusOr<std::vector<SnapshotRecord>> list(const Caller&, const std::string&) override {
    return std::vector<SnapshotRecord>{};
  }
  StatusOr<SnapshotRecord> remove(const Caller&, const std::string&,
                                  const std::string&) override {
    return internalError("unused");
  }
  StatusOr<int> removeAll(const Caller& caller, const std::string& name) override {
    calls.push_back(caller.user + "/" + name);
    return next;
  }
  StatusOr<RestoreAccepted> restore(const Caller&, const std::string&,
                                    const std::string&) override {
    return internalError("unused");
  }
  int stepRestores() override { return 0; }
  void start() override {}
  void stop() override {}

  std::vector<std::string> calls;
  StatusOr<int> next = 2;
};

class SnapshotPurgeRoutesTest : public ApiServerFixture {
 protected:
  void configureOptions(api::ApiServerOptions& options) override {
    options.snapshots = snapshots_;
  }
  std::shared_ptr<PurgingSnapshots> snapshots_ = std::make_shared<PurgingSnapshots>();
};

TEST_F(SnapshotPurgeRoutesTest, OnlyAPurgeWithTheFlagDeletesTheSnapshots) {
  ASSERT_EQ(createAs(kAliceToken, "demo").status, 201);
  auto refused = call("DELETE", "/api/v1/sandboxes/demo?purgeSnapshots=true");
  EXPECT_EQ(refused.status, 422) << refused.body;
  refused = call("DELETE", "/api/v1/sandboxes/demo?purge=false&purgeSnapshots=1");
  EXPECT_EQ(refused.status, 422) << refused.body;
  refused = call("DELETE", "/api/v1/sandboxes/demo?purge=true&purgeSnapshots=yes");
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_FALSE(manager_->lastPurge().has_value()) << "the sandbox manager was never asked";
  EXPECT_TRUE(snapshots_->calls.empty());

  ASSERT_EQ(call("DELETE", "/api/v1/sandboxes/demo?purge=true").status, 202);
  EXPECT_TRUE(snapshots_->calls.empty()) << "a purge alone keeps the snapshots";

  ASSERT_EQ(createAs(kAliceToken, "two").status, 201);
  auto purged = call("DELETE", "/api/v1/sandboxes/two?purge=true&purgeSnapshots=true");
  EXPECT_EQ(purged.status, 202) << purged.body;
  EXPECT_EQ(purged.json()["name"], "two");
  EXPECT_EQ(snapshots_->calls, (std::vector<std::string>{"alice/two"}));
}

TEST_F(SnapshotPurgeRoutesTest, AnUnknownSandboxDeletesNoSnapshots) {
  EXPECT_EQ(call("DELETE", "/api/v1/sandboxes/nope?purge=true&purgeSnapshots=true").status, 404);
  EXPECT_TRUE(snapshots_->calls.empty());
}

TEST_F(SnapshotPurgeRoutesTest, SnapshotsLeftAreAnErrorAfterThePurge) {
  ASSERT_EQ(createAs(kAliceToken, "demo").status, 201);
  snapshots_->next = unavailable("the API server is away");
  auto r = call("DELETE", "/api/v1/sandboxes/demo?purge=true&purgeSnapshots=true");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("not all deleted"), std::string::npos) << r.body;
  EXPECT_EQ(manager_->lastPurge(), std::optional<bool>(true)) << "the purge stands";
  snapshots_->next = notFound("no snapshots under the name");
  EXPECT_EQ(call("DELETE", "/api/v1/sandboxes/demo?purge=true&purgeSnapshots=true").status, 202)
      << "none to delete is no error";
}

class PurgeWithoutSnapshotsTest : public ApiServerFixture {};

TEST_F(PurgeWithoutSnapshotsTest, WithoutASnapshotManagerNothingIsDeleted) {
  ASSERT_EQ(createAs(kAliceToken, "demo").status, 201);
  EXPECT_EQ(call("DELETE", "/api/v1/sandboxes/demo?purge=true&purgeSnapshots=true").status, 503);
  EXPECT_FALSE(manager_->lastPurge().has_value());
}

}  // namespace
}  // namespace sandboxd::testing
