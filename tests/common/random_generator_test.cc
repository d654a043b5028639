#include "sandboxd/common/random_generator.h"

#include <gtest/gtest.h>

#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace sandboxd {
namespace {

const std::regex kUuidV4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

TEST(RandomGeneratorTest, UuidsAreVersion4) {
  RandomGeneratorImpl random;
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(std::regex_match(random.uuid(), kUuidV4));
    EXPECT_TRUE(std::regex_match(fastUuid(), kUuidV4));
  }
}

// Each thread has a generator of its own: seeded apart, they never repeat one another.
TEST(RandomGeneratorTest, FastUuidsDoNotRepeatAcrossThreads) {
  constexpr int kThreads = 8;
  constexpr int kEach = 5000;
  std::mutex mu;
  std::set<std::string> seen;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      std::vector<std::string> mine;
      for (int i = 0; i < kEach; ++i) {
        mine.push_back(fastUuid());
      }
      std::lock_guard<std::mutex> lock(mu);
      seen.insert(mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThreads * kEach));
}

TEST(RandomGeneratorTest, SecureHexHasTheLengthAskedFor) {
  RandomGeneratorImpl random;
  EXPECT_EQ(random.secureHex(32).size(), 64u);
  EXPECT_NE(random.secureHex(16), random.secureHex(16));
}

}  // namespace
}  // namespace sandboxd
