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

TEST(TimeFormat, ParsesWhatItFormatsAndRfc3339Offsets) {
  std::mt19937_64 rng(11);
  // Whole seconds a SystemTime holds (nanoseconds in 64 bits: 1678 to 2262).
  std::uniform_int_distribution<int64_t> any(-9000000000, 9000000000);
  for (int i = 0; i < 20000; ++i) {
    const SystemTime t = at(any(rng) * 1000);
    auto parsed = parseRfc3339(formatRfc3339(t));
    ASSERT_TRUE(parsed.has_value()) << formatRfc3339(t);
    ASSERT_EQ(*parsed, t) << formatRfc3339(t);
  }
  const SystemTime noon = *parseRfc3339("2026-12-04T12:00:00Z");
  EXPECT_EQ(formatRfc3339(noon), "2026-12-04T12:00:00Z");
  EXPECT_EQ(parseRfc3339("2026-12-04T13:30:00+01:30"), noon);
  EXPECT_EQ(parseRfc3339("2026-12-04t11:00:00-01:00"), noon);
  EXPECT_EQ(parseRfc3339("2026-12-04T12:00:00.250Z"), noon + std::chrono::milliseconds(250));
  EXPECT_EQ(parseRfc3339("2028-02-29T00:00:00Z").has_value(), true) << "a leap day";
  for (const char* bad : {"", "2026-12-04", "2026-12-04T12:00:00", "2026-02-30T00:00:00Z",
                          "2027-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
                          "2026-12-04T24:00:00Z", "2026-12-04T12:00:00Zjunk",
                          "2026-12-04T12:00:00.Z", "2026-12-04 12:00:00Z", "tomorrow"}) {
    EXPECT_FALSE(parseRfc3339(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace sandboxd
