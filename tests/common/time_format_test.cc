// formatRfc3339 computes the calendar itself (it runs twice per sandbox in a list of 10,000);
// it must write exactly what gmtime_r + strftime write.
#include <gtest/gtest.h>

#include <ctime>
#include <random>

#include "sandboxd/common/time_source.h"

namespace sandboxd {
namespace {

std::string viaStrftime(SystemTime t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[48];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

SystemTime at(int64_t millis) { return SystemTime(std::chrono::milliseconds(millis)); }

TEST(FormatRfc3339Test, KnownInstants) {
  EXPECT_EQ(formatRfc3339(at(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(formatRfc3339(at(1795425290123)), "2026-11-23T09:14:50Z");
  EXPECT_EQ(formatRfc3339(at(951782400000)), "2000-02-29T00:00:00Z");  // leap day of a 400th year
  EXPECT_EQ(formatRfc3339(at(-1)), "1970-01-01T00:00:00Z");            // towards zero, as to_time_t
  EXPECT_EQ(formatRfc3339(at(-1000)), "1969-12-31T23:59:59Z");
}

TEST(FormatRfc3339Test, WritesWhatStrftimeWrites) {
  // Day boundaries, century years (2100 is not a leap year, 2000 is), and random instants
  // from year 1 to 9999.
  std::vector<int64_t> seconds = {-62135596800, -2208988800, -86400, -86399, -1, 0, 59, 86399,
                                  86400, 946684799, 951868800, 4107542400, 4107542399,
                                  4102444800, 253402300799};
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> any(-62135596800, 253402300799);
  for (int i = 0; i < 200000; ++i) {
    seconds.push_back(any(rng));
  }
  for (int64_t s : seconds) {
    for (int64_t extraMillis : {0, 999}) {
      const SystemTime t = at(s * 1000 + extraMillis);
      ASSERT_EQ(formatRfc3339(t), viaStrftime(t)) << "at " << s << " s + " << extraMillis << " ms";
    }
  }
}

}  // namespace
}  // namespace sandboxd
