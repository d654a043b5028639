#include "sandboxd/validation/validation.h"

#include <gtest/gtest.h>

#include "fakes/status_matchers.h"

namespace sandboxd {
namespace {

struct NameCase {
  const char* label;
  std::string input;
  bool valid;
};

TEST(ValidateSandboxName, FollowsTheDns1123LabelRuleWithin40Characters) {
  const NameCase cases[] = {
      {"simple", "demo", true},
      {"with digits and dash", "my-box-2", true},
      {"single letter", "a", true},
      {"exactly 40", std::string(40, 'a'), true},
      {"41 is too long", std::string(41, 'a'), false},
      {"empty", "", false},
      {"uppercase", "Demo", false},
      {"starts with digit", "1demo", false},
      {"starts with dash", "-demo", false},
      {"ends with dash", "demo-", false},
      {"underscore", "my_box", false},
      {"dot", "my.box", false},
      {"space", "my box", false},
      {"slash (path injection)", "a/b", false},
      {"newline", "demo\n", false},
      {"unicode", "d\xc3\xa9mo", false},
  };
  for (const auto& c : cases) {
    Status s = validateSandboxName(c.input);
    EXPECT_EQ(s.isOk(), c.valid) << c.label << ": " << s.toString();
    if (!c.valid) {
      EXPECT_EQ(s.kind(), ErrorKind::InvalidArgument) << c.label;
      EXPECT_NE(s.message().find("name"), std::string::npos) << c.label;
      EXPECT_NE(s.message().find("DNS-1123"), std::string::npos) << c.label;
    }
  }
}

TEST(ValidateEnvName, AcceptsOnlyCIdentifiers) {
  EXPECT_OK(validateEnvName("PATH_2"));
  EXPECT_OK(validateEnvName("_x"));
  EXPECT_OK(validateEnvName("lower"));
  EXPECT_KIND(validateEnvName("2X"), InvalidArgument);
  EXPECT_KIND(validateEnvName("A-B"), InvalidArgument);
  EXPECT_KIND(validateEnvName(""), InvalidArgument);
  EXPECT_KIND(validateEnvName("A B"), InvalidArgument);
  EXPECT_KIND(validateEnvName("A=B"), InvalidArgument);
  EXPECT_KIND(validateEnvName(std::string(257, 'A')), InvalidArgument);
}

TEST(ValidateEnv, RejectsReservedDuplicateOversizedAndTooMany) {
  SandboxConfig config;
  config.maxEnvVars = 3;
  config.maxEnvValueBytes = 10;
  EXPECT_OK(validateEnv({{"A", "1"}}, {{"S", "secret"}}, config));
  Status reserved = validateEnv({{"HOME", "/tmp"}}, {}, config);
  EXPECT_KIND(reserved, InvalidArgument);
  EXPECT_NE(reserved.message().find("platform"), std::string::npos);
  EXPECT_KIND(validateEnv({{"A", "1"}}, {{"A", "2"}}, config), InvalidArgument);
  Status big = validateEnv({{"A", std::string(11, 'x')}}, {}, config);
  EXPECT_KIND(big, InvalidArgument);
  EXPECT_NE(big.message().find("limit"), std::string::npos);
  EXPECT_KIND(validateEnv({{"A", "1"}, {"B", "1"}}, {{"C", "1"}, {"D", "1"}}, config),
              InvalidArgument);
  Status secretField = validateEnv({}, {{"bad-name", "1"}}, config);
  EXPECT_NE(secretField.message().find("secretEnv"), std::string::npos);
}

TEST(ValidateEnvChange, RejectsEmptyConflictingAndReservedChanges) {
  SandboxConfig config;
  EXPECT_KIND(validateEnvChange({}, config), InvalidArgument);
  EnvChange ok;
  ok.set = {{"A", "1"}};
  ok.setSecret = {{"B", "2"}};
  ok.unset = {"C"};
  EXPECT_OK(validateEnvChange(ok, config));
  EnvChange both;
  both.set = {{"A", "1"}};
  both.unset = {"A"};
  EXPECT_KIND(validateEnvChange(both, config), InvalidArgument);
  EnvChange reserved;
  reserved.unset = {"SANDBOX_NAME"};
  EXPECT_KIND(validateEnvChange(reserved, config), InvalidArgument);
  EnvChange badUnset;
  badUnset.unset = {"not valid"};
  Status s = validateEnvChange(badUnset, config);
  EXPECT_NE(s.message().find("unset"), std::string::npos);
}

TEST(ParseStorageQuantity, ParsesBinarySuffixes) {
  EXPECT_EQ(*parseStorageQuantity("5Gi"), int64_t{5} << 30);
  EXPECT_EQ(*parseStorageQuantity("512Mi"), int64_t{512} << 20);
  EXPECT_EQ(*parseStorageQuantity("1Ti"), int64_t{1} << 40);
  for (const char* bad : {"5", "5G", "5gi", "-5Gi", "05Gi", "Gi", "5.5Gi", " 5Gi", "5Gi ",
                          "99999999999999Ti", ""}) {
    EXPECT_KIND(parseStorageQuantity(bad), InvalidArgument) << bad;
  }
}

TEST(ValidateStorage, EnforcesConfiguredBounds) {
  SandboxConfig config;
  config.minStorage = "1Gi";
  config.maxStorage = "100Gi";
  EXPECT_OK(validateStorage("5Gi", config));
  EXPECT_OK(validateStorage("1024Mi", config));
  Status low = validateStorage("512Mi", config);
  EXPECT_KIND(low, InvalidArgument);
  EXPECT_NE(low.message().find("minimum"), std::string::npos);
  Status high = validateStorage("1Ti", config);
  EXPECT_NE(high.message().find("maximum"), std::string::npos);
}

TEST(ValidateImage, AcceptsReferencesAndRejectsJunk) {
  for (const char* good :
       {"nginx", "nginx:1.25", "library/nginx:latest", "ghcr.io/org/app:v1.2.3",
        "registry.local:5000/team/app", "localhost/app:dev",
        "ghcr.io/org/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}) {
    EXPECT_OK(validateImage(good)) << good;
  }
  for (const char* bad : {"", "Nginx", "nginx latest", "nginx:", "nginx:bad tag", "/nginx",
                          "a//b", "nginx\n", "app@sha256:123", "app:$(rm -rf)"}) {
    EXPECT_KIND(validateImage(bad), InvalidArgument) << bad;
  }
}

TEST(ValidateUserName, FollowsLabelValueRules) {
  EXPECT_OK(validateUserName("alice"));
  EXPECT_OK(validateUserName("bob.smith_2"));
  EXPECT_KIND(validateUserName(""), InvalidArgument);
  EXPECT_KIND(validateUserName("Alice"), InvalidArgument);
  EXPECT_KIND(validateUserName("-alice"), InvalidArgument);
  EXPECT_KIND(validateUserName(std::string(64, 'a')), InvalidArgument);
}

}  // namespace
}  // namespace sandboxd

namespace sandboxd {
namespace {

TEST(ValidateSpec, AnImageOutsideTheAllowlistIsInvalidWithTheRuleInTheMessage) {
  SandboxConfig config;
  config.allowedImages = {"ghcr.io/acme/", "docker.io/library/ubuntu"};
  SandboxSpec spec;
  spec.name = "demo";
  spec.image = "ghcr.io/acme/runtime:v1";
  EXPECT_OK(validateSpec(spec, config));
  spec.image = "ubuntu:24.04";
  EXPECT_OK(validateSpec(spec, config));
  spec.image = "ghcr.io/evil/runtime:v1";
  Status refused = validateSpec(spec, config);
  EXPECT_KIND(refused, InvalidArgument);
  EXPECT_NE(refused.message().find("ghcr.io/evil/runtime:v1"), std::string::npos)
      << refused.message();
  EXPECT_NE(refused.message().find("not allowed"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("ghcr.io/acme/, docker.io/library/ubuntu"), std::string::npos)
      << refused.message();
  spec.image.clear();  // the configured default (which config validation checks)
  EXPECT_OK(validateSpec(spec, config));
}

}  // namespace
}  // namespace sandboxd
