// The table of permissions sandboxd's code uses against deploy/rbac.yaml's Role and
// deploy/examples/several-namespaces.yaml's ClusterRole: the same triples, each granted once.
// (tests/integration/deploy_test.cc compares both with what sandboxd really issues.)
#include <gtest/gtest.h>

#include <set>

#include "sandboxd/service/required_permissions.h"
#include "support/deploy_files.h"

namespace sandboxd {
namespace {

using ::sandboxd::testing::deployPath;
using ::sandboxd::testing::describe;
using ::sandboxd::testing::findObject;
using ::sandboxd::testing::grantedBy;
using ::sandboxd::testing::without;
using ::sandboxd::testing::yamlDocuments;

std::set<Permission> table() {
  std::set<Permission> out;
  for (const auto& row : requiredPermissions()) {
    EXPECT_NE(row.usedBy, 0u) << row.permission.toString() << " is used by no command";
    EXPECT_TRUE(out.insert(row.permission).second) << row.permission.toString() << " twice";
  }
  return out;
}

// The rules grant exactly the table, and no triple twice.
void expectGrantsTheTable(const json& rules, const std::string& what) {
  size_t triples = 0;
  for (const json& rule : rules) {
    triples += rule["apiGroups"].size() * rule["resources"].size() * rule["verbs"].size();
  }
  const std::set<Permission> granted = grantedBy(rules);
  EXPECT_EQ(triples, granted.size()) << what << " grants some triple twice";
  EXPECT_TRUE(without(table(), granted).empty())
      << what << " lacks what the code uses:" << describe(without(table(), granted));
  EXPECT_TRUE(without(granted, table()).empty())
      << what << " grants what no code uses:" << describe(without(granted, table()));
}

TEST(RequiredPermissionsTest, TheRoleGrantsExactlyTheTable) {
  const auto docs = yamlDocuments(deployPath("rbac.yaml"));
  const json* role = findObject(docs, "Role", "sandboxd");
  ASSERT_NE(role, nullptr) << "no Role sandboxd in deploy/rbac.yaml";
  expectGrantsTheTable((*role)["rules"], "deploy/rbac.yaml's Role");
}

TEST(RequiredPermissionsTest, TheSeveralNamespacesClusterRoleGrantsTheSame) {
  const auto docs = yamlDocuments(deployPath("examples/several-namespaces.yaml"));
  const json* clusterRole = findObject(docs, "ClusterRole", "sandboxd-sandboxes");
  ASSERT_NE(clusterRole, nullptr);
  expectGrantsTheTable((*clusterRole)["rules"],
                       "examples/several-namespaces.yaml's ClusterRole sandboxd-sandboxes");
}

TEST(RequiredPermissionsTest, ServeNeedsAllButMigrationsOwn) {
  std::set<Permission> serve;
  for (const auto& p : permissionsUsedBy(kUsedByServe)) {
    serve.insert(p);
  }
  // Re-creating a Deployment (rollback) and repointing Ingresses are migration's alone: a
  // deployment that never migrates may leave them out of the Role and still be ready.
  EXPECT_EQ(without(table(), serve),
            (std::set<Permission>{{"apps", "deployments", "create"},
                                  {"networking.k8s.io", "ingresses", "patch"}}));
}

}  // namespace
}  // namespace sandboxd
