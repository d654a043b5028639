// Forward auth for the sandboxes' web endpoints: /auth/check as ingress-nginx calls it and the
// sign-in that makes a session, against a real SQLite registry in memory and a simulated
// clock. Owner and admins pass; another user, no cookie, an expired session, a revoked or
// expired token, and hosts that are no sandbox's are refused.
#include <gtest/gtest.h>

#include "api/api_test_support.h"
#include "api/forward_auth.h"
#include "api/router.h"
#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "sandboxd/common/random_generator.h"

namespace sandboxd::testing {
namespace {

using std::chrono::seconds;

class ForwardAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    time_ = std::make_shared<SimulatedTimeSource>();
    auto r = openSqliteRegistry(":memory:", time_);
    ASSERT_OK(r);
    registry_ = *r;
    alice_ = mustToken("alice", false);
    bob_ = mustToken("bob", false);
    root_ = mustToken("root", true);
    SandboxRecord demo;
    demo.name = "demo";
    demo.user = "alice";
    demo.nameSpace = "sandboxes";
    demo.sandboxId = "id-demo";
    ASSERT_OK(registry_->insertSandbox(demo));

    config_.sandbox.domain = "sandbox.example.com";
    config_.server.listen = "127.0.0.1:0";
    config_.server.threads = 2;
    config_.server.forwardAuth.sessionTtlSeconds = 3600;
    api::ApiServerOptions options;
    options.time = time_;
    options.forwardAuth = std::make_shared<api::ForwardAuth>(
        config_, registry_, time_, std::make_shared<RandomGeneratorImpl>());
    server_ = api::makeApiServerWithOptions(config_.server, std::make_shared<FakeSandboxManager>(),
                                            registry_, options);
    ASSERT_OK(server_->start());
    port_ = server_->port();
  }
  void TearDown() override { server_->stop(); }

  std::string mustToken(const std::string& user, bool admin) {
    auto t = registry_->createToken(user, admin);
    EXPECT_OK(t);
    return t.isOk() ? *t : "";
  }

  // POST /auth/signin with `form`; the raw answer.
  HttpResult signIn(const std::string& form) {
    return rawCall(port_, rawRequest("POST", "/auth/signin",
                                     {"Content-Type: application/x-www-form-urlencoded"}, form));
  }
  // The session cookie ("sandboxd_session=…") a sign-in with `token` sets.
  std::string sessionFor(const std::string& token) {
    HttpResult r = signIn("token=" + token);
    EXPECT_EQ(r.status, 200) << r.raw;
    const std::string setCookie = r.header("set-cookie");
    return setCookie.substr(0, setCookie.find(';'));
  }
  HttpResult check(const std::string& cookie, const std::string& url,
                   const std::string& forwardedHost = "") {
    std::map<std::string, std::string> headers;
    if (!cookie.empty()) {
      headers["Cookie"] = cookie;
    }
    if (!url.empty()) {
      headers["X-Original-URL"] = url;
    }
    if (!forwardedHost.empty()) {
      headers["X-Forwarded-Host"] = forwardedHost;
    }
    return httpCall(port_, "GET", "/auth/check", "", "", headers);
  }

  const std::string appUrl_ = "https://demo-app.sandbox.example.com/index.html?x=1";
  const std::string ttydUrl_ = "https://demo-ttyd.sandbox.example.com/";
  std::shared_ptr<SimulatedTimeSource> time_;
  RegistryPtr registry_;
  std::string alice_, bob_, root_;
  Config config_;
  ApiServerPtr server_;
  int port_ = 0;
};

TEST_F(ForwardAuthTest, SignInSetsAScopedSecureHttpOnlySessionCookie) {
  HttpResult r = signIn("token=" + alice_);
  ASSERT_EQ(r.status, 200) << r.raw;
  const std::string cookie = r.header("set-cookie");
  EXPECT_EQ(cookie.rfind("sandboxd_session=", 0), 0u) << cookie;
  for (const char* attribute : {"; Domain=sandbox.example.com", "; Path=/", "; Max-Age=3600",
                                "; Secure", "; HttpOnly", "; SameSite=Lax"}) {
    EXPECT_NE(cookie.find(attribute), std::string::npos) << attribute << " in " << cookie;
  }
  EXPECT_EQ(cookie.find(alice_), std::string::npos);  // the session is not the token
  EXPECT_EQ(r.header("x-frame-options"), "DENY");

  // A token that expires sooner caps the session.
  auto shortToken = registry_->issueToken("carol", false, seconds(600));
  ASSERT_OK(shortToken);
  HttpResult s = signIn("token=" + shortToken->token);
  EXPECT_NE(s.header("set-cookie").find("; Max-Age=600;"), std::string::npos);
}

