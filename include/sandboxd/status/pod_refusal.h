// A StatefulSet whose pod the API server (or an admission policy: Pod Security, a quota, a
// webhook) refuses has no pod to explain it: the refusal is only in the Warning event
// FailedCreate the StatefulSet controller records on the StatefulSet, e.g. "create Pod x-0 in
// StatefulSet x failed error: pods "x-0" is forbidden: violates PodSecurity ...". Pure.
#pragma once

#include <nlohmann/json.hpp>

#include "sandboxd/model/sandbox.h"

namespace sandboxd {

// The field selector that lists the FailedCreate events of StatefulSet `name`, or of every
// StatefulSet when empty (the API server filters by it; withPodRefusal() checks every field
// again, so a reader that ignores it is fine).
std::string podRefusalFieldSelector(const std::string& name = "");

// `status` as it is, unless it is a StatefulSet's STARTING/PodNotCreated and `events` (a list's
// items) hold a FailedCreate Warning of `statefulSet` (same name and uid): then ERROR/PodRefused
// with the newest such event's message.
ObservedStatus withPodRefusal(ObservedStatus status, const nlohmann::json& statefulSet,
                              const nlohmann::json& events);

}  // namespace sandboxd
