// kubernetes#67250: a StatefulSet with podManagementPolicy OrderedReady (the default, and what
// sandboxd made before it set Parallel; the field is immutable) never replaces a pod that is
// not Ready, so a sandbox whose pod never became Ready could not take the fix of its template
// (an env change) until someone stopped and started it. After a template change sandboxd
// deletes such a pod itself; the controller re-creates it from the new template, and the home
// volume stays. A Parallel StatefulSet's controller already does this: nothing is deleted.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "sandboxd/common/status.h"
#include "sandboxd/kube/kube_client.h"

namespace sandboxd {

// Whether the StatefulSet `statefulSet` keeps a not-Ready pod through a template change.
bool holdsNotReadyPods(const nlohmann::json& statefulSet);

// The uid of the sandbox's pod {sandbox}-0 when it exists and is neither Ready nor going;
// "" otherwise. Read before a template change: the pod that change may leave stuck.
StatusOr<std::string> notReadyPodUid(KubeClient& client, const std::string& ns,
                                     const std::string& sandbox);

// After a template change of `statefulSet`: deletes the pod whose uid `podUid` was not Ready
// before it, when the StatefulSet holds not-Ready pods. First waits (at most 5 s) for the
// controller to observe the change, or it would re-create the pod from the old template. The
// uid is a precondition, so a pod the controller has already replaced is never touched.
// Returns whether a pod was deleted.
StatusOr<bool> rollStuckPod(KubeClient& client, const std::string& ns,
                            const nlohmann::json& statefulSet, const std::string& podUid);

}  // namespace sandboxd