TEST_F(ForwardAuthTest, TheOwnerAndAdminsPassOthersAreRefused) {
  const std::string alice = sessionFor(alice_);
  const std::string bob = sessionFor(bob_);
  const std::string root = sessionFor(root_);
  for (const std::string& url : {appUrl_, ttydUrl_}) {
    HttpResult owner = check(alice, url);
    EXPECT_EQ(owner.status, 200) << url << owner.body;
    EXPECT_EQ(owner.header("x-auth-request-user"), "alice");
    EXPECT_EQ(check(root, url).status, 200) << url;
    HttpResult other = check(bob, url);
    EXPECT_EQ(other.status, 403) << url;
    EXPECT_EQ(other.errorCode(), "permission_denied");
    HttpResult none = check("", url);
    EXPECT_EQ(none.status, 401) << url;
    EXPECT_EQ(none.errorCode(), "unauthenticated");
    EXPECT_EQ(check("sandboxd_session=" + std::string(64, 'a'), url).status, 401);
  }
  // Other cookies around it, and a second (foreign) session cookie first, do not matter.
  EXPECT_EQ(check("theme=dark; " + bob + "; " + alice + "; lang=en", appUrl_).status, 200);
  // A sandbox nobody has: refused, even to admins.
  EXPECT_EQ(check(alice, "https://nope-app.sandbox.example.com/").status, 403);
  EXPECT_EQ(check(root, "https://nope-app.sandbox.example.com/").status, 403);
}

TEST_F(ForwardAuthTest, OnlyHostsOfTheSandboxNamingRuleAreAccepted) {
  const std::string alice = sessionFor(alice_);
  // X-Forwarded-Host alone, or agreeing with X-Original-URL.
  EXPECT_EQ(check(alice, "", "demo-app.sandbox.example.com").status, 200);
  EXPECT_EQ(check(alice, appUrl_, "demo-app.sandbox.example.com").status, 200);
  for (const auto& [url, forwarded] : std::vector<std::pair<std::string, std::string>>{
           {"", ""},
           {appUrl_, "other-app.sandbox.example.com"},
           {"https://demo-app.sandbox.example.com.evil.org/", ""},
           {"https://demo-web.sandbox.example.com/", ""},
           {"https://x.demo-app.sandbox.example.com/", ""},
           {"https://alice@demo-app.sandbox.example.com/", ""},
           {"demo-app.sandbox.example.com", ""},
           {"https://Demo_1-app.sandbox.example.com/", ""},
           {"", "demo-app.sandbox.example.com.evil.org"},
       }) {
    EXPECT_EQ(check(alice, url, forwarded).status, 403) << url << " / " << forwarded;
  }
}

TEST_F(ForwardAuthTest, SessionsExpire) {
  const std::string alice = sessionFor(alice_);
  time_->advance(seconds(3599));
  EXPECT_EQ(check(alice, appUrl_).status, 200);
  time_->advance(seconds(1));
  EXPECT_EQ(check(alice, appUrl_).status, 401);
}

TEST_F(ForwardAuthTest, ARevokedTokenEndsItsSessionsAtOnce) {
  const std::string alice = sessionFor(alice_);
  const std::string root = sessionFor(root_);
  ASSERT_EQ(check(alice, appUrl_).status, 200);
  auto tokens = registry_->listTokens(std::string("alice"));
  ASSERT_OK(tokens);
  ASSERT_EQ(tokens->size(), 1u);
  ASSERT_OK(registry_->revokeToken((*tokens)[0].id));
  EXPECT_EQ(check(alice, appUrl_).status, 401);
  EXPECT_EQ(check(root, appUrl_).status, 200);
  // Signing in again with the revoked token fails.
  EXPECT_EQ(signIn("token=" + alice_).status, 401);
}

