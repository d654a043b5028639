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

}  // namespace
}  // namespace sandboxd::integration
