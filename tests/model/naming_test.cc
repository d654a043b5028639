// The naming rules: the names of a sandbox's objects and the selector of sandboxd's own.
#include "sandboxd/model/naming.h"

#include <gtest/gtest.h>

#include <string>
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
