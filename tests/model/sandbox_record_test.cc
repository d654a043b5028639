// The registry holds every sandbox's row in memory, one make_shared allocation each (the row
// and a 16-byte control block). At 432 bytes or less a row takes jemalloc's 448-byte size
// class; 8 bytes more and it takes the 512-byte one, 6.4 MB more at 100,000 sandboxes
// (bench/README.md, "The sixth round").
#include <gtest/gtest.h>

#include <memory>

#include "sandboxd/model/sandbox.h"

namespace sandboxd {
namespace {

TEST(SandboxRecordLayout, ARowAndItsControlBlockFitTheirSizeClass) {
  EXPECT_LE(sizeof(SandboxRecord), 432u)
      << "order the fields to leave no padding, or keep new ones out of the row";
}

TEST(SandboxRecordLayout, ExpiryAndItsOwnIdlePeriodDefaultToNone) {
  SandboxRecord r;
  EXPECT_FALSE(r.expires());
  EXPECT_FALSE(r.idleStopMinutes.has_value());
  r.expiresAt = SystemTime{} + std::chrono::hours(1);
  EXPECT_TRUE(r.expires());
}

}  // namespace
}  // namespace sandboxd
