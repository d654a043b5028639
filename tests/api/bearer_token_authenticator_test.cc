// Unit tests of the bearer-token Authenticator: which Authorization headers name a caller,
// and which errors are the caller's (401) rather than the registry's.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "api/bearer_token_authenticator.h"
#include "api/fake_manager.h"
#include "fakes/status_matchers.h"

namespace sandboxd::api {
namespace {

class BearerTokenAuthenticatorTest : public ::testing::Test {
 protected:
  BearerTokenAuthenticatorTest() {
    registry_->addToken("alice-token", "alice");
    registry_->addToken("root-token", "root", /*admin=*/true);
  }

  StatusOr<Caller> authenticate(const std::string& authorization) {
    return authenticator_.authenticate(AuthRequest{authorization});
  }

  std::shared_ptr<testing::FakeRegistry> registry_ = std::make_shared<testing::FakeRegistry>();
  BearerTokenAuthenticator authenticator_{registry_};
};

TEST_F(BearerTokenAuthenticatorTest, AcceptsAKnownTokenInAnyCaseOfTheScheme) {
  for (const std::string header : {"Bearer alice-token", "bearer alice-token",
                                   " \tBEARER   alice-token\t "}) {
    auto caller = authenticate(header);
    ASSERT_OK(caller) << header;
    EXPECT_EQ(caller->user, "alice");
    EXPECT_FALSE(caller->admin);
  }
  auto admin = authenticate("Bearer root-token");
  ASSERT_OK(admin);
  EXPECT_TRUE(admin->admin);
}

TEST_F(BearerTokenAuthenticatorTest, MissingOrMalformedHeadersAreUnauthenticated) {
  struct Row {
    const char* name;
    const char* header;
    const char* message;
  };
  const char* malformed = "malformed Authorization header, expected \"Bearer <token>\"";
  for (const Row& row : {
           Row{"absent", "", "missing bearer token (Authorization: Bearer <token>)"},
           Row{"blank", "  ", malformed},
           Row{"no token", "Bearer", malformed},
           Row{"other scheme", "Basic alice-token", malformed},
           Row{"two tokens", "Bearer alice-token other", malformed},
           Row{"tab inside", "Bearer alice\ttoken", malformed},
       }) {
    auto caller = authenticate(row.header);
    EXPECT_KIND(caller, Unauthenticated) << row.name;
    EXPECT_EQ(caller.status().message(), row.message) << row.name;
  }
  EXPECT_EQ(registry_->authCalls(), 0);
}

TEST_F(BearerTokenAuthenticatorTest, UnknownTokenIsUnauthenticatedWithoutRepeatingIt) {
  auto caller = authenticate("Bearer secret-guess");
  EXPECT_KIND(caller, Unauthenticated);
  EXPECT_EQ(caller.status().message(), "invalid token");
}

TEST_F(BearerTokenAuthenticatorTest, RegistryOutageIsTheRegistrysError) {
  registry_->setAuthFailure(unavailable("database is locked"));
  EXPECT_KIND(authenticate("Bearer alice-token"), Unavailable);
  registry_->setAuthFailure(notFound("no such token"));
  EXPECT_KIND(authenticate("Bearer alice-token"), Unauthenticated);
}

}  // namespace
}  // namespace sandboxd::api
