// `sandboxd doctor` against the real control plane: sandboxes made by the SandboxManager are
// clean; a lost registry entry shows up as orphans (the home volume reported, not touched);
// a vanished Service as missing.
#include <filesystem>

#include "integration/cluster_env.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/sandbox_manager.h"

namespace sandboxd::integration {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class DoctorTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    dir_ = makeWorkDir("sandboxd-doctor-it");
    ASSERT_FALSE(dir_.empty());
    config_.server.db = dir_ + "/sandboxd.db";
    std::ofstream(dir_ + "/config.yaml") << "sandbox:\n  namespace: " << ns_ << "\n";
    auto time = std::make_shared<RealTimeSource>();
    auto registry = openSqliteRegistry(config_.server.db, time);
    ASSERT_OK(registry);
    registry_ = *registry;
    manager_ = makeSandboxManager(registry_, service_, client_, config_, time);
  }

  void TearDown() override {
    manager_.reset();
    registry_.reset();
    ClusterTest::TearDown();  // removes the work dir
  }

  ProcessResult doctor() {
    return runProcess({SANDBOXD_BINARY, "doctor", "--kube", kubeconfigPath(), "--db",
                       config_.server.db, "--config", dir_ + "/config.yaml"});
  }

  std::string dir_;
  RegistryPtr registry_;
  SandboxManagerPtr manager_;
};

TEST_F(DoctorTest, ReportsOrphansAndMissingObjectsAndChangesNothing) {
  const Caller alice{"alice", false};
  CreateRequest request;
  request.name = "doc-a";
  request.secretEnv = {{"TOKEN", "s3cret"}};
  ASSERT_OK(manager_->create(alice, request));
  request = CreateRequest{};
  request.name = "doc-b";
  ASSERT_OK(manager_->create(alice, request));
  ASSERT_TRUE(waitPhase("doc-a", Phase::Running));
  ASSERT_TRUE(waitPhase("doc-b", Phase::Running));

  ProcessResult clean = doctor();
  EXPECT_EQ(clean.exitCode, 0) << clean.out << clean.err;
  EXPECT_EQ(clean.out, "orphans 0, missing 0, lingering 0\n");

  // The registry loses doc-a; doc-b loses its Service.
  ASSERT_OK(registry_->deleteSandbox("doc-a"));
  ASSERT_OK(client_->remove(resources::services(), ns_, "doc-b-service"));
  ASSERT_TRUE(eventually([&] { return !get(resources::services(), "doc-b-service").isOk(); }));

  ProcessResult drift = doctor();
  EXPECT_EQ(drift.exitCode, 1) << drift.err;
  EXPECT_TRUE(contains(drift.out, "orphan StatefulSet " + ns_ + "/doc-a ")) << drift.out;
  EXPECT_TRUE(contains(drift.out, "orphan Secret " + ns_ + "/doc-a-env ")) << drift.out;
  EXPECT_TRUE(contains(drift.out, "orphan PersistentVolumeClaim " + ns_ +
                                      "/vn-homevn-agent-doc-a-0 "))
      << drift.out;
  EXPECT_TRUE(contains(drift.out, "missing Service " + ns_ + "/doc-b-service ")) << drift.out;
  EXPECT_TRUE(contains(drift.out, ", missing 1, lingering 0")) << drift.out;
  EXPECT_FALSE(contains(drift.out + drift.err, "s3cret"));

  // Report only: the orphaned volume is still there.
  EXPECT_OK(get(resources::persistentVolumeClaims(), "vn-homevn-agent-doc-a-0"));
  EXPECT_OK(get(resources::statefulSets(), "doc-a"));
}

}  // namespace
}  // namespace sandboxd::integration
