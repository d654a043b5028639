// GET /api/v1/sandboxes paging and filters: parameter parsing (limit, continue, status, user,
// q), the continue token's encoding and checks, and the route's answers against the fake
// manager. The paging invariant against the real manager is in
// tests/service/sandbox_listing_test.cc and tests/api/serve_http_test.cc.
#include <set>

#include <gtest/gtest.h>

#include "api/api_test_support.h"
#include "api/list_token.h"
#include "api/request_parsing.h"

namespace sandboxd::testing {
namespace {

using api::decodeContinueToken;
using api::encodeContinueToken;
using api::parseListQuery;
using Query = std::vector<std::pair<std::string, std::string>>;

TEST(ListQueryTest, DefaultsAreTheFirstPageOfEverythingVisible) {
  auto q = parseListQuery({});
  ASSERT_TRUE(q.isOk());
  EXPECT_EQ(q->limit, ListQuery::kDefaultLimit);
  EXPECT_EQ(q->limit, 500u);
  EXPECT_FALSE(q->user);
  EXPECT_FALSE(q->status);
  EXPECT_EQ(q->namePrefix, "");
  EXPECT_EQ(q->after, "");
}

TEST(ListQueryTest, ParsesEveryParameter) {
  auto q = parseListQuery(
      {{"limit", "5000"}, {"status", "stopped"}, {"user", "bob"}, {"q", "web-1.x"}});
  ASSERT_TRUE(q.isOk()) << q.status().toString();
  EXPECT_EQ(q->limit, 5000u);
  EXPECT_EQ(q->status, Phase::Stopped);
  EXPECT_EQ(q->user, std::optional<std::string>("bob"));
  EXPECT_EQ(q->namePrefix, "web-1.x");
  EXPECT_EQ(parseListQuery({{"limit", "1"}, {"status", "RUNNING"}})->status, Phase::Running);
  EXPECT_EQ(parseListQuery({{"limit", "1"}})->limit, 1u);
}

TEST(ListQueryTest, BadValuesAreInvalidArgumentNamingTheParameter) {
  const std::vector<std::pair<Query, std::string>> bad = {
      {{{"limit", "0"}}, "limit"},       {{{"limit", "5001"}}, "limit"},
      {{{"limit", "-1"}}, "limit"},      {{{"limit", ""}}, "limit"},
      {{{"limit", "ten"}}, "limit"},     {{{"limit", "1e3"}}, "limit"},
      {{{"limit", "+5"}}, "limit"},      {{{"limit", "99999999999999999999"}}, "limit"},
      {{{"status", "running-ish"}}, "status"}, {{{"status", ""}}, "status"},
      {{{"user", ""}}, "user"},          {{{"q", "Upper"}}, "q"},
      {{{"q", "a b"}}, "q"},             {{{"q", "a/b"}}, "q"},
      {{{"q", std::string(254, 'a')}}, "q"},
      {{{"continue", ""}}, "continue"},  {{{"continue", "not a token!"}}, "continue"},
      {{{"continue", "YWJj"}}, "continue"},
      {{{"continue", std::string(600, 'A')}}, "continue"},
  };
  for (const auto& [query, parameter] : bad) {
    auto q = parseListQuery(query);
    ASSERT_FALSE(q.isOk()) << query.front().first << "=" << query.front().second;
    EXPECT_EQ(q.status().kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(q.status().message().find("\"" + parameter + "\""), std::string::npos)
        << q.status().message();
  }
}

TEST(ContinueTokenTest, RoundTripsTheNameForTheSameFilters) {
  ListQuery query;
  query.user = "alice";
  query.status = Phase::Running;
  query.namePrefix = "web";
  for (const std::string& name :
       std::vector<std::string>{"web", "web-01", "web.x-9", std::string(253, 'w')}) {
    const std::string token = encodeContinueToken(name, query);
    for (char c : token) {  // base64url without padding: safe in a query as it is
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << token;
    }
    EXPECT_EQ(token.find(name.substr(0, 3)), std::string::npos) << "opaque: " << token;
    auto after = decodeContinueToken(token, query);
    ASSERT_TRUE(after.isOk()) << after.status().toString();
    EXPECT_EQ(*after, name);
    // Parsed from a request, with the filters before or after it.
    auto parsed = parseListQuery(
        {{"continue", token}, {"user", "alice"}, {"status", "RUNNING"}, {"q", "web"}});
    ASSERT_TRUE(parsed.isOk()) << parsed.status().toString();
    EXPECT_EQ(parsed->after, name);
  }
  // The limit is not part of it: a walk may change its page size.
  auto other = parseListQuery({{"continue", encodeContinueToken("b", ListQuery{})},
                               {"limit", "7"}});
  ASSERT_TRUE(other.isOk());
  EXPECT_EQ(other->after, "b");
}

TEST(ContinueTokenTest, OtherFiltersOrADamagedTokenAreRefused) {
  ListQuery query;
  query.user = "alice";
  const std::string token = encodeContinueToken("box-7", query);
  ListQuery otherUser = query;
  otherUser.user = "bob";
  ListQuery allUsers = query;
  allUsers.user.reset();
  ListQuery withStatus = query;
  withStatus.status = Phase::Stopped;
  ListQuery withPrefix = query;
  withPrefix.namePrefix = "box";
  for (const ListQuery& q : {otherUser, allUsers, withStatus, withPrefix}) {
    auto after = decodeContinueToken(token, q);
    ASSERT_FALSE(after.isOk());
    EXPECT_EQ(after.status().kind(), ErrorKind::InvalidArgument);
  }
  // Every single-character change of the token is caught (base64url alphabet).
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < token.size(); ++i) {
    std::string damaged = token;
    damaged[i] = alphabet[(alphabet.find(token[i]) + 17) % alphabet.size()];
    auto after = decodeContinueToken(damaged, query);
    if (after.isOk()) {
      // Only the unused low bits of the last character can change without changing a byte.
      EXPECT_EQ(i, token.size() - 1);
      EXPECT_EQ(*after, "box-7");
    }
  }
  EXPECT_FALSE(decodeContinueToken(token.substr(0, token.size() - 2), query).isOk());
  EXPECT_FALSE(decodeContinueToken(token + "AA", query).isOk());
}

class ListPagingApiTest : public ApiServerFixture {};

std::vector<std::string> itemNames(const HttpResult& r) {
  std::vector<std::string> names;
  const nlohmann::json body = r.json();
  for (const auto& item : body.at("items")) {
    names.push_back(item.at("name").get<std::string>());
  }
  return names;
}

TEST_F(ListPagingApiTest, PagesCarryAContinueTokenUntilTheLastOne) {
  for (int i = 0; i < 7; ++i) {
    manager_->seed("box-" + std::to_string(i), "alice");
  }
  std::vector<std::string> seen;
  std::string path = "/api/v1/sandboxes?limit=3";
  std::vector<size_t> sizes;
  for (int pages = 0; pages < 10; ++pages) {
    auto r = call("GET", path);
    ASSERT_EQ(r.status, 200) << r.body;
    const auto names = itemNames(r);
    sizes.push_back(names.size());
    seen.insert(seen.end(), names.begin(), names.end());
    const nlohmann::json body = r.json();
    if (!body.contains("continue")) {
      break;
    }
    path = "/api/v1/sandboxes?limit=3&continue=" + body["continue"].get<std::string>();
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 3, 1}));
  EXPECT_EQ(seen, (std::vector<std::string>{"box-0", "box-1", "box-2", "box-3", "box-4",
                                            "box-5", "box-6"}));
  // Without a limit: the default, and no "continue" when everything fitted.
  auto all = call("GET", "/api/v1/sandboxes");
  ASSERT_EQ(all.status, 200);
  EXPECT_FALSE(all.json().contains("continue"));
  EXPECT_EQ(manager_->lastListQuery()->limit, 500u);
}

