// ping() from recent traffic: /readyz asks the cluster on every probe. When another call got an
// answer from the API server within `window`, the cluster is reachable and our credentials
// work, so ping() is OK without a request of its own. At start-up the first probe comes right
// after the cache's lists, when a GET /readyz on the busy API server took 40-60 ms of the wait
// for our /readyz; at rest, probes add no load to the API server while traffic flows.
//
// An answer is a success, or an error only an API server that accepted us gives: NotFound,
// AlreadyExists, Aborted (a conflict, 410 Gone), InvalidArgument. A watch event is an answer.
// Not: Unavailable (no answer, 5xx), Unauthenticated, PermissionDenied, ResourceExhausted (429),
// Internal. Without recent answers ping() asks, and its own success counts as one.
#pragma once

#include <chrono>

#include "sandboxd/common/time_source.h"
#include "sandboxd/kube/kube_client.h"

namespace sandboxd {

KubeClientPtr withRecentContactPing(KubeClientPtr inner, TimeSourcePtr time,
                                    std::chrono::milliseconds window = std::chrono::seconds(5));

}  // namespace sandboxd
