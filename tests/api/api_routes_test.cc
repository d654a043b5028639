// Every route of DESIGN §3 with its success code, auth (401), user isolation and admin access.
#include <gtest/gtest.h>

#include "api/api_test_support.h"

namespace sandboxd::testing {
namespace {

using nlohmann::json;

class ApiRoutesTest : public ApiServerFixture {};

TEST_F(ApiRoutesTest, CreateAnswers201WithTheSandboxJson) {
  auto r = call("POST", "/api/v1/sandboxes", kAliceToken,
                json{{"name", "demo"},
                     {"image", "ghcr.io/x/y:1"},
                     {"env", {{"FOO", "bar"}}},
                     {"secretEnv", {{"API_KEY", "s3cr3t-value"}}},
                     {"storage", "10Gi"}}
                    .dump());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("content-type").rfind("application/json", 0), 0u);
  EXPECT_FALSE(r.header("x-request-id").empty());
  auto j = r.json();
  EXPECT_EQ(j["name"], "demo");
  EXPECT_EQ(j["user"], "alice");
  EXPECT_EQ(j["namespace"], "sandboxes");
  EXPECT_EQ(j["image"], "ghcr.io/x/y:1");
  EXPECT_EQ(j["env"], json({{"FOO", "bar"}}));
  EXPECT_EQ(j["secretEnvKeys"], json::array({"API_KEY"}));
  EXPECT_EQ(j["storage"], "10Gi");
  EXPECT_EQ(j["status"], "CREATING");
  EXPECT_EQ(j["reason"], "Provisioning");
  EXPECT_TRUE(j["message"].is_string());
  EXPECT_EQ(j["replicas"], json({{"desired", 1}, {"ready", 0}}));
  EXPECT_EQ(j["workload"], "StatefulSet");
  EXPECT_EQ(j["urls"]["app"], "https://demo-app.sandbox.example.com");
  EXPECT_EQ(j["createdAt"], "2026-11-18T11:06:40Z");
  EXPECT_EQ(j["updatedAt"], "2026-11-18T11:06:40Z");
  // Secret values never appear anywhere in the answer.
  EXPECT_EQ(r.body.find("s3cr3t-value"), std::string::npos);

  auto req = manager_->lastCreate();
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(req->secretEnv.at("API_KEY"), "s3cr3t-value");
  EXPECT_EQ(req->storage, "10Gi");
}

TEST_F(ApiRoutesTest, ListGetStopStartEnvDelete) {
  ASSERT_EQ(createAs(kAliceToken, "demo").status, 201);

  auto list = call("GET", "/api/v1/sandboxes");
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.json()["items"].size(), 1u);
  EXPECT_EQ(list.json()["items"][0]["name"], "demo");

  auto get = call("GET", "/api/v1/sandboxes/demo");
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(get.json()["name"], "demo");

  auto stop = call("POST", "/api/v1/sandboxes/demo/stop");
  ASSERT_EQ(stop.status, 202) << stop.body;
  EXPECT_EQ(stop.json()["status"], "STOPPING");
  EXPECT_EQ(call("POST", "/api/v1/sandboxes/demo/stop").status, 202);  // idempotent

  auto start = call("POST", "/api/v1/sandboxes/demo/start");
  ASSERT_EQ(start.status, 202);
  EXPECT_EQ(start.json()["status"], "STARTING");

  auto env = call("PATCH", "/api/v1/sandboxes/demo/env", kAliceToken,
                  json{{"set", {{"A", "1"}}}, {"setSecret", {{"TOK", "hidden"}}},
                       {"unset", {"B"}}}
                      .dump());
  ASSERT_EQ(env.status, 200) << env.body;
  EXPECT_EQ(env.json()["env"]["A"], "1");
  EXPECT_EQ(env.json()["secretEnvKeys"], json::array({"TOK"}));
  EXPECT_EQ(env.body.find("hidden"), std::string::npos);
  auto change = manager_->lastEnvChange();
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->unset, std::vector<std::string>{"B"});
  EXPECT_EQ(change->setSecret.at("TOK"), "hidden");

  auto del = call("DELETE", "/api/v1/sandboxes/demo");
  ASSERT_EQ(del.status, 202);
  EXPECT_EQ(del.json()["status"], "DELETING");
  EXPECT_EQ(manager_->lastPurge(), false);
  // Repeating DELETE is a 202 too; stop while deleting is a 409.
  EXPECT_EQ(call("DELETE", "/api/v1/sandboxes/demo?purge=true").status, 202);
  EXPECT_EQ(manager_->lastPurge(), true);
  auto stopDeleting = call("POST", "/api/v1/sandboxes/demo/stop");
  EXPECT_EQ(stopDeleting.status, 409);
  EXPECT_EQ(stopDeleting.errorCode(), "conflict");
}

