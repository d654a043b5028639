// Every manifest `sandboxd render` prints is accepted by the real API server (server-side
// dry-run), for a default and a fully customised sandbox.
#include <unistd.h>

#include "integration/cluster_env.h"

namespace sandboxd::integration {
namespace {

std::vector<json> splitDocuments(const std::string& text) {
  std::vector<json> docs;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start = text.find("---\n", pos);
    if (start == std::string::npos) {
      break;
    }
    size_t next = text.find("\n---\n", start + 4);
    std::string doc = text.substr(start + 4, next == std::string::npos ? std::string::npos
                                                                       : next + 1 - start - 4);
    auto parsed = yamlToJson(doc, "render output");
    EXPECT_TRUE(parsed.isOk()) << testing::describe(parsed);
    if (parsed.isOk()) {
      docs.push_back(*parsed);
    }
    if (next == std::string::npos) {
      break;
    }
    pos = next + 1;
  }
  return docs;
}

class RenderDryRunTest : public ClusterTest {
 protected:
  void expectAccepted(const std::vector<std::string>& args, size_t expectedDocs) {
    std::vector<std::string> argv = {SANDBOXD_BINARY, "render"};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessResult result = runProcess(argv);
    ASSERT_EQ(result.exitCode, 0) << result.err;
    std::vector<json> docs = splitDocuments(result.out);
    ASSERT_EQ(docs.size(), expectedDocs) << result.out;
    for (const auto& doc : docs) {
      const ResourceType* type =
          resources::forKind(doc.value("apiVersion", ""), doc.value("kind", ""));
      ASSERT_NE(type, nullptr) << doc.dump();
      WriteOptions dryRun;
      dryRun.dryRun = true;
      auto accepted = client_->create(*type, ns_, doc, dryRun);
      EXPECT_OK(accepted) << "the API server refused " << doc["kind"] << " "
                          << doc["metadata"]["name"];
    }
    // Dry-run creates nothing.
    for (const auto& doc : docs) {
      if (doc["kind"] == "StatefulSet") {
        EXPECT_KIND(client_->get(resources::statefulSets(), ns_, doc["metadata"]["name"]),
                    NotFound);
      }
    }
  }

  std::string writeConfig(const std::string& yaml) {
    char path[] = "/tmp/sandboxd-it-config-XXXXXX";
    int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    ssize_t written = write(fd, yaml.data(), yaml.size());
    EXPECT_EQ(written, static_cast<ssize_t>(yaml.size()));
    close(fd);
    return path;
  }
};

TEST_F(RenderDryRunTest, DefaultSandboxIsAccepted) {
  std::string config = writeConfig("sandbox:\n  namespace: " + ns_ + "\n");
  expectAccepted({"demo", "--config", config}, 5);  // with the NetworkPolicy
  remove(config.c_str());
}

TEST_F(RenderDryRunTest, FullyCustomisedSandboxIsAccepted) {
  std::string config = writeConfig(
      "sandbox:\n"
      "  namespace: " + ns_ + "\n"
      "  storageClass: standard\n"
      "  domain: dev.example.org\n"
      "  ingressClass: traefik\n"
      "  tlsSecret: dev-tls\n"
      "  resources: {cpuRequest: 250m, memoryRequest: 512Mi, cpuLimit: '4', memoryLimit: 8Gi}\n"
      "  ports:\n"
      "    - {name: web, port: 8080, ingress: true}\n"
      "    - {name: ssh, port: 22, ingress: false}\n"
      "    - {name: ttyd, port: 7681, ingress: true}\n"
      "  nodeSelector: {pool: sandboxes, kubernetes.io/arch: amd64}\n"
      "  tolerations:\n"
      "    - {key: dedicated, operator: Equal, value: sandbox, effect: NoSchedule}\n"
      "    - {key: spot, operator: Exists}\n");
  expectAccepted({"custom-box", "--config", config, "--image", "ghcr.io/org/dev:2.1",
                  "--storage", "20Gi", "--user", "bob", "--env", "EDITOR=vim", "--env",
                  "MULTI=line1\nline2: x", "--secret-env", "GITHUB_TOKEN=ghp_x",
                  "--secret-env", "NPM_TOKEN={{name}}"},
                 6);
  remove(config.c_str());
}

}  // namespace
}  // namespace sandboxd::integration
