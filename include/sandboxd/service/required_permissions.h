// The Kubernetes permissions sandboxd's code uses in the sandboxes' namespace: one table, the
// source of the Role in deploy/rbac.yaml. tests/integration/deploy_test.cc records every call
// sandboxd makes against a real API server and requires the calls, this table and the Role to
// agree. Add a row here (and a rule there) with any new kind of call.
#pragma once

#include <vector>

#include "sandboxd/kube/access_check.h"

namespace sandboxd {

// Which commands make the calls that need a permission.
enum PermissionUse : unsigned {
  kUsedByServe = 1u << 0,    // the API, the watch cache, the reconciler
  kUsedByMigrate = 1u << 1,  // `sandboxd migrate` (and --rollback)
  kUsedByDoctor = 1u << 2,   // `sandboxd doctor`
};

struct RequiredPermission {
  Permission permission;
  unsigned usedBy = 0;  // PermissionUse bits
};

// Every permission any command needs, sorted by group, resource, verb.
const std::vector<RequiredPermission>& requiredPermissions();

// Those `serve` needs (its /readyz fails while one is missing).
std::vector<Permission> permissionsUsedBy(unsigned use);

}  // namespace sandboxd
