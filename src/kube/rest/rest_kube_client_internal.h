// Private seams of the cpprestsdk-based KubeClient, for tests in tests/kube/. Not part of the
// include/ interface: production code calls makeRestKubeClient().
#pragma once

#include <chrono>
#include <functional>

#include "sandboxd/kube/kube_connection.h"

namespace sandboxd {
namespace kube_internal {

// Called between attempts with the chosen delay (backoff or an honoured Retry-After).
// The default sleeps the calling thread.
using SleepFunction = std::function<void(std::chrono::milliseconds)>;

// makeRestKubeClient() with the sleep between retries replaced, so tests neither wait nor
// assert timings but can still see which delays were chosen.
StatusOr<KubeClientPtr> makeRestKubeClientForTest(const KubeConnectionConfig& config,
                                                  const RetryPolicy& retry, SleepFunction sleep);

}  // namespace kube_internal
}  // namespace sandboxd
