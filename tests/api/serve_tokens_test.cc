// Token lifecycle end to end: `sandboxd token create|list|revoke` run as separate processes on
// the database of a running `sandboxd serve --kube memory` child. A revoked token is refused by
// the running server at its next request, without a restart; so does a forward-auth session
// signed in with it. (Expiry, which needs a clock the
// test controls, is covered in-process: tests/registry/token_lifecycle_test.cc and
// tests/api/admin_tokens_test.cc.)
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "api/api_test_support.h"
#include "sandboxd/common/random_generator.h"
#include "support/child_process.h"

namespace sandboxd::testing {
namespace {

namespace fs = std::filesystem;

class ServeTokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("sandboxd-serve-tokens-" + std::to_string(::getpid())))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_TRUE(server_.start(dir_, {"--kube", "memory"})) << server_.log();
  }
  void TearDown() override {
    server_.stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // The ids `token list --user USER` prints, oldest first.
  std::vector<std::string> idsOf(const std::string& user) {
    ProcessResult r = server_.admin({"token", "list", "--user", user});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    std::vector<std::string> ids;
    std::istringstream lines(r.out);
    std::string line;
    std::getline(lines, line);  // header
    while (std::getline(lines, line)) {
      ids.push_back(line.substr(0, line.find(' ')));
    }
    return ids;
  }

  int statusOf(const std::string& token) {
    return httpCall(server_.port(), "GET", "/api/v1/sandboxes", token).status;
  }

  std::string dir_;
  ServeProcess server_;
};

TEST_F(ServeTokensTest, ATokenRevokedFromTheCommandLineIsRefusedByTheRunningServer) {
  const std::string alice = server_.createToken("alice");
  const std::string bob = server_.createToken("bob");
  ASSERT_FALSE(alice.empty());
  ASSERT_FALSE(bob.empty());
  // Authenticated (and so held in the server's memory) several times.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(statusOf(alice), 200);
    ASSERT_EQ(statusOf(bob), 200);
  }
  const auto ids = idsOf("alice");
  ASSERT_EQ(ids.size(), 1u);

  ProcessResult revoke = server_.admin({"token", "revoke", ids[0]});
  ASSERT_EQ(revoke.exitCode, 0) << revoke.err;
  EXPECT_EQ(revoke.out, ids[0] + " revoked\n");

  EXPECT_EQ(statusOf(alice), 401);
  EXPECT_EQ(statusOf(bob), 200);
  ASSERT_TRUE(server_.running());

  ProcessResult list = server_.admin({"token", "list"});
  ASSERT_EQ(list.exitCode, 0) << list.err;
  EXPECT_NE(list.out.find(ids[0]), std::string::npos);
  EXPECT_NE(list.out.find("revoked"), std::string::npos);
  for (const std::string& token : {alice, bob}) {
    EXPECT_EQ(list.out.find(token), std::string::npos);
    EXPECT_EQ(list.out.find(sha256Hex(token)), std::string::npos);
    EXPECT_EQ(server_.log().find(token), std::string::npos);
  }
}

// Forward auth on the assembled server: a session signed in with alice's token lets alice
// (not bob) through to her sandbox's hosts, until `sandboxd token revoke` from the command line.
TEST_F(ServeTokensTest, ForwardAuthLetsTheOwnerInUntilHerTokenIsRevokedFromTheCommandLine) {
  const std::string alice = server_.createToken("alice");
  const std::string bob = server_.createToken("bob");
  ASSERT_EQ(httpCall(server_.port(), "POST", "/api/v1/sandboxes", alice, R"({"name":"demo"})")
                .status,
            201);
  auto sessionOf = [&](const std::string& token) {
    HttpResult r = rawCall(server_.port(),
                           rawRequest("POST", "/auth/signin",
                                      {"Content-Type: application/x-www-form-urlencoded"},
                                      "token=" + token));
    EXPECT_EQ(r.status, 200) << r.raw;
    const std::string cookie = r.header("set-cookie");
    return cookie.substr(0, cookie.find(';'));
  };
  auto check = [&](const std::string& cookie) {
    return httpCall(server_.port(), "GET", "/auth/check", "", "",
                    {{"Cookie", cookie},
                     {"X-Original-URL", "https://demo-ttyd.sandbox.example.com/"}})
        .status;
  };
  const std::string aliceSession = sessionOf(alice);
  const std::string bobSession = sessionOf(bob);
  EXPECT_EQ(check(aliceSession), 200);
  EXPECT_EQ(check(bobSession), 403);
  EXPECT_EQ(check(""), 401);

  const auto ids = idsOf("alice");
  ASSERT_EQ(ids.size(), 1u);
  ASSERT_EQ(server_.admin({"token", "revoke", ids[0]}).exitCode, 0);
  EXPECT_EQ(check(aliceSession), 401);
  EXPECT_EQ(check(bobSession), 403);
  EXPECT_EQ(server_.log().find(aliceSession.substr(aliceSession.find('=') + 1)),
            std::string::npos);
}

TEST_F(ServeTokensTest, TokenCommandsRefuseBadInputWithOneLineAndChangeNothing) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"token", "create", "--user", "alice", "--ttl", "forever"},
           {"token", "create", "--user", "alice", "--ttl", "0h"},
           {"token", "create", "--user", "alice", "--ttl", ""},
           {"token", "create", "--user", "Alice!"},
           {"token", "list", "--user", "Not Valid"},
           {"token", "revoke"},
       }) {
    ProcessResult r = server_.admin(args);
    std::string joined;
    for (const auto& a : args) {
      joined += a + " ";
    }
    EXPECT_EQ(r.exitCode, 2) << joined << r.err;
    EXPECT_TRUE(r.out.empty()) << joined;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << joined << r.err;
  }
  ProcessResult unknown = server_.admin({"token", "revoke", "tok_0000000000000000"});
  EXPECT_EQ(unknown.exitCode, 1);
  EXPECT_TRUE(unknown.out.empty());
  EXPECT_TRUE(idsOf("alice").empty());
}

TEST_F(ServeTokensTest, ATokenWithATtlWorksAndListsItsExpiry) {
  ProcessResult created =
      server_.admin({"token", "create", "--user", "carol", "--ttl", "30d"});
  ASSERT_EQ(created.exitCode, 0) << created.err;
  std::string token = created.out.substr(0, created.out.find('\n'));
  EXPECT_EQ(statusOf(token), 200);
  ProcessResult list = server_.admin({"token", "list", "--user", "carol"});
  ASSERT_EQ(list.exitCode, 0);
  EXPECT_EQ(list.out.find("never"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("active"), std::string::npos) << list.out;
}

}  // namespace
}  // namespace sandboxd::testing
