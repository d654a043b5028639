// gtest main shared by every test program: quiet logs unless SANDBOXD_TEST_LOG is set.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (std::getenv("SANDBOXD_TEST_LOG") == nullptr) {
    spdlog::set_level(spdlog::level::off);
  }
  return RUN_ALL_TESTS();
}
