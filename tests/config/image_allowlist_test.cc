// sandbox.allowedImages: globs, prefixes that stop at a boundary, Docker's short names.
#include <gtest/gtest.h>

#include "sandboxd/config/image_allowlist.h"

namespace sandboxd {
namespace {

TEST(ImageAllowlist, EmptyAllowsEverything) {
  EXPECT_TRUE(imageAllowed("anything/at:all", {}));
}

TEST(ImageAllowlist, APrefixEndsAtAPathTagOrDigestBoundary) {
  const std::vector<std::string> acme = {"ghcr.io/acme"};
  EXPECT_TRUE(imageAllowed("ghcr.io/acme", acme));
  EXPECT_TRUE(imageAllowed("ghcr.io/acme/runtime:v1", acme));
  EXPECT_TRUE(imageAllowed("ghcr.io/acme:v1", acme));
  EXPECT_TRUE(imageAllowed("ghcr.io/acme@sha256:" + std::string(64, 'a'), acme));
  EXPECT_FALSE(imageAllowed("ghcr.io/acme-evil/runtime:v1", acme));
  EXPECT_FALSE(imageAllowed("ghcr.io/acmeco", acme));
  EXPECT_FALSE(imageAllowed("evil.io/ghcr.io/acme/x", acme));
  // A pattern that ends in a boundary is a plain prefix.
  EXPECT_TRUE(imageAllowed("ghcr.io/acme/x", {"ghcr.io/acme/"}));
  EXPECT_FALSE(imageAllowed("ghcr.io/acme", {"ghcr.io/acme/"}));
  // A registry with a port is not mistaken for a tag.
  EXPECT_TRUE(imageAllowed("registry.local:5000/team/x:1", {"registry.local:5000"}));
  EXPECT_FALSE(imageAllowed("registry.local:5001/team/x:1", {"registry.local:5000"}));
}

TEST(ImageAllowlist, GlobsMatchTheWholeReference) {
  const std::vector<std::string> tagged = {"ghcr.io/acme/*:v*"};
  EXPECT_TRUE(imageAllowed("ghcr.io/acme/runtime:v2", tagged));
  EXPECT_TRUE(imageAllowed("ghcr.io/acme/team/runtime:v2", tagged));  // * spans /
  EXPECT_FALSE(imageAllowed("ghcr.io/acme/runtime:latest", tagged));
  EXPECT_FALSE(imageAllowed("ghcr.io/acme/runtime", tagged));
  EXPECT_FALSE(imageAllowed("x.io/ghcr.io/acme/runtime:v2", tagged));
  EXPECT_TRUE(imageAllowed("ubuntu:24.04", {"ubuntu:2[0-9].04"}));
}

TEST(ImageAllowlist, ShortDockerNamesMatchTheirFullForm) {
  EXPECT_TRUE(imageAllowed("ubuntu:24.04", {"docker.io/library/ubuntu"}));
  EXPECT_TRUE(imageAllowed("acme/tool:1", {"docker.io/acme"}));
  EXPECT_TRUE(imageAllowed("ubuntu", {"docker.io/library/"}));
  EXPECT_FALSE(imageAllowed("acme/tool:1", {"docker.io/library/"}));
  // A name with a registry is not on docker.io.
  EXPECT_FALSE(imageAllowed("ghcr.io/library/ubuntu", {"docker.io/library/"}));
  EXPECT_FALSE(imageAllowed("localhost/ubuntu", {"docker.io/"}));
  EXPECT_TRUE(imageAllowed("ubuntu", {"ubuntu"}));  // as written, too
}

}  // namespace
}  // namespace sandboxd
