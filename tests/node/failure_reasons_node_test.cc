// What a real kubelet reports when a sandbox cannot run, as the HTTP API shows it: a
// container that exits is ERROR/CrashLoopBackOff (and an env fix brings it back), an image
// that does not exist is ImagePullBackOff (STARTING at the first failure, ERROR once the
// kubelet backs off).
#include "node/node_cluster.h"

namespace sandboxd::integration {
namespace {

class FailureReasonsNodeTest : public NodeClusterTest {};

TEST_F(FailureReasonsNodeTest, AContainerThatExitsIsCrashLoopBackOffAndAnEnvFixBringsItBack) {
  startNodeServe();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(lifecycle("crash", "create", {{"env", {{"SANDBOX_TEST_EXIT", "3"}}}}));

  const json status = waitStatus("crash", "ERROR", "CrashLoopBackOff", std::chrono::seconds(180));
  EXPECT_NE(status.value("message", "").find(names::pod("crash")), std::string::npos) << status;
  EXPECT_EQ(podNode("crash"), realNode_);
  // The process did run (and exited with the code it was asked to).
  EXPECT_GE(lineCount(record("crash", "starts")), 1);
  auto pod = get(resources::pods(), names::pod("crash"));
  ASSERT_OK(pod);
  const json last = (*pod)["status"]["containerStatuses"][0]["lastState"];
  EXPECT_EQ(last["terminated"].value("exitCode", 0), 3) << last;

  auto patched = call("PATCH", "/api/v1/sandboxes/crash/env", R"({"unset":["SANDBOX_TEST_EXIT"]})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_FALSE(waitStatus("crash", "RUNNING", "", std::chrono::seconds(180)).is_null());
  EXPECT_TRUE(purge("crash"));
}

TEST_F(FailureReasonsNodeTest, AnImageThatDoesNotExistIsImagePullBackOff) {
  startNodeServe();
  ASSERT_FALSE(HasFatalFailure());
  const std::string image = "sandboxd.invalid/no-such-image:v1";
  ASSERT_TRUE(lifecycle("nopull", "create", {{"image", image}}));

  const json status = waitStatus("nopull", "ERROR", "ImagePullBackOff", std::chrono::seconds(180));
  EXPECT_EQ(status.value("image", ""), image) << status;
  EXPECT_NE(status.value("message", "").find(image), std::string::npos) << status;
  EXPECT_EQ(podNode("nopull"), realNode_);
  // The kubelet tried: its pull failed (ErrImagePull) before it backed off.
  EXPECT_FALSE(podEvents("nopull", "Failed").empty());

  ASSERT_TRUE(lifecycle("nopull", "stop"));
  EXPECT_FALSE(waitStatus("nopull", "STOPPED").is_null());
  EXPECT_TRUE(purge("nopull"));
}

}  // namespace
}  // namespace sandboxd::integration
