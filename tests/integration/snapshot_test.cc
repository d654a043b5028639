// Home-volume snapshots on the real control plane: `sandboxd serve` asks for VolumeSnapshots,
// the upstream snapshot-controller binds them to contents, and the test storage
// (tools/k8s/snapshot_driver.py) copies the volume's directory. So the tests check data: the
// snapshot's directory holds the files the volume held when it was taken.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>

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

  // Polls the sandbox's operations until restore `operation` has ended; its state.
  std::string waitRestoreEnded(const std::string& name, int64_t operation,
                               std::chrono::seconds timeout = std::chrono::seconds(120)) {
    std::string state;
    ::sandboxd::testing::HttpResult last;
    const bool ended = eventually(
        [&] {
          last = call("GET", "/api/v1/sandboxes/" + name + "/operations");
          for (const json& op : last.json().value("items", json::array())) {
            if (op.value("id", int64_t{0}) == operation) {
              state = op.value("state", "");
            }
          }
          return !state.empty() && state != "pending";
        },
        timeout);
    EXPECT_TRUE(ended) << "restore " << operation << " of " << name << " never ended; last: "
                       << last.status << " " << last.body << "\nserver log:\n"
                       << serve_.log();
    return state;
  }

  void restartServe(int signal) {
    serve_.stop(signal);
    ASSERT_TRUE(serve_.start(dir_, {"--kube", kubeconfigPath(), "--config", dir_ + "/config.yaml"},
                             "/readyz"))
        << serve_.log();
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

TEST_F(SnapshotTest, RetentionDropsTheOldestUnlabelledAndAPurgeCanTakeTheRest) {
  startServe(kubeconfigPath(), "snapshots:\n  keep: 2\n");
  ASSERT_TRUE(lifecycle("snapkeep", "create"));
  ASSERT_FALSE(waitStatus("snapkeep", "RUNNING").is_null());
  auto labelled = call("POST", "/api/v1/sandboxes/snapkeep/snapshots",
                       json{{"label", "keep-me"}}.dump());
  ASSERT_EQ(labelled.status, 202) << labelled.body;
  std::vector<std::string> unlabelled;
  for (int i = 0; i < 3; ++i) {
    auto created = call("POST", "/api/v1/sandboxes/snapkeep/snapshots");
    ASSERT_EQ(created.status, 202) << created.body;
    unlabelled.push_back(created.json().value("id", ""));
    ASSERT_FALSE(waitReady("snapkeep", unlabelled.back()).is_null());
  }
  const json listed = call("GET", "/api/v1/sandboxes/snapkeep/snapshots").json();
  std::set<std::string> ids;
  for (const json& s : listed["items"]) {
    ids.insert(s.value("id", ""));
  }
  EXPECT_EQ(ids, (std::set<std::string>{labelled.json().value("id", ""), unlabelled[1],
                                        unlabelled[2]}))
      << "keep 2: the oldest unlabelled went, the labelled one stays; " << listed.dump();
  EXPECT_TRUE(eventually(
      [&] {
        return !client_->get(resources::volumeSnapshots(), ns_,
                             "snapkeep-snap-" + unlabelled[0]).isOk();
      },
      std::chrono::seconds(30)))
      << "its VolumeSnapshot went too";

  // A purge keeps them unless asked; purgeSnapshots=true takes them all, objects included.
  auto refused = call("DELETE", "/api/v1/sandboxes/snapkeep?purgeSnapshots=true");
  EXPECT_EQ(refused.status, 422) << "only with purge=true: " << refused.body;
  auto purged = call("DELETE", "/api/v1/sandboxes/snapkeep?purge=true&purgeSnapshots=true");
  EXPECT_EQ(purged.status, 202) << purged.body;
  EXPECT_TRUE(eventually(
      [&] {
        auto left = client_->list(resources::volumeSnapshots(), ns_);
        if (!left.isOk()) {
          return false;
        }
        for (const json& v : (*left)["items"]) {
          if (v["metadata"].value("name", "").rfind("snapkeep-snap-", 0) == 0) {
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(30)))
      << "the purge took every VolumeSnapshot of the sandbox";
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

TEST_F(SnapshotTest, ARestoreBringsTheFilesBackAndKeepsWhatItReplaced) {
  startServe(kubeconfigPath());
  ASSERT_TRUE(lifecycle("snaprestore", "create"));
  ASSERT_FALSE(waitStatus("snaprestore", "RUNNING").is_null());
  std::ofstream(volumeDir("snaprestore") + "/notes.txt") << "version 1";
  auto created = call("POST", "/api/v1/sandboxes/snaprestore/snapshots",
                      json{{"label", "good"}}.dump());
  ASSERT_EQ(created.status, 202) << created.body;
  const std::string id = created.json().value("id", "");
  ASSERT_FALSE(waitReady("snaprestore", id).is_null());
  std::ofstream(volumeDir("snaprestore") + "/notes.txt") << "version 2 (a mistake)";

  // Through the CLI, as an operator would.
  ProcessResult restored = runProcess({SANDBOXD_BINARY, "restore", "snaprestore", "--snapshot",
                                       id, "--server", serve_.url(), "--token", token_, "-o",
                                       "json"});
  ASSERT_EQ(restored.exitCode, 0) << restored.err;
  const json accepted = json::parse(restored.out);
  EXPECT_TRUE(accepted.value("resume", false));
  const std::string pre = accepted.value("preRestoreSnapshot", "");
  ASSERT_FALSE(pre.empty());
  const json stopped = waitStatus("snaprestore", "STOPPED", "Restoring");
  EXPECT_FALSE(stopped.is_null()) << "held stopped while its volume is replaced";
  auto refused = call("POST", "/api/v1/sandboxes/snaprestore/start");
  EXPECT_EQ(refused.status, 409) << refused.body;

  EXPECT_EQ(waitRestoreEnded("snaprestore", accepted.value("operation", int64_t{0})), "done");
  ASSERT_FALSE(waitStatus("snaprestore", "RUNNING").is_null()) << "it ran: it runs again";
  EXPECT_EQ(read(volumeDir("snaprestore") + "/notes.txt"), "version 1");
  EXPECT_EQ(read(snapshotDir("snaprestore-snap-" + pre) + "/notes.txt"), "version 2 (a mistake)")
      << "the replaced volume is kept: a restore loses nothing";
  bool listed = false;
  const json snapshots = call("GET", "/api/v1/sandboxes/snaprestore/snapshots").json();
  for (const json& s : snapshots["items"]) {
    listed = listed || (s.value("id", "") == pre && s.value("label", "") == "pre-restore");
  }
  EXPECT_TRUE(listed);

  // Another user cannot restore it, nor name an unknown snapshot.
  const std::string bob = serve_.createToken("bob");
  auto foreign = ::sandboxd::testing::httpCall(serve_.port(), "POST",
                                               "/api/v1/sandboxes/snaprestore/restore", bob,
                                               json{{"snapshot", id}}.dump());
  EXPECT_EQ(foreign.status, 404) << foreign.body;
  auto unknown = call("POST", "/api/v1/sandboxes/snaprestore/restore",
                      json{{"snapshot", "0123456789ab"}}.dump());
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(call("POST", "/api/v1/sandboxes/snaprestore/restore", "{}").status, 422);
}

TEST_F(SnapshotTest, AForkStartsWithTheSnapshotsFilesAndLeavesTheOriginalAlone) {
  startServe(kubeconfigPath());
  ASSERT_TRUE(lifecycle("snaporigin", "create"));
  ASSERT_FALSE(waitStatus("snaporigin", "RUNNING").is_null());
  std::ofstream(volumeDir("snaporigin") + "/notes.txt") << "shared start";
  auto created = call("POST", "/api/v1/sandboxes/snaporigin/snapshots");
  ASSERT_EQ(created.status, 202) << created.body;
  const std::string id = created.json().value("id", "");
  ASSERT_FALSE(waitReady("snaporigin", id).is_null());

  ProcessResult forked = runProcess({SANDBOXD_BINARY, "create", "snapfork", "--from",
                                     "snaporigin/" + id, "--server", serve_.url(), "--token",
                                     token_});
  ASSERT_EQ(forked.exitCode, 0) << forked.err;
  ASSERT_FALSE(waitStatus("snapfork", "RUNNING").is_null());
  EXPECT_EQ(read(volumeDir("snapfork") + "/notes.txt"), "shared start");
  std::ofstream(volumeDir("snapfork") + "/notes.txt") << "the fork's own";
  EXPECT_EQ(read(volumeDir("snaporigin") + "/notes.txt"), "shared start") << "untouched";

  const std::string bob = serve_.createToken("bob");
  auto foreign = ::sandboxd::testing::httpCall(
      serve_.port(), "POST", "/api/v1/sandboxes", bob,
      json{{"name", "bobfork"}, {"fromSnapshot", {{"sandbox", "snaporigin"}, {"snapshot", id}}}}
          .dump());
  EXPECT_EQ(foreign.status, 404) << foreign.body;
  ProcessResult bad = runProcess({SANDBOXD_BINARY, "create", "snapbad", "--from", "snaporigin",
                                  "--server", serve_.url(), "--token", token_});
  EXPECT_EQ(bad.exitCode, 2) << bad.err;
}

// kill -9 of serve at each point of a restore (the delays walk through its steps: the stop,
// the snapshot of the current volume, the claim's delete, its re-creation, the start), then a
// restart: every time the restore converges, the files are the snapshot's, and the volume it
// replaced is kept in that round's pre-restore snapshot.
TEST_F(SnapshotTest, ARestoreConvergesAfterAKillAtAnyStep) {
  startServe(kubeconfigPath());
  ASSERT_TRUE(lifecycle("snapkill", "create"));
  ASSERT_FALSE(waitStatus("snapkill", "RUNNING").is_null());
  std::ofstream(volumeDir("snapkill") + "/notes.txt") << "good";
  auto created = call("POST", "/api/v1/sandboxes/snapkill/snapshots",
                      json{{"label", "good"}}.dump());
  ASSERT_EQ(created.status, 202) << created.body;
  const std::string id = created.json().value("id", "");
  ASSERT_FALSE(waitReady("snapkill", id).is_null());

  const int delaysMs[] = {0, 150, 400, 650, 900, 1150, 1400, 1800, 2500};
  for (int round = 0; round < static_cast<int>(std::size(delaysMs)); ++round) {
    SCOPED_TRACE("kill " + std::to_string(delaysMs[round]) + " ms into round " +
                 std::to_string(round));
    const std::string written = "round " + std::to_string(round);
    std::ofstream(volumeDir("snapkill") + "/notes.txt") << written;
    auto accepted = call("POST", "/api/v1/sandboxes/snapkill/restore",
                         json{{"snapshot", id}}.dump());
    ASSERT_EQ(accepted.status, 202) << accepted.body;
    std::this_thread::sleep_for(std::chrono::milliseconds(delaysMs[round]));
    restartServe(SIGKILL);
    if (HasFatalFailure()) {
      return;
    }
    EXPECT_EQ(waitRestoreEnded("snapkill", accepted.json().value("operation", int64_t{0})),
              "done");
    ASSERT_FALSE(waitStatus("snapkill", "RUNNING").is_null());
    EXPECT_EQ(read(volumeDir("snapkill") + "/notes.txt"), "good");
    const std::string pre = accepted.json().value("preRestoreSnapshot", "");
    ASSERT_FALSE(waitReady("snapkill", pre).is_null());
    EXPECT_EQ(read(snapshotDir("snapkill-snap-" + pre) + "/notes.txt"), written)
        << "what the round wrote is kept";
    // Which steps the restarted server carried out (its log starts at the restart).
    std::string steps;
    std::istringstream log(serve_.log());
    for (std::string line; std::getline(log, line);) {
      const size_t at = line.find("restore: ");
      if (at != std::string::npos) {
        steps += (steps.empty() ? "" : "; ") + line.substr(at + 9, 40);
      }
    }
    std::cout << "[ figures  ] killed " << delaysMs[round] << " ms in; after the restart: "
              << (steps.empty() ? "(finish only)" : steps) << "\n";
  }
  const json items = call("GET", "/api/v1/sandboxes/snapkill/snapshots").json()["items"];
  EXPECT_EQ(items.size(), std::size(delaysMs) + 1) << "one pre-restore copy per round: "
                                                   << items.dump();
  auto claims = client_->list(resources::persistentVolumeClaims(), ns_);
  ASSERT_OK(claims);
  int homes = 0;
  for (const json& c : (*claims)["items"]) {
    homes += c["metadata"].value("name", "") == names::pvc("snapkill") ? 1 : 0;
  }
  EXPECT_EQ(homes, 1);
}

}  // namespace
}  // namespace sandboxd::integration
