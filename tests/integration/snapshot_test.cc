// Home-volume snapshots on the real control plane: `sandboxd serve` asks for VolumeSnapshots,
// the upstream snapshot-controller binds them to contents, and the test storage
// (tools/k8s/snapshot_driver.py) copies the volume's directory. So the tests check data: the
// snapshot's directory holds the files the volume held when it was taken.
#include <filesystem>
#include <fstream>

#include "integration/served_cluster.h"

namespace sandboxd::integration {
namespace {

namespace fs = std::filesystem;

const ResourceType kContents{"/apis/snapshot.storage.k8s.io/v1", "volumesnapshotcontents",
                             "VolumeSnapshotContent", "snapshot.storage.k8s.io/v1", false};

class SnapshotTest : public ServedClusterTest {
 protected:
  // The directory of sandbox `name`'s home volume (the test storage's).
  std::string volumeDir(const std::string& name) {
    auto pvc = client_->get(resources::persistentVolumeClaims(), ns_, names::pvc(name));
    EXPECT_OK(pvc);
    const std::string volume = pvc.isOk() ? (*pvc)["spec"].value("volumeName", "") : "";
    EXPECT_FALSE(volume.empty()) << "the home volume is not bound";
    return stateDir() + "/pvs/" + volume;
  }

  // The test storage's directory of the snapshot whose VolumeSnapshot is `objectName`.
  std::string snapshotDir(const std::string& objectName) {
    auto snapshot = client_->get(resources::volumeSnapshots(), ns_, objectName);
    EXPECT_OK(snapshot);
    const std::string content =
        snapshot.isOk() ? (*snapshot)["status"].value("boundVolumeSnapshotContentName", "") : "";
    auto object = client_->get(kContents, "", content);
    EXPECT_OK(object) << "content \"" << content << "\"";
    const std::string handle = object.isOk() ? (*object)["status"].value("snapshotHandle", "") : "";
    EXPECT_FALSE(handle.empty());
    return stateDir() + "/snapshots/" + handle;
  }