TEST_F(ApiRoutesTest, PurgeAcceptsOnlyBooleans) {
  manager_->seed("demo", "alice");
  EXPECT_EQ(call("DELETE", "/api/v1/sandboxes/demo?purge=false").status, 202);
  EXPECT_EQ(manager_->lastPurge(), false);
  auto bad = call("DELETE", "/api/v1/sandboxes/demo?purge=yes");
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(bad.errorCode(), "invalid_argument");
  EXPECT_NE(bad.json()["error"]["message"].get<std::string>().find("purge"), std::string::npos);
}

TEST_F(ApiRoutesTest, OperationsListTheRecordOnlyToTheOwner) {
  manager_->seed("demo", "alice");
  auto r = call("GET", "/api/v1/sandboxes/demo/operations");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto items = r.json()["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["kind"], "stop");
  EXPECT_EQ(items[0]["state"], "done");
  EXPECT_EQ(items[0]["user"], "alice");
  EXPECT_TRUE(items[0].contains("requestedAt"));
  EXPECT_FALSE(items[0].contains("error")) << "only a failed operation has an error";
  EXPECT_EQ(call("GET", "/api/v1/sandboxes/demo/operations", kBobToken).status, 404)
      << "another user's sandbox does not exist for them";
  EXPECT_EQ(call("GET", "/api/v1/sandboxes/nope/operations").status, 404);
  EXPECT_EQ(call("POST", "/api/v1/sandboxes/demo/operations").status, 405);
}

TEST_F(ApiRoutesTest, TrailingSlashAndPercentEncodedNamesMatch) {
  manager_->seed("demo", "alice");
  EXPECT_EQ(call("GET", "/api/v1/sandboxes/").status, 200);
  EXPECT_EQ(call("GET", "/api/v1/sandboxes/%64emo").status, 200);
}

TEST_F(ApiRoutesTest, NameTakenIs409WithoutSayingWhose) {
  ASSERT_EQ(createAs(kBobToken, "shared").status, 201);
  auto r = createAs(kAliceToken, "shared");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.errorCode(), "conflict");
  EXPECT_EQ(r.body.find("bob"), std::string::npos);
}

TEST_F(ApiRoutesTest, InvalidNameFromTheManagerIs422) {
  auto r = createAs(kAliceToken, "Bad_Name");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.errorCode(), "invalid_argument");
  EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("DNS-1123"), std::string::npos);
}

TEST_F(ApiRoutesTest, UnknownSandboxIs404) {
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/sandboxes/nope"},
           {"POST", "/api/v1/sandboxes/nope/stop"},
           {"POST", "/api/v1/sandboxes/nope/start"},
           {"DELETE", "/api/v1/sandboxes/nope"}}) {
    auto r = call(method, path);
    EXPECT_EQ(r.status, 404) << method << " " << path;
    EXPECT_EQ(r.errorCode(), "not_found");
    EXPECT_FALSE(r.json()["error"]["requestId"].get<std::string>().empty());
  }
  auto env = call("PATCH", "/api/v1/sandboxes/nope/env", kAliceToken, R"({"set":{"A":"1"}})");
  EXPECT_EQ(env.status, 404);
}

// --- 401 ------------------------------------------------------------------------------------

TEST_F(ApiRoutesTest, MissingTokenIs401) {
  auto r = call("GET", "/api/v1/sandboxes", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.errorCode(), "unauthenticated");
  EXPECT_EQ(r.header("www-authenticate"), "Bearer");
  EXPECT_FALSE(r.json()["error"]["requestId"].get<std::string>().empty());
}

TEST_F(ApiRoutesTest, BadTokenIs401OnEveryProtectedRoute) {
  manager_->seed("demo", "alice");
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/sandboxes"},
           {"POST", "/api/v1/sandboxes"},
           {"GET", "/api/v1/sandboxes/demo"},
           {"POST", "/api/v1/sandboxes/demo/stop"},
           {"POST", "/api/v1/sandboxes/demo/start"},
           {"PATCH", "/api/v1/sandboxes/demo/env"},
           {"DELETE", "/api/v1/sandboxes/demo"}}) {
    auto r = call(method, path, "wrong-token");
    EXPECT_EQ(r.status, 401) << method << " " << path;
    EXPECT_EQ(r.errorCode(), "unauthenticated");
  }
  EXPECT_EQ(manager_->calls(), 0);
}

TEST_F(ApiRoutesTest, MalformedAuthorizationHeaderIs401) {
  for (const std::string value :
       {"Basic YWxpY2U6cHc=", "Bearer", "Bearer ", "alice-token-0123456789",
        "Bearer alice-token-0123456789 extra", "Token alice-token-0123456789"}) {
    auto r = call("GET", "/api/v1/sandboxes", "", "", {{"Authorization", value}});
    EXPECT_EQ(r.status, 401) << value;
    EXPECT_EQ(r.errorCode(), "unauthenticated") << value;
    EXPECT_EQ(r.body.find("alice-token"), std::string::npos);
  }
  // The scheme is case-insensitive.
  auto ok = call("GET", "/api/v1/sandboxes", "", "",
                 {{"Authorization", std::string("bearer ") + kAliceToken}});
  EXPECT_EQ(ok.status, 200);
}

