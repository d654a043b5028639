// `sandboxd migrate` on the real node: a legacy Deployment sandbox running the test image
// becomes a StatefulSet whose process writes its home volume; a rollback to the Deployment
// and a second migration re-attach that volume with the files in it.
#include "node/node_cluster.h"
#include "support/legacy_objects.h"

namespace sandboxd::integration {
namespace {

class MigrationNodeTest : public NodeClusterTest {
 protected:
  // The legacy Deployment (seed 004's shape) with the test image, on the real node, as the
  // sandbox's user.
  json legacyOnRealNode(const std::string& name) {
    json deployment = ::sandboxd::testing::legacyDeployment(name, 1);
    json& pod = deployment["spec"]["template"]["spec"];
    pod["containers"][0]["image"] = config_.sandbox.image;
    pod["nodeSelector"] = {{kRealNodeLabel, "true"}};
    pod["tolerations"] = json::array({{{"key", kRealNodeLabel},
                                       {"operator", "Equal"},
                                       {"value", "true"},
                                       {"effect", "NoSchedule"}}});
    pod["securityContext"] = {{"runAsUser", 1000}, {"runAsGroup", 1000}, {"fsGroup", 1000}};
    return deployment;
  }

  ProcessResult migrate(std::vector<std::string> extra) {
    std::vector<std::string> argv = {SANDBOXD_BINARY, "migrate", "--kube", kubeconfigPath(),
                                     "--db", dir_ + "/sandboxd.db", "--config",
                                     dir_ + "/config.yaml"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return runProcess(argv);
  }

  bool podRunsOnRealNode(const std::string& name) {
    ListOptions options;
    options.labelSelector = "app=" + name;
    auto pods = client_->list(resources::pods(), ns_, options);
    if (!pods.isOk()) {
      return false;
    }
    for (const json& pod : (*pods)["items"]) {
      bool ready = false;
      for (const json& c : pod["status"].value("conditions", json::array())) {
        ready = ready || (c.value("type", "") == "Ready" && c.value("status", "") == "True");
      }
      if (ready && pod["spec"].value("nodeName", "") == realNode_ &&
          !pod["metadata"].contains("deletionTimestamp")) {
        return true;
      }
    }
    return false;
  }
};

TEST_F(MigrationNodeTest, MigrationRollbackAndMigrationAgainKeepTheHomeVolumesFiles) {
  std::ofstream(dir_ + "/config.yaml") << "sandbox:\n  namespace: " << ns_ << "\n  image: "
                                       << config_.sandbox.image << "\n";
  ASSERT_OK(client_->create(resources::deployments(), ns_, legacyOnRealNode("old")));
  ASSERT_OK(client_->create(resources::services(), ns_,
                            ::sandboxd::testing::clusterIpService("old", "old")));
  ASSERT_TRUE(eventually([&] { return podRunsOnRealNode("old"); }))
      << "the legacy Deployment's pod never ran on " << realNode_;

  ProcessResult migrated = migrate({"--owner", "alice"});
  ASSERT_EQ(migrated.exitCode, 0) << migrated.out << migrated.err;
  ASSERT_OK(get(resources::statefulSets(), "old"));
  // The StatefulSet's process runs on the real node with the new home volume and writes it.
  const std::string first =
      waitRecord("old", "starts", [](const std::string& s) { return lineCount(s) == 1; });
  EXPECT_EQ(parseEnv(record("old", "env"))["B"], "two") << "the Deployment's env came along";
  EXPECT_EQ(podNode("old"), realNode_);
  const std::string home = homeDir("old");
  ASSERT_FALSE(home.empty());

  ProcessResult rolled = migrate({"--rollback", "old"});
  ASSERT_EQ(rolled.exitCode, 0) << rolled.out << rolled.err;
  ASSERT_TRUE(eventually([&] {
    return get(resources::statefulSets(), "old").status().kind() == ErrorKind::NotFound &&
           podRunsOnRealNode("old");
  })) << "the Deployment did not come back";

  ProcessResult again = migrate({"--owner", "alice"});
  ASSERT_EQ(again.exitCode, 0) << again.out << again.err;
  const std::string second =
      waitRecord("old", "starts", [](const std::string& s) { return lineCount(s) == 2; });
  EXPECT_EQ(homeDir("old"), home) << "the second migration re-attaches the same volume";
  EXPECT_EQ(second.substr(0, first.size()), first) << "the first process's file is still there";
}

}  // namespace
}  // namespace sandboxd::integration
