// The admin token routes (GET/POST /api/v1/admin/tokens, DELETE /api/v1/admin/tokens/{id})
// against a real SQLite registry in memory and a simulated clock: listing, creation with a
// ttl, revocation taking effect at the next request, expiry, and who may call them.
#include <gtest/gtest.h>

#include "api/api_test_support.h"
#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "sandboxd/common/random_generator.h"

namespace sandboxd::testing {
namespace {

using nlohmann::json;
using std::chrono::hours;

class AdminTokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    time_ = std::make_shared<SimulatedTimeSource>();
    auto r = openSqliteRegistry(":memory:", time_);
    ASSERT_OK(r);
    registry_ = *r;
    auto admin = registry_->createToken("root", true);
    auto alice = registry_->createToken("alice", false);
    ASSERT_OK(admin);
    ASSERT_OK(alice);
    admin_ = *admin;
    alice_ = *alice;
    config_.listen = "127.0.0.1:0";
    config_.threads = 2;
    server_ = api::makeApiServerWithOptions(config_, std::make_shared<FakeSandboxManager>(),
                                            registry_, {});
    ASSERT_OK(server_->start());
    port_ = server_->port();
  }
  void TearDown() override { server_->stop(); }

  HttpResult call(const std::string& method, const std::string& path, const std::string& token,
                  const std::string& body = "") {
    return httpCall(port_, method, path, token, body);
  }

  std::shared_ptr<SimulatedTimeSource> time_;
  RegistryPtr registry_;
  std::string admin_;
  std::string alice_;
  ServerConfig config_;
  ApiServerPtr server_;
  int port_ = 0;
};

TEST_F(AdminTokensTest, AnAdminCreatesListsAndRevokesATokenThatStopsWorkingAtOnce) {
  auto created = call("POST", "/api/v1/admin/tokens", admin_,
                      json{{"user", "bob"}, {"ttl", "30d"}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const json body = created.json();
  const std::string token = body.at("token").get<std::string>();
  const std::string id = body.at("id").get<std::string>();
  EXPECT_EQ(body.at("user"), "bob");
  EXPECT_EQ(body.at("admin"), false);
  EXPECT_EQ(body.at("createdAt"), formatRfc3339(time_->systemTime()));
  EXPECT_EQ(body.at("expiresAt"), formatRfc3339(time_->systemTime() + hours(24 * 30)));
  EXPECT_FALSE(body.contains("revokedAt"));

  // The new token works; bob sees his (empty) list.
  EXPECT_EQ(call("GET", "/api/v1/sandboxes", token).status, 200);

  auto listed = call("GET", "/api/v1/admin/tokens", admin_);
  ASSERT_EQ(listed.status, 200) << listed.body;
  const json items = listed.json().at("items");
  ASSERT_EQ(items.size(), 3u);
  for (const json& item : items) {
    EXPECT_FALSE(item.contains("token")) << item.dump();
    EXPECT_EQ(item.dump().find(token), std::string::npos);
    EXPECT_EQ(item.dump().find(sha256Hex(token)), std::string::npos);
  }
  auto bobs = call("GET", "/api/v1/admin/tokens?user=bob", admin_);
  ASSERT_EQ(bobs.status, 200);
  ASSERT_EQ(bobs.json().at("items").size(), 1u);
  EXPECT_EQ(bobs.json()["items"][0].at("id"), id);

  auto revoked = call("DELETE", "/api/v1/admin/tokens/" + id, admin_);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(revoked.json().at("revokedAt"), formatRfc3339(time_->systemTime()));
  auto refused = call("GET", "/api/v1/sandboxes", token);
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.errorCode(), "unauthenticated");
  // Others are untouched; revoking again is the same answer; unknown ids are 404.
  EXPECT_EQ(call("GET", "/api/v1/sandboxes", alice_).status, 200);
  EXPECT_EQ(call("DELETE", "/api/v1/admin/tokens/" + id, admin_).status, 200);
  EXPECT_EQ(call("DELETE", "/api/v1/admin/tokens/tok_nope", admin_).status, 404);
}

TEST_F(AdminTokensTest, ATokenWithATtlIsRefusedOnceItExpires) {
  auto created = call("POST", "/api/v1/admin/tokens", admin_,
                      json{{"user", "bob"}, {"ttl", "12h"}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string token = created.json().at("token").get<std::string>();
  EXPECT_EQ(call("GET", "/api/v1/sandboxes", token).status, 200);
  time_->advance(hours(11));
  EXPECT_EQ(call("GET", "/api/v1/sandboxes", token).status, 200);
  time_->advance(hours(1));
  EXPECT_EQ(call("GET", "/api/v1/sandboxes", token).status, 401);
}

TEST_F(AdminTokensTest, OnlyAdminsMayUseTheTokenRoutes) {
  const std::string body = json{{"user", "alice"}, {"admin", true}}.dump();
  for (const auto& [method, path, payload] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"GET", "/api/v1/admin/tokens", ""},
           {"POST", "/api/v1/admin/tokens", body},
           {"DELETE", "/api/v1/admin/tokens/tok_x", ""}}) {
    auto r = call(method, path, alice_, payload);
    EXPECT_EQ(r.status, 403) << method << " " << path << ": " << r.body;
    EXPECT_EQ(r.errorCode(), "permission_denied");
    EXPECT_EQ(call(method, path, "", payload).status, 401) << method << " " << path;
  }
  // Alice did not make herself an admin.
  auto tokens = registry_->listTokens();
  ASSERT_OK(tokens);
  EXPECT_EQ(tokens->size(), 2u);
}

TEST_F(AdminTokensTest, BadCreateRequestsAre4xxAndCreateNothing) {
  struct Case {
    std::string body;
    int status;
  };
  for (const Case& c : std::vector<Case>{
           {"{", 400},
           {"", 400},
           {json{{"admin", true}}.dump(), 422},
           {json{{"user", "Alice!"}}.dump(), 422},
           {json{{"user", "bob"}, {"ttl", "forever"}}.dump(), 422},
           {json{{"user", "bob"}, {"ttl", "0d"}}.dump(), 422},
           {json{{"user", "bob"}, {"ttl", 30}}.dump(), 422},
           {json{{"user", "bob"}, {"admin", "yes"}}.dump(), 422},
           {json{{"user", "bob"}, {"token", "mine"}}.dump(), 422},
           {json::array({"bob"}).dump(), 422},
       }) {
    auto r = call("POST", "/api/v1/admin/tokens", admin_, c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    EXPECT_TRUE(r.json().contains("error")) << r.body;
  }
  auto tokens = registry_->listTokens();
  ASSERT_OK(tokens);
  EXPECT_EQ(tokens->size(), 2u);
}

}  // namespace
}  // namespace sandboxd::testing
