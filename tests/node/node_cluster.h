// The node tier: `sandboxd serve` against the test control plane started with a real node
// (tools/k8s/up.sh --real-node: containerd, runc and a kubelet beside KWOK). Its config puts
// sandbox pods on that node (the node selector and toleration of sandboxd.dev/real-node, set
// through sandbox.nodeSelector and sandbox.tolerations, nothing else) and runs the locally
// built test image (tools/k8s/node/make_images.py), whose entrypoint records what the process
// sees into $HOME/.sandbox-test/. The tests read those records through the home volume's
// directory on this host: the provisioner's local PersistentVolumes are directories the
// kubelet mounts into the pod.
#pragma once

#include <sys/stat.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "integration/served_cluster.h"

namespace sandboxd::integration {

inline constexpr const char* kRealNodeLabel = "sandboxd.dev/real-node";

class NodeClusterTest : public ServedClusterTest {
 protected:
  void SetUp() override {
    ServedClusterTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    const std::string env = stateDir().empty() ? "" : readFile(stateDir() + "/env");
    realNode_ = envValue(env, "SANDBOXD_K8S_REAL_NODE_NAME");
    ASSERT_FALSE(realNode_.empty())
        << "the cluster of SANDBOXD_K8S_STATE=" << stateDir()
        << " has no real node: the node tier needs tools/k8s/up.sh STATE --real-node";
    config_.sandbox.image = envValue(env, "SANDBOXD_K8S_SANDBOX_TEST_IMAGE");
    ASSERT_FALSE(config_.sandbox.image.empty());
  }

  // `sandboxd serve` whose sandboxes run on the real node; `sandboxYaml` as startServe's.
  void startNodeServe(const std::string& sandboxYaml = "") {
    startServe(kubeconfigPath(), std::string("  nodeSelector:\n    ") + kRealNodeLabel +
                                     ": \"true\"\n"
                                     "  tolerations:\n"
                                     "    - key: " + kRealNodeLabel + "\n"
                                     "      operator: Equal\n"
                                     "      value: \"true\"\n"
                                     "      effect: NoSchedule\n" +
                                     sandboxYaml);
  }

  // KEY=VALUE lines (as `env` prints them, or up.sh's env file) → the value of `key`.
  static std::string envValue(const std::string& text, const std::string& key) {
    return parseEnv(text)[key];
  }
  static std::map<std::string, std::string> parseEnv(const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      const auto eq = line.find('=');
      if (eq != std::string::npos) {
        out[line.substr(0, eq)] = line.substr(eq + 1);
      }
    }
    return out;
  }

  // The host directory of the sandbox's home volume (its claim's PersistentVolume), "" while
  // the claim is not bound.
  std::string homeDir(const std::string& name) {
    auto pvc = get(resources::persistentVolumeClaims(), names::pvc(name));
    if (!pvc.isOk()) {
      return "";
    }
    const std::string volume = (*pvc)["spec"].value("volumeName", "");
    if (volume.empty()) {
      return "";
    }
    static const ResourceType persistentVolumes{"/api/v1", "persistentvolumes",
                                                "PersistentVolume", "v1", false};
    auto pv = client_->get(persistentVolumes, "", volume);
    if (!pv.isOk()) {
      return "";
    }
    const json spec = (*pv)["spec"];
    return spec.contains("local") ? spec["local"].value("path", "") : "";
  }

  // A record the test image wrote into the home volume ($HOME/.sandbox-test/<file>); "" when
  // it is not there (yet).
  std::string record(const std::string& name, const std::string& file) {
    const std::string home = homeDir(name);
    return home.empty() ? "" : readFile(home + "/.sandbox-test/" + file);
  }

  // Waits until record `file` satisfies `pred`; returns its last content.
  std::string waitRecord(const std::string& name, const std::string& file,
                         const std::function<bool(const std::string&)>& pred,
                         std::chrono::seconds timeout = std::chrono::seconds(120)) {
    std::string last;
    const bool ok = eventually(
        [&] {
          last = record(name, file);
          return pred(last);
        },
        timeout);
    EXPECT_TRUE(ok) << name << ": record " << file << " never as expected; last: '" << last
                    << "'";
    return last;
  }

  static int lineCount(const std::string& text) {
    int n = 0;
    for (char c : text) {
      n += c == '\n' ? 1 : 0;
    }
    return n;
  }

  // The node the sandbox's pod was scheduled to ("" if none).
  std::string podNode(const std::string& name) {
    auto pod = get(resources::pods(), names::pod(name));
    return pod.isOk() ? (*pod)["spec"].value("nodeName", "") : "";
  }

  // Messages of the events about the sandbox's pod with this reason (the kubelet's).
  std::vector<std::string> podEvents(const std::string& name, const std::string& reason) {
    std::vector<std::string> out;
    auto list = client_->list(resources::events(), ns_);
    if (!list.isOk()) {
      return out;
    }
    for (const json& e : (*list)["items"]) {
      if (e["involvedObject"].value("name", "") == names::pod(name) &&
          e.value("reason", "") == reason) {
        out.push_back(e.value("message", ""));
      }
    }
    return out;
  }

  std::string realNode_;
};

}  // namespace sandboxd::integration