TEST_F(ForwardAuthTest, AnExpiredTokenEndsItsSessions) {
  auto token = registry_->issueToken("alice", false, seconds(1800));
  ASSERT_OK(token);
  const std::string session = sessionFor(token->token);
  EXPECT_EQ(check(session, appUrl_).status, 200);
  time_->advance(seconds(1799));
  EXPECT_EQ(check(session, appUrl_).status, 200);
  time_->advance(seconds(1));
  EXPECT_EQ(check(session, appUrl_).status, 401);
}

TEST_F(ForwardAuthTest, SignInRefusesBadTokensAndReturnsOnlyToSandboxHosts) {
  HttpResult bad = signIn("token=sbx_not_a_token&rd=" + appUrl_);
  EXPECT_EQ(bad.status, 401);
  EXPECT_FALSE(bad.hasHeader("set-cookie"));
  EXPECT_NE(bad.body.find("<form"), std::string::npos);
  EXPECT_EQ(signIn("").status, 401);

  HttpResult back = signIn("token=" + alice_ + "&rd=https%3A%2F%2Fdemo-app.sandbox.example.com%2Fa%3Fb%3D1");
  EXPECT_EQ(back.status, 303);
  EXPECT_EQ(back.header("location"), "https://demo-app.sandbox.example.com/a?b=1");
  for (const std::string& rd : {"https://evil.org/", "//evil.org/", "/relative",
                                "https://demo-app.sandbox.example.com.evil.org/",
                                "http://demo-app.sandbox.example.com/", "javascript:alert(1)",
                                "https://evil.org\\@demo-app.sandbox.example.com/"}) {
    HttpResult r = signIn("token=" + alice_ + "&rd=" + rd);
    EXPECT_EQ(r.status, 200) << rd;
    EXPECT_FALSE(r.hasHeader("location")) << rd;
  }
  // A JSON body is not a form.
  HttpResult json = rawCall(port_, rawRequest("POST", "/auth/signin",
                                              {"Content-Type: application/json"},
                                              "{\"token\":\"x\"}"));
  EXPECT_EQ(json.status, 415);
}

// Login CSRF: another site (a sandbox's own public app included) cannot post the form to sign
// the browser in as the attacker; the page's own origin and non-browser clients can.
TEST_F(ForwardAuthTest, ASignInFormPostedFromAnotherOriginIsRefused) {
  for (const std::string& origin : {"https://evil.org", "null", "https://demo-app.sandbox.example.com",
                                    "http://127.0.0.1.evil.org"}) {
    HttpResult r = rawCall(port_, rawRequest("POST", "/auth/signin",
                                             {"Content-Type: application/x-www-form-urlencoded",
                                              "Origin: " + origin},
                                             "token=" + alice_));
    EXPECT_EQ(r.status, 403) << origin;
    EXPECT_FALSE(r.hasHeader("set-cookie")) << origin;
  }
  HttpResult own = rawCall(port_, rawRequest("POST", "/auth/signin",
                                             {"Content-Type: application/x-www-form-urlencoded",
                                              "Origin: http://127.0.0.1"},
                                             "token=" + alice_));
  EXPECT_EQ(own.status, 200) << own.raw;
  EXPECT_TRUE(own.hasHeader("set-cookie"));
}

TEST_F(ForwardAuthTest, TheSignInPageKeepsASafeReturnUrlEscapedAndDropsOthers) {
  HttpResult page = httpCall(port_, "GET",
                             "/auth/signin?rd=https%3A%2F%2Fdemo-app.sandbox.example.com%2F%3Fq%3D%22%3E%3Cscript%3E",
                             "");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("method=\"post\""), std::string::npos);
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_NE(page.body.find("&quot;&gt;&lt;script&gt;"), std::string::npos);
  HttpResult evil = httpCall(port_, "GET", "/auth/signin?rd=https%3A%2F%2Fevil.org%2F", "");
  EXPECT_EQ(evil.status, 200);
  EXPECT_EQ(evil.body.find("evil.org"), std::string::npos);
}

}  // namespace
}  // namespace sandboxd::testing
