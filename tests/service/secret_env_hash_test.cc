// The secret env hash: keyed, order-independent input, and unambiguous.
#include <gtest/gtest.h>

#include "sandboxd/common/random_generator.h"
#include "service/secret_env_hash.h"

namespace sandboxd {
namespace {

using json = nlohmann::json;

TEST(SecretEnvHash, DependsOnEveryValueAndOnTheKey) {
  const json data = secretDataOf({{"A", "1"}, {"B", "2"}});
  EXPECT_EQ(data, json({{"A", "MQ=="}, {"B", "Mg=="}}));
  const std::string h = secretEnvHash("k1", data);
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(secretEnvHash("k1", data), h);
  EXPECT_NE(secretEnvHash("k2", data), h) << "keyed: another key, another hash";
  EXPECT_NE(secretEnvHash("k1", secretDataOf({{"A", "1"}, {"B", "3"}})), h);
  EXPECT_NE(secretEnvHash("k1", secretDataOf({{"A", "1"}})), h);
  // Not a plain digest of the value or of the data.
  EXPECT_NE(h, sha256Hex("2"));
  EXPECT_NE(h, sha256Hex(data.dump()));
  // Keys and values cannot run into each other.
  EXPECT_NE(secretEnvHash("k", json({{"AB", "C"}})), secretEnvHash("k", json({{"A", "BC"}})));
}

TEST(SecretEnvHash, DataMatchesWhatTheApiServerKeeps) {
  EXPECT_EQ(secretDataOf({{"E", ""}, {"S", "s3cret"}, {"T", "ab"}}),
            json({{"E", ""}, {"S", "czNjcmV0"}, {"T", "YWI="}}));
}

}  // namespace
}  // namespace sandboxd
