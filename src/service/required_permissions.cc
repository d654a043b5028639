#include "sandboxd/service/required_permissions.h"

namespace sandboxd {
namespace {

constexpr unsigned kServe = kUsedByServe;
constexpr unsigned kMigrate = kUsedByMigrate;
constexpr unsigned kDoctor = kUsedByDoctor;

}  // namespace

const std::vector<RequiredPermission>& requiredPermissions() {
  // Where each is used (src/service/kubernetes_service_impl.cc: the lifecycle;
  // src/service/sandbox_cache.cc: the watch cache; src/service/drift.cc: the reconciler's and
  // doctor's lists; src/migrate/migrator_impl.cc: migrate and its rollback).
  static const std::vector<RequiredPermission> table = {
      // Core group.
      {{"", "events", "list"}, kServe},                              // a refused pod's reason
      {{"", "persistentvolumeclaims", "delete"}, kServe},            // purge
      {{"", "persistentvolumeclaims", "get"}, kServe | kMigrate},    // deletion; rollback
      {{"", "persistentvolumeclaims", "list"}, kServe | kDoctor},    // cache; drift
      {{"", "persistentvolumeclaims", "patch"}, kServe},             // volume growth
      {{"", "persistentvolumeclaims", "watch"}, kServe},             // cache
      {{"", "pods", "delete"}, kServe},                              // env: a stuck pod
      {{"", "pods", "list"}, kServe},                                // cache; deletion
      {{"", "pods", "watch"}, kServe},                               // cache
      {{"", "secrets", "create"}, kServe},                           // create; env
      {{"", "secrets", "delete"}, kServe},                           // delete
      {{"", "secrets", "get"}, kServe | kMigrate},                   // create retried; migrate
      {{"", "secrets", "list"}, kServe | kMigrate | kDoctor},        // drift; migrate
      {{"", "secrets", "patch"}, kServe},                            // env
      {{"", "services", "create"}, kServe | kMigrate},               // create; repair; migrate
      {{"", "services", "delete"}, kServe | kMigrate},               // delete; migrate
      {{"", "services", "get"}, kServe | kMigrate},                  // repair; migrate
      {{"", "services", "list"}, kServe | kMigrate | kDoctor},       // drift; legacy delete
      // apps.
      {{"apps", "deployments", "create"}, kMigrate},                 // rollback
      {{"apps", "deployments", "delete"}, kServe | kMigrate},        // legacy delete; migrate
      {{"apps", "deployments", "get"}, kServe},                      // legacy status, stop, start
      {{"apps", "deployments", "list"}, kServe | kMigrate | kDoctor},  // drift; discovery
      {{"apps", "deployments/scale", "patch"}, kServe},              // legacy stop, start
      {{"apps", "statefulsets", "create"}, kServe | kMigrate},       // create; repair; migrate
      {{"apps", "statefulsets", "delete"}, kServe | kMigrate},       // delete; rollback
      {{"apps", "statefulsets", "get"}, kServe | kMigrate},          // repair; deletion; migrate
      {{"apps", "statefulsets", "list"}, kServe | kDoctor},          // cache; drift
      {{"apps", "statefulsets", "patch"}, kServe},                   // env
      {{"apps", "statefulsets", "watch"}, kServe},                   // cache
      {{"apps", "statefulsets/scale", "patch"}, kServe},             // stop, start
      // networking.k8s.io.
      {{"networking.k8s.io", "ingresses", "create"}, kServe},        // create; repair
      {{"networking.k8s.io", "ingresses", "delete"}, kServe},        // delete
      {{"networking.k8s.io", "ingresses", "get"}, kServe},           // repair
      {{"networking.k8s.io", "ingresses", "list"}, kServe | kMigrate | kDoctor},  // drift
      {{"networking.k8s.io", "ingresses", "patch"}, kMigrate},       // repoint; rollback
      {{"networking.k8s.io", "networkpolicies", "create"}, kServe | kMigrate},  // create; repair
      {{"networking.k8s.io", "networkpolicies", "delete"}, kServe | kMigrate},  // delete; rollback
      {{"networking.k8s.io", "networkpolicies", "get"}, kServe},     // repair
      {{"networking.k8s.io", "networkpolicies", "list"}, kServe | kDoctor},  // drift
  };
  return table;
}

std::vector<Permission> permissionsUsedBy(unsigned use) {
  std::vector<Permission> out;
  for (const auto& row : requiredPermissions()) {
    if ((row.usedBy & use) != 0) {
      out.push_back(row.permission);
    }
  }
  return out;
}

}  // namespace sandboxd
