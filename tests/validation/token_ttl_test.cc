#include <gtest/gtest.h>

#include "fakes/status_matchers.h"
#include "sandboxd/validation/token_ttl.h"

namespace sandboxd {
namespace {

using std::chrono::seconds;

TEST(TokenTtlTest, EveryUnitParses) {
  EXPECT_EQ(*parseTokenTtl("90s"), seconds(90));
  EXPECT_EQ(*parseTokenTtl("15m"), seconds(900));
  EXPECT_EQ(*parseTokenTtl("12h"), seconds(12 * 3600));
  EXPECT_EQ(*parseTokenTtl("30d"), seconds(30 * 86400));
  EXPECT_EQ(*parseTokenTtl("3660d"), seconds(3660LL * 86400));
}

TEST(TokenTtlTest, AnythingElseIsInvalidAndSaysTheRule) {
  for (const char* bad : {"", "d", "30", "30w", "0d", "00h", "-1d", "+1d", " 1d", "1d ", "1.5h",
                          "1e3s", "3661d", "99999999999999999999d", "1h30m", "30D"}) {
    auto parsed = parseTokenTtl(bad);
    EXPECT_KIND(parsed, InvalidArgument) << bad;
    if (!parsed.isOk()) {
      EXPECT_NE(parsed.status().message().find("ttl"), std::string::npos) << bad;
    }
  }
}

}  // namespace
}  // namespace sandboxd
