// The retry delay both the REST transport and the watch cache use: exponential from `base`,
// doubling per attempt up to `cap`, then jittered into [d/2, d] so that many clients (or
// replicas) do not retry in lockstep. Attempt 1 (or less) waits about `base`.
#pragma once

#include <chrono>

namespace sandboxd {

std::chrono::milliseconds jitteredBackoff(std::chrono::milliseconds base,
                                          std::chrono::milliseconds cap, int attempt);

}  // namespace sandboxd
