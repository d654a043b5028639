// Re-creating a sandbox re-attaches its kept home volume (the claim the StatefulSet's
// volumeClaimTemplate made, vn-homevn-agent-{name}-0), so the sandbox's size is the claim's,
// whatever the new request says.
#pragma once

#include <string>

#include "sandboxd/common/status.h"
#include "sandboxd/kube/kube_client.h"

namespace sandboxd {

// The size sandbox `name` will have once its create re-attaches the kept claim:
//   - no claim: `requested`, or `fallback` (the configured default) when nothing was asked;
//   - a claim, nothing asked: the claim's size;
//   - a claim, its size asked (in any unit): the claim's size;
//   - a claim, another size asked: FailedPrecondition (409) saying the kept size and how to
//     proceed. Growing the claim in place is not attempted: whether its StorageClass allows
//     it is a cluster-scoped read sandboxd's Role does not grant, and the API server's refusal
//     would be a 403 indistinguishable here from a missing permission.
// Reads one claim; changes nothing.
StatusOr<std::string> fitKeptHomeVolume(KubeClient& client, const std::string& ns,
                                        const std::string& name, const std::string& requested,
                                        const std::string& fallback);

// Grows sandbox `name`'s home volume claim to `size` (a Mi/Gi/Ti quantity already checked
// against the profile's bounds): PATCHes the claim's spec.resources.requests.storage, which
// the claim's StorageClass must allow (allowVolumeExpansion) and the claim must be Bound for.
// A claim already at least `size` is left as it is. FailedPrecondition (409) when there is no
// claim yet, when it is not Bound, or when its StorageClass does not allow expansion (the API
// server's admission refuses the PATCH; its message is passed on); nothing is changed then.
Status growHomeVolume(KubeClient& client, const std::string& ns, const std::string& name,
                      const std::string& size);

}  // namespace sandboxd
