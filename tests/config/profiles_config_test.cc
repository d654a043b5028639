// Profiles (sandbox.profiles, sandbox.defaultProfile) and quotas in the config file.
#include <gtest/gtest.h>

#include "fakes/status_matchers.h"
#include "sandboxd/config/config.h"

namespace sandboxd {
namespace {

StatusOr<Config> parse(const std::string& yaml) {
  return applyConfigYaml(Config{}, yaml, "p.yaml");
}

std::string errorOf(const std::string& yaml) {
  auto c = parse(yaml);
  EXPECT_KIND(c, InvalidArgument) << yaml;
  return c.isOk() ? "" : c.status().message();
}

TEST(ProfilesConfig, WithoutProfilesTheOneProfileIsDefaultAndIsTheSandboxSettings) {
  auto c = parse("sandbox:\n  storage: 7Gi\n");
  ASSERT_OK(c);
  EXPECT_EQ(c->sandbox.defaultProfile, "default");
  EXPECT_EQ(profileNames(c->sandbox), std::vector<std::string>{"default"});
  EXPECT_EQ(profileConfig(c->sandbox, "default"), &c->sandbox);
  EXPECT_EQ(profileConfig(c->sandbox, ""), &c->sandbox);
  EXPECT_EQ(profileConfig(c->sandbox, "large"), nullptr);
}

TEST(ProfilesConfig, AProfileIsTheSandboxSettingsWithItsKeysOverThemWhateverTheOrder) {
  // profiles before the settings they resolve over: the order of keys does not matter.
  auto c = parse(R"(
sandbox:
  defaultProfile: small
  profiles:
    small: {}
    large:
      resources: {cpuLimit: "8"}
      nodeSelector: {pool: large}
      ports: [{name: vnc, port: 5900, ingress: false}]
      maxStorage: 500Gi
  resources: {memoryLimit: 2Gi}
  nodeSelector: {pool: general}
  maxStorage: 50Gi
)");
  ASSERT_OK(c);
  EXPECT_EQ(profileNames(c->sandbox), (std::vector<std::string>{"large", "small"}));
  const SandboxConfig* large = profileConfig(c->sandbox, "large");
  const SandboxConfig* small = profileConfig(c->sandbox, "small");
  ASSERT_NE(large, nullptr);
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(large->resources.cpuLimit, "8");
  EXPECT_EQ(large->resources.memoryLimit, "2Gi");  // from sandbox.resources
  EXPECT_EQ(large->nodeSelector.at("pool"), "large");
  EXPECT_EQ(large->maxStorage, "500Gi");
  ASSERT_EQ(large->ports.size(), 3u);  // sandbox.ports (app, ttyd) and its own
  EXPECT_EQ(large->ports[2].name, "vnc");
  EXPECT_TRUE(large->profiles.empty());
  EXPECT_EQ(small->nodeSelector.at("pool"), "general");
  EXPECT_EQ(small->maxStorage, "50Gi");
  // "default" is not a profile once profiles are configured.
  EXPECT_EQ(profileConfig(c->sandbox, "xl"), nullptr);
  std::vector<std::string> all;
  for (const auto& port : portsOfAllProfiles(c->sandbox)) {
    all.push_back(port.name);
  }
  EXPECT_EQ(all, (std::vector<std::string>{"app", "ttyd", "vnc"}));
}

TEST(ProfilesConfig, AProfileHasTheSandboxNamespace) {
  auto c = parse("sandbox:\n  defaultProfile: a\n  profiles:\n    a: {}\n");
  ASSERT_OK(c);
  EXPECT_EQ(c->sandbox.profiles.at("a")->nameSpace, c->sandbox.nameSpace);
}

TEST(ProfilesConfig, BadProfilesAreErrorsNamingTheKey) {
  struct Case {
    const char* name;
    const char* yaml;
    const char* mentions;
  };
  const Case cases[] = {
      {"default names no profile",
       "sandbox:\n  defaultProfile: medium\n  profiles:\n    small: {}\n",
       "sandbox.defaultProfile"},
      {"default left out with profiles", "sandbox:\n  profiles:\n    small: {}\n",
       "sandbox.defaultProfile"},
      {"default names none without profiles", "sandbox:\n  defaultProfile: large\n",
       "sandbox.defaultProfile"},
      {"bad cpu quantity",
       "sandbox:\n  defaultProfile: a\n  profiles:\n    a: {resources: {cpuLimit: two}}\n",
       "sandbox.profiles.a.resources.cpuLimit"},
      {"bad memory quantity",
       "sandbox:\n  defaultProfile: a\n  profiles:\n    a: {resources: {memoryRequest: 1 GB}}\n",
       "sandbox.profiles.a.resources.memoryRequest"},
      {"max below default storage",
       "sandbox:\n  defaultProfile: a\n  profiles:\n    a: {storage: 20Gi, maxStorage: 10Gi}\n",
       "sandbox.profiles.a.maxStorage"},
      {"storage not Gi",
       "sandbox:\n  defaultProfile: a\n  profiles:\n    a: {storage: 20G}\n",
       "sandbox.profiles.a.storage"},
      {"storage below min", "sandbox:\n  storage: 1Gi\n  minStorage: 2Gi\n", "sandbox.storage"},
      {"profile name not a DNS label", "sandbox:\n  defaultProfile: Big\n  profiles:\n    Big: {}\n",
       "sandbox.profiles.Big"},
      {"a key profiles do not have (image)",
       "sandbox:\n  defaultProfile: a\n  profiles:\n    a: {image: x}\n",
       "sandbox.profiles.a.image: unknown key"},
      {"reserved label",
       "sandbox:\n  defaultProfile: a\n  profiles:\n    a: {labels: {app: other}}\n",
       "sandbox.profiles.a.labels.app"},
      {"reserved annotation",
       "sandbox:\n  defaultProfile: a\n  profiles:\n    a: {annotations: {sandboxd.io/x: y}}\n",
       "sandbox.profiles.a.annotations.sandboxd.io/x"},
      {"bad label value",
       "sandbox:\n  defaultProfile: a\n  profiles:\n    a: {labels: {tier: two words}}\n",
       "sandbox.profiles.a.labels.tier"},
      {"duplicate extra port",
       "sandbox:\n  defaultProfile: a\n  profiles:\n    a: {ports: [{name: app, port: 9000}]}\n",
       "sandbox.profiles.a.ports"},
      {"affinity not a mapping",
       "sandbox:\n  defaultProfile: a\n  profiles:\n    a: {affinity: [1]}\n",
       "sandbox.profiles.a.affinity"},
      {"probe port missing",
       "sandbox:\n  defaultProfile: a\n  profiles:\n    a: {probes: {port: vnc}}\n",
       "sandbox.profiles.a"},
      {"bad toleration",
       "sandbox:\n  defaultProfile: a\n  profiles:\n    a: {tolerations: [{key: k, operator: Is}]}\n",
       "sandbox.profiles.a.tolerations[0].operator"},
      {"negative quota", "quotas:\n  maxSandboxes: -1\n", "quotas"},
      {"bad storage quota", "quotas:\n  maxStorage: lots\n", "quotas.maxStorage"},
      {"unknown quota key", "quotas:\n  maxCpu: 4\n", "quotas.maxCpu"},
  };
  for (const auto& c : cases) {
    EXPECT_NE(errorOf(c.yaml).find(c.mentions), std::string::npos)
        << c.name << ": " << errorOf(c.yaml);
  }
}

TEST(ProfilesConfig, QuotasDefaultToUnlimited) {
  auto c = parse("quotas:\n  maxSandboxes: 5\n  maxStorage: 50Gi\n");
  ASSERT_OK(c);
  EXPECT_EQ(c->quotas.maxSandboxes, 5);
  EXPECT_EQ(c->quotas.maxRunning, 0);
  EXPECT_EQ(c->quotas.maxStorage, "50Gi");
  EXPECT_EQ(Config{}.quotas.maxSandboxes, 0);
}

}  // namespace
}  // namespace sandboxd
