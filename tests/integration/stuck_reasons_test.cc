// Why a sandbox is stuck, as the HTTP API of `sandboxd serve` reports it against the real
// control plane: a home volume claim that no storage class can satisfy (STARTING/PvcPending),
// and an image the node cannot pull (ERROR/ImagePullBackOff, simulated by a KWOK stage); stop
// and delete still work, and a purge leaves nothing behind.
#include "integration/served_cluster.h"

namespace sandboxd::integration {
namespace {

class StuckReasonsTest : public ServedClusterTest {};

TEST_F(StuckReasonsTest, ClaimWithAMissingStorageClassIsPvcPendingAndPurgesCleanly) {
  startServe(kubeconfigPath(), "  storageClass: sandboxd-it-no-such-class\n");
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(lifecycle("nopv", "create"));

  const json status = waitStatus("nopv", "STARTING", "PvcPending");
  EXPECT_NE(status.value("message", "").find(names::pvc("nopv")), std::string::npos) << status;
  EXPECT_NE(status.value("message", "").find("sandboxd-it-no-such-class"), std::string::npos)
      << status;
  auto pvc = get(resources::persistentVolumeClaims(), names::pvc("nopv"));
  ASSERT_OK(pvc);
  EXPECT_EQ((*pvc)["status"].value("phase", ""), "Pending");

  EXPECT_TRUE(purge("nopv"));
  std::vector<std::string> left;
  EXPECT_TRUE(eventually(
      [&] {
        left = leftovers("nopv");
        return left.empty();
      },
      std::chrono::seconds(60)))
      << ::testing::PrintToString(left);
}

TEST_F(StuckReasonsTest, UnpullableImageIsImagePullBackOffAndStopAndDeleteStillWork) {
  startServe(kubeconfigPath());
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(lifecycle("nopull", "create", {{"image", kUnpullableImage}}));

  const json status = waitStatus("nopull", "ERROR", "ImagePullBackOff");
  EXPECT_EQ(status.value("image", ""), kUnpullableImage) << status;
  EXPECT_NE(status.value("message", "").find(kUnpullableImage), std::string::npos) << status;
  EXPECT_NE(status.value("message", "").find(names::pod("nopull")), std::string::npos) << status;

  ASSERT_TRUE(lifecycle("nopull", "stop"));
  EXPECT_FALSE(waitStatus("nopull", "STOPPED").is_null());
  EXPECT_KIND(get(resources::pods(), names::pod("nopull")), NotFound);

  EXPECT_TRUE(purge("nopull"));
  std::vector<std::string> left;
  EXPECT_TRUE(eventually(
      [&] {
        left = leftovers("nopull");
        return left.empty();
      },
      std::chrono::seconds(60)))
      << ::testing::PrintToString(left);
}

// kubernetes#67250: with the default OrderedReady policy the StatefulSet controller never
// replaces a pod that is not Ready, so a sandbox whose pod never became Ready could not take a
// fix. With podManagementPolicy Parallel an env change rolls the never-Ready pod at once.
TEST_F(StuckReasonsTest, ANeverReadyPodDoesNotBlockAnEnvFix) {
  startServe(kubeconfigPath());
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(lifecycle("stuckfix", "create", {{"image", kUnpullableImage}}));
  EXPECT_FALSE(waitStatus("stuckfix", "ERROR", "ImagePullBackOff").is_null());
  auto before = get(resources::pods(), names::pod("stuckfix"));
  ASSERT_OK(before);
  const std::string oldUid = (*before)["metadata"].value("uid", "");

  auto patched = call("PATCH", "/api/v1/sandboxes/stuckfix/env", R"({"set":{"FIXED":"1"}})");
  ASSERT_EQ(patched.status, 200) << patched.body;

  // The controller replaces the pod with one of the new revision, which has the new value.
  json pod;
  std::string updateRevision;
  EXPECT_TRUE(eventually(
      [&] {
        auto sts = get(resources::statefulSets(), "stuckfix");
        auto now = get(resources::pods(), names::pod("stuckfix"));
        if (!sts.isOk() || !now.isOk()) {
          return false;
        }
        pod = *now;
        updateRevision = (*sts)["status"].value("updateRevision", "");
        const json labels = pod["metadata"].value("labels", json::object());
        return pod["metadata"].value("uid", "") != oldUid && !updateRevision.empty() &&
               labels.value("controller-revision-hash", "") == updateRevision;
      },
      std::chrono::seconds(60)))
      << "revision " << updateRevision << "; pod " << pod.dump();
  bool hasFix = false;
  for (const json& env : pod["spec"]["containers"][0].value("env", json::array())) {
    hasFix = hasFix || (env.value("name", "") == "FIXED" && env.value("value", "") == "1");
  }
  EXPECT_TRUE(hasFix) << pod["spec"]["containers"][0].dump();
  EXPECT_TRUE(purge("stuckfix"));
}

}  // namespace
}  // namespace sandboxd::integration
