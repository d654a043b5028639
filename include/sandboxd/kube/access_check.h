// sandboxd's own access to the cluster: which permissions its identity (in a cluster, its
// service account) has in a namespace, as the API server's SelfSubjectRulesReview answers, and
// a KubeClient decorator for `serve` that
// - answers ping() (and so /readyz) with Unavailable naming every required permission the
//   identity lacks, so an operator sees at once which RBAC rule is missing;
// - turns the API server's refusals of sandboxd's own identity (401, 403: Unauthenticated,
//   PermissionDenied) into Unavailable: they are the operator's to fix, not the caller's, and
//   must not reach sandboxd's API clients as a 401 or 403 about their own token.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "sandboxd/common/time_source.h"
#include "sandboxd/kube/kube_client.h"

namespace sandboxd {

// One RBAC permission: a verb on a resource (optionally "resource/subresource") of an API group
// ("" = the core group).
struct Permission {
  std::string group;
  std::string resource;  // "statefulsets" or "statefulsets/scale"
  std::string verb;      // get, list, watch, create, patch, update, delete

  // "patch statefulsets/scale (apps)", "list pods (core)".
  std::string toString() const;
  bool operator==(const Permission& o) const {
    return group == o.group && resource == o.resource && verb == o.verb;
  }
  bool operator<(const Permission& o) const;
};

// Whether one of a SelfSubjectRulesReview's (or a Role's) resource rules grants `permission`
// on every object of its resource, as the RBAC authorizer decides: "*" matches any verb, group
// or resource, "*/sub" any resource's subresource `sub`; a rule restricted to resourceNames
// grants only those objects, so never a permission on all of them.
bool ruleGrants(const json& rule, const Permission& permission);

struct PermissionReview {
  std::vector<Permission> missing;  // required, and granted by no rule
  // The API server could not list every rule (e.g. a webhook authorizer): `missing` may be
  // granted after all.
  bool incomplete = false;
  std::string evaluationError;
};

// Asks the API server (POST selfsubjectrulesreviews, which every authenticated identity may
// make) which rules apply to the caller in `nameSpace`, and compares them with `required`.
StatusOr<PermissionReview> reviewPermissions(KubeClient& client, const std::string& nameSpace,
                                             const std::vector<Permission>& required);

struct AccessCheckOptions {
  // Between reviews while every permission is granted, and while some are missing (or the
  // review failed), so that a fixed Role is seen soon. A refusal of any call schedules the next
  // review for the next ping().
  std::chrono::milliseconds recheck{std::chrono::seconds(60)};
  std::chrono::milliseconds recheckWhileMissing{std::chrono::seconds(5)};
};

// The decorator described above. `required` are checked in `nameSpace`. A review that fails or
// is incomplete is logged and does not fail ping(): only permissions known to be missing do.
KubeClientPtr withAccessChecks(KubeClientPtr inner, std::string nameSpace,
                               std::vector<Permission> required, TimeSourcePtr time,
                               AccessCheckOptions options = {});

}  // namespace sandboxd
