#include "kube/backoff.h"

#include <algorithm>
#include <cstdint>
#include <random>

namespace sandboxd {

std::chrono::milliseconds jitteredBackoff(std::chrono::milliseconds base,
                                          std::chrono::milliseconds cap, int attempt) {
  const int64_t b = std::max<int64_t>(1, base.count());
  const int64_t c = std::max<int64_t>(b, cap.count());
  int64_t d = b;
  for (int i = 1; i < attempt && d < c; ++i) {
    d *= 2;
  }
  d = std::min(d, c);
  thread_local std::minstd_rand rng{std::random_device{}()};
  std::uniform_int_distribution<int64_t> dist((d + 1) / 2, d);
  return std::chrono::milliseconds(dist(rng));
}

}  // namespace sandboxd
