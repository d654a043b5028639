#include "sandboxd/common/time_source.h"

#include <ctime>
#include <string>

namespace sandboxd {

std::string formatRfc3339(SystemTime t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace sandboxd