TEST_F(ListPagingApiTest, FiltersReachTheManager) {
  manager_->seed("web-1", "alice", Phase::Running);
  manager_->seed("web-2", "alice", Phase::Stopped);
  manager_->seed("db-1", "alice", Phase::Stopped);
  manager_->seed("web-3", "bob", Phase::Stopped);
  auto r = call("GET", "/api/v1/sandboxes?status=STOPPED&q=web");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(itemNames(r), (std::vector<std::string>{"web-2"}));
  auto q = manager_->lastListQuery();
  ASSERT_TRUE(q);
  EXPECT_EQ(q->status, Phase::Stopped);
  EXPECT_EQ(q->namePrefix, "web");

  auto admin = call("GET", "/api/v1/sandboxes?user=bob&status=stopped", kAdminToken);
  ASSERT_EQ(admin.status, 200) << admin.body;
  EXPECT_EQ(itemNames(admin), (std::vector<std::string>{"web-3"}));
}

TEST_F(ListPagingApiTest, BadParametersAre422AndAnotherUsersListIs403) {
  for (const std::string& query : std::vector<std::string>
       {"limit=0", "limit=5001", "limit=x", "status=SLEEPING", "q=A", "continue=%21%21",
        "user="}) {
    const int callsBefore = manager_->calls();
    auto r = call("GET", "/api/v1/sandboxes?" + query);
    EXPECT_EQ(r.status, 422) << query << ": " << r.body;
    EXPECT_EQ(r.errorCode(), "invalid_argument") << r.body;
    EXPECT_EQ(manager_->calls(), callsBefore) << query << ": the manager was not asked";
  }
  auto r = call("GET", "/api/v1/sandboxes?user=bob&limit=10");
  EXPECT_EQ(r.status, 403) << r.body;
  // A token from alice's list used for the admin's list of every user: refused.
  manager_->seed("a1", "alice");
  manager_->seed("a2", "alice");
  auto first = call("GET", "/api/v1/sandboxes?limit=1&user=alice");
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string token = first.json()["continue"].get<std::string>();
  EXPECT_EQ(call("GET", "/api/v1/sandboxes?limit=1&continue=" + token, kAdminToken).status, 422);
  auto second = call("GET", "/api/v1/sandboxes?limit=1&user=alice&continue=" + token);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(itemNames(second), (std::vector<std::string>{"a2"}));
}

TEST_F(ListPagingApiTest, TheOpenApiDocumentDescribesThePageParametersAndContinue) {
  auto r = call("GET", "/api/v1/openapi.json", "");
  ASSERT_EQ(r.status, 200);
  const nlohmann::json doc = r.json();
  std::set<std::string> params;
  for (const auto& p : doc["paths"]["/api/v1/sandboxes"]["get"]["parameters"]) {
    EXPECT_EQ(p["in"], "query");
    params.insert(p["name"].get<std::string>());
    if (p["name"] == "limit") {
      EXPECT_EQ(p["schema"]["maximum"], 5000);
      EXPECT_EQ(p["schema"]["default"], 500);
    }
  }
  EXPECT_EQ(params, (std::set<std::string>{"limit", "continue", "status", "user", "q"}));
  EXPECT_TRUE(doc["components"]["schemas"]["SandboxList"]["properties"].contains("continue"));
}

}  // namespace
}  // namespace sandboxd::testing