  // Polls the list until snapshot `id` is ready; returns it (null on failure).
  json waitReady(const std::string& name, const std::string& id) {
    ::sandboxd::testing::HttpResult last;
    json found;
    const bool ok = eventually(
        [&] {
          last = call("GET", "/api/v1/sandboxes/" + name + "/snapshots");
          for (const json& item : last.json().value("items", json::array())) {
            if (item.value("id", "") == id && item.value("state", "") == "ready") {
              found = item;
              return true;
            }
          }
          return false;
        },
        std::chrono::seconds(60));
    EXPECT_TRUE(ok) << "snapshot " << id << " never ready; last answer: " << last.status << " "
                    << last.body;
    return found;
  }

  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
};

TEST_F(SnapshotTest, ASnapshotHoldsTheFilesTheVolumeHeldAndGoesWhenDeleted) {
  ASSERT_FALSE(stateDir().empty()) << "needs the test control plane's storage directories";
  startServe(kubeconfigPath());
  ASSERT_TRUE(lifecycle("snapdemo", "create"));
  ASSERT_FALSE(waitStatus("snapdemo", "RUNNING").is_null());
  const std::string volume = volumeDir("snapdemo");
  std::ofstream(volume + "/notes.txt") << "version 1";

  auto created = call("POST", "/api/v1/sandboxes/snapdemo/snapshots",
                      json{{"label", "first"}}.dump());
  ASSERT_EQ(created.status, 202) << created.body;
  const json snapshot = created.json();
  EXPECT_EQ(snapshot.value("label", ""), "first");
  EXPECT_EQ(snapshot.value("sandbox", ""), "snapdemo");
  const std::string id = snapshot.value("id", "");
  ASSERT_FALSE(id.empty());

  const json ready = waitReady("snapdemo", id);
  ASSERT_FALSE(ready.is_null());
  EXPECT_EQ(ready.value("size", ""), "5Gi") << "the volume's capacity";
  EXPECT_TRUE(ready.contains("readyAt"));
  const std::string copy = snapshotDir("snapdemo-snap-" + id);
  EXPECT_EQ(read(copy + "/notes.txt"), "version 1");

  std::ofstream(volume + "/notes.txt") << "version 2";
  EXPECT_EQ(read(copy + "/notes.txt"), "version 1") << "a copy, not the live volume";

  // The CLI sees it too.
  ProcessResult listed = runProcess({SANDBOXD_BINARY, "snapshot", "list", "snapdemo",
                                     "--server", serve_.url(), "--token", token_});
  EXPECT_EQ(listed.exitCode, 0) << listed.err;
  EXPECT_NE(listed.out.find(id), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("ready"), std::string::npos) << listed.out;

  auto ops = call("GET", "/api/v1/sandboxes/snapdemo/operations").json();
  EXPECT_EQ(ops["items"][0].value("kind", ""), "snapshot");
  EXPECT_EQ(ops["items"][0].value("state", ""), "done");

  // Another user's sandbox and an unknown snapshot are 404s and change nothing.
  const std::string bob = serve_.createToken("bob");
  auto foreign = ::sandboxd::testing::httpCall(serve_.port(), "GET",
                                               "/api/v1/sandboxes/snapdemo/snapshots", bob);
  EXPECT_EQ(foreign.status, 404) << foreign.body;
  foreign = ::sandboxd::testing::httpCall(
      serve_.port(), "DELETE", "/api/v1/sandboxes/snapdemo/snapshots/" + id, bob);
  EXPECT_EQ(foreign.status, 404) << foreign.body;
  EXPECT_EQ(call("DELETE", "/api/v1/sandboxes/snapdemo/snapshots/0123456789ab").status, 404);
  EXPECT_TRUE(fs::exists(copy + "/notes.txt"));

  auto removed = call("DELETE", "/api/v1/sandboxes/snapdemo/snapshots/" + id);
  EXPECT_EQ(removed.status, 202) << removed.body;
  EXPECT_TRUE(eventually([&] { return !fs::exists(copy); }, std::chrono::seconds(60)))
      << "the storage's copy stays after the delete";
  EXPECT_TRUE(eventually([&] {
    auto contents = client_->list(kContents, "");
    if (!contents.isOk()) {
      return false;
    }
    for (const json& c : (*contents)["items"]) {
      if (c["spec"]["volumeSnapshotRef"].value("name", "") == "snapdemo-snap-" + id) {
        return false;
      }
    }
    return true;
  }, std::chrono::seconds(60))) << "the VolumeSnapshotContent never went (finalizers?)";
  EXPECT_TRUE(call("GET", "/api/v1/sandboxes/snapdemo/snapshots").json()["items"].empty());
}

TEST_F(SnapshotTest, APurgedSandboxIsAConflictAndItsSnapshotStays) {
  startServe(kubeconfigPath());
  ASSERT_TRUE(lifecycle("snappurge", "create"));
  ASSERT_FALSE(waitStatus("snappurge", "RUNNING").is_null());
  auto created = call("POST", "/api/v1/sandboxes/snappurge/snapshots");  // no body: no label
  ASSERT_EQ(created.status, 202) << created.body;
  const std::string id = created.json().value("id", "");
  ASSERT_FALSE(waitReady("snappurge", id).is_null());

  auto deleted = call("DELETE", "/api/v1/sandboxes/snappurge?purge=true");
  ASSERT_EQ(deleted.status, 202) << deleted.body;
  auto refused = call("POST", "/api/v1/sandboxes/snappurge/snapshots");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(refused.json()["error"].value("code", ""), "conflict");
  EXPECT_TRUE(client_->get(resources::volumeSnapshots(), ns_, "snappurge-snap-" + id).isOk())
      << "a purge keeps the sandbox's snapshots";
  (void)client_->remove(resources::volumeSnapshots(), ns_, "snappurge-snap-" + id);
}

TEST_F(SnapshotTest, AMissingClassIsSnapshotsUnavailableAndTheRestWorks) {
  startServe(kubeconfigPath(), "snapshots:\n  className: no-such-class\n");
  ASSERT_TRUE(lifecycle("snapnoclass", "create"));
  auto refused = call("POST", "/api/v1/sandboxes/snapnoclass/snapshots");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(refused.json()["error"].value("code", ""), "snapshots_unavailable") << refused.body;
  EXPECT_TRUE(call("GET", "/api/v1/sandboxes/snapnoclass/snapshots").json()["items"].empty());
  ASSERT_FALSE(waitStatus("snapnoclass", "RUNNING").is_null()) << "the sandbox works as before";
  EXPECT_TRUE(lifecycle("snapnoclass", "stop"));
}

}  // namespace
}  // namespace sandboxd::integration
