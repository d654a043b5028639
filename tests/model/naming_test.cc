// The naming rules: the names of a sandbox's objects and the selector of sandboxd's own.
#include "sandboxd/model/naming.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

namespace sandboxd {
namespace {

struct NameRow {
  const char* rule;
  std::string got;
  const char* want;
};

TEST(NamesTest, ObjectNamesFollowFromTheSandboxName) {
  const std::vector<NameRow> rows = {
      {"Service", names::service("alice-dev"), "alice-dev-service"},
      {"Secret", names::envSecret("alice-dev"), "alice-dev-env"},
      {"Ingress", names::ingress("alice-dev", "ttyd"), "alice-dev-ttyd-ingress"},
      {"home volume claim", names::pvc("alice-dev"), "vn-homevn-agent-alice-dev-0"},
      {"pod", names::pod("alice-dev"), "alice-dev-0"},
      {"Ingress host", names::host("alice-dev", "app", "sandbox.example.com"),
       "alice-dev-app.sandbox.example.com"},
      {"URL", names::url("https", "alice-dev", "app", "sandbox.example.com"),
       "https://alice-dev-app.sandbox.example.com"},
  };
  for (const NameRow& row : rows) {
    EXPECT_EQ(row.got, row.want) << row.rule;
  }
}

TEST(LabelsTest, ManagedSelectorSelectsWhatSandboxdManages) {
  EXPECT_EQ(labels::managedSelector(), "app.kubernetes.io/managed-by=sandboxd");
}

}  // namespace
}  // namespace sandboxd

namespace sandboxd {
namespace {

TEST(ParseHostTest, FindsTheSandboxAndPortOfItsOwnHostsOnly) {
  const std::vector<std::string> ports = {"app", "ttyd"};
  const std::string domain = "sandbox.example.com";
  for (const auto& [host, sandbox, port] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"demo-app.sandbox.example.com", "demo", "app"},
           {"demo-ttyd.sandbox.example.com", "demo", "ttyd"},
           {"my-demo-2-app.sandbox.example.com", "my-demo-2", "app"},
           {"Demo-App.Sandbox.Example.COM", "demo", "app"},
           {"demo-app.sandbox.example.com:443", "demo", "app"},
       }) {
    auto target = names::parseHost(host, domain, ports);
    ASSERT_TRUE(target) << host;
    EXPECT_EQ(target->sandbox, sandbox) << host;
    EXPECT_EQ(target->port, port) << host;
    // The round trip.
    EXPECT_EQ(names::host(target->sandbox, target->port, domain),
              names::host(sandbox, port, domain));
  }
  for (const std::string host : {
           "", "sandbox.example.com", ".sandbox.example.com", "-app.sandbox.example.com",
           "app.sandbox.example.com", "demo.sandbox.example.com", "demo-web.sandbox.example.com",
           "demo-app.sandbox.example.com.evil.org", "demo-app.evil-sandbox.example.com",
           "demo-appsandbox.example.com", "x.demo-app.sandbox.example.com",
           "demo-app.other.example.com", "demo-app.sandbox.example.com:", "demo-app.sandbox.example.com:x",
           "demo-app.sandbox.example.com:443:443", "demo-app.example.com", "demoapp.sandbox.example.com",
       }) {
    EXPECT_FALSE(names::parseHost(host, domain, ports)) << host;
  }
  // A host two port names could split is refused rather than guessed.
  EXPECT_FALSE(names::parseHost("x-my-app.d.io", "d.io", {"app", "my-app"}));
  EXPECT_FALSE(names::parseHost("demo-app.d.io", "", ports));
}

}  // namespace
}  // namespace sandboxd