TEST_F(ApiRoutesTest, RegistryOutageIsNot401) {
  registry_->setAuthFailure(unavailable("database is locked"));
  auto r = call("GET", "/api/v1/sandboxes");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.errorCode(), "unavailable");
}

// --- isolation --------------------------------------------------------------------------------

TEST_F(ApiRoutesTest, UsersSeeAndTouchOnlyTheirOwnSandboxes) {
  ASSERT_EQ(createAs(kAliceToken, "alice-box").status, 201);
  ASSERT_EQ(createAs(kBobToken, "bob-box").status, 201);

  auto aliceList = call("GET", "/api/v1/sandboxes", kAliceToken);
  ASSERT_EQ(aliceList.status, 200);
  ASSERT_EQ(aliceList.json()["items"].size(), 1u);
  EXPECT_EQ(aliceList.json()["items"][0]["name"], "alice-box");

  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/sandboxes/bob-box"},
           {"POST", "/api/v1/sandboxes/bob-box/stop"},
           {"POST", "/api/v1/sandboxes/bob-box/start"},
           {"DELETE", "/api/v1/sandboxes/bob-box"}}) {
    auto r = call(method, path, kAliceToken);
    EXPECT_EQ(r.status, 404) << method << " " << path;
    EXPECT_EQ(r.body.find("bob"), r.body.find("bob-box"));  // only the name the caller gave
  }
  auto env = call("PATCH", "/api/v1/sandboxes/bob-box/env", kAliceToken, R"({"set":{"A":"1"}})");
  EXPECT_EQ(env.status, 404);
  // Bob's sandbox was not touched.
  auto bobGet = call("GET", "/api/v1/sandboxes/bob-box", kBobToken);
  ASSERT_EQ(bobGet.status, 200);
  EXPECT_EQ(bobGet.json()["status"], "CREATING");
}

TEST_F(ApiRoutesTest, AdminSeesAllAndFiltersByUser) {
  ASSERT_EQ(createAs(kAliceToken, "alice-box").status, 201);
  ASSERT_EQ(createAs(kBobToken, "bob-box").status, 201);

  auto all = call("GET", "/api/v1/sandboxes", kAdminToken);
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(all.json()["items"].size(), 2u);

  auto bobs = call("GET", "/api/v1/sandboxes?user=bob", kAdminToken);
  ASSERT_EQ(bobs.status, 200);
  ASSERT_EQ(bobs.json()["items"].size(), 1u);
  EXPECT_EQ(bobs.json()["items"][0]["user"], "bob");
  EXPECT_EQ(manager_->lastListFilter(), std::optional<std::string>("bob"));

  EXPECT_EQ(call("GET", "/api/v1/sandboxes/bob-box", kAdminToken).status, 200);
  EXPECT_EQ(call("POST", "/api/v1/sandboxes/bob-box/stop", kAdminToken).status, 202);
}

TEST_F(ApiRoutesTest, UserFilterForSomeoneElseIs403) {
  auto own = call("GET", "/api/v1/sandboxes?user=alice", kAliceToken);
  EXPECT_EQ(own.status, 200);
  auto other = call("GET", "/api/v1/sandboxes?user=bob", kAliceToken);
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(other.errorCode(), "permission_denied");
  auto empty = call("GET", "/api/v1/sandboxes?user=", kAdminToken);
  EXPECT_EQ(empty.status, 422);
}

TEST_F(ApiRoutesTest, CreateOnBehalfOfAnotherUserIsAdminOnly) {
  auto denied = call("POST", "/api/v1/sandboxes", kAliceToken,
                     json{{"name", "x1"}, {"user", "bob"}}.dump());
  EXPECT_EQ(denied.status, 403);
  auto ok = call("POST", "/api/v1/sandboxes", kAdminToken,
                 json{{"name", "x1"}, {"user", "bob"}}.dump());
  ASSERT_EQ(ok.status, 201);
  EXPECT_EQ(ok.json()["user"], "bob");
}

TEST_F(ApiRoutesTest, ManagerErrorsMapThroughToHttpStatus) {
  manager_->seed("demo", "alice");
  manager_->failNextCall(resourceExhausted("slow down"));
  auto r = call("GET", "/api/v1/sandboxes/demo");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.errorCode(), "throttled");
  manager_->failNextCall(unavailable("cluster unreachable"));
  r = call("POST", "/api/v1/sandboxes/demo/start");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.errorCode(), "unavailable");
  manager_->failNextCall(internalError("secret detail"));
  r = call("GET", "/api/v1/sandboxes/demo");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.errorCode(), "internal");
  EXPECT_EQ(r.body.find("secret detail"), std::string::npos);
}

}  // namespace
}  // namespace sandboxd::testing
