// Unit tests of the API's pure pieces: router, request parsing, Sandbox JSON, error envelope,
// metrics text.
#include <gtest/gtest.h>

#include <set>

#include "api/errors.h"
#include "api/metrics.h"
#include "api/request_parsing.h"
#include "api/router.h"
#include "api/sandbox_json.h"
#include "fakes/status_matchers.h"

namespace sandboxd::api {
namespace {

using nlohmann::json;

TEST(RouterTest, MatchesEveryRouteInTheTable) {
  for (const Route& route : routeTable()) {
    std::string path = route.pattern;
    auto pos = path.find("{name}");
    if (pos != std::string::npos) {
      path.replace(pos, 6, "demo");
    }
    RouteMatch m = matchRoute(route.method, path);
    ASSERT_EQ(m.result, RouteMatch::Result::Found) << route.method << " " << path;
    EXPECT_EQ(m.route->id, route.id);
    EXPECT_EQ(m.pathTemplate, route.pattern);
    if (pos != std::string::npos) {
      EXPECT_EQ(m.params.at("name"), "demo");
    }
  }
}

TEST(RouterTest, TableHasNoDuplicates) {
  std::set<std::pair<std::string, std::string>> seen;
  std::set<std::string> ids;
  for (const Route& route : routeTable()) {
    EXPECT_TRUE(seen.insert({route.method, route.pattern}).second) << route.pattern;
    EXPECT_TRUE(ids.insert(route.operationId).second) << route.operationId;
  }
}

TEST(RouterTest, DistinguishesNotFoundFromMethodNotAllowed) {
  struct Case {
    const char* name;
    std::string method;
    std::string path;
    RouteMatch::Result result;
  };
  for (const auto& c : std::vector<Case>{
           {"root is the dashboard", "GET", "/", RouteMatch::Result::Found},
           {"empty is the root", "POST", "", RouteMatch::Result::MethodNotAllowed},
           {"unknown top", "GET", "/index.php", RouteMatch::Result::PathNotFound},
           {"unknown prefix", "GET", "/api/v2/sandboxes", RouteMatch::Result::PathNotFound},
           {"too deep", "GET", "/api/v1/sandboxes/a/stop/x", RouteMatch::Result::PathNotFound},
           {"unknown action", "POST", "/api/v1/sandboxes/a/reboot",
            RouteMatch::Result::PathNotFound},
           {"empty name", "GET", "/api/v1/sandboxes//stop", RouteMatch::Result::PathNotFound},
           {"put on item", "PUT", "/api/v1/sandboxes/a", RouteMatch::Result::MethodNotAllowed},
           {"get on stop", "GET", "/api/v1/sandboxes/a/stop",
            RouteMatch::Result::MethodNotAllowed},
           {"trace", "TRACE", "/api/v1/sandboxes", RouteMatch::Result::MethodNotAllowed},
           {"trailing slash", "GET", "/healthz/", RouteMatch::Result::Found},
           {"case matters", "get", "/healthz", RouteMatch::Result::MethodNotAllowed},
       }) {
    EXPECT_EQ(matchRoute(c.method, c.path).result, c.result) << c.name;
  }
  RouteMatch m = matchRoute("PUT", "/api/v1/sandboxes/a");
  EXPECT_EQ(m.allowedMethods, (std::vector<std::string>{"GET", "DELETE", "PATCH"}));
}

TEST(RouterTest, DecodesPathParameters) {
  EXPECT_EQ(matchRoute("GET", "/api/v1/sandboxes/a%2Fb").params.at("name"), "a/b");
  EXPECT_EQ(percentDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(percentDecode("a+b"), "a+b");
  EXPECT_EQ(percentDecode("a+b", true), "a b");
  auto q = parseQuery("purge=true&user=al%69ce&flag&=x");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0], std::make_pair(std::string("purge"), std::string("true")));
  EXPECT_EQ(q[1].second, "alice");
  EXPECT_EQ(q[2], std::make_pair(std::string("flag"), std::string()));
}

TEST(RequestParsingTest, CreateRequest) {
  auto r = parseCreateRequest(json::parse(
      R"({"name":"demo","image":"img","env":{"A":"1"},"secretEnv":{"S":"x"},"storage":"5Gi"})"));
  ASSERT_OK(r);
  EXPECT_EQ(r->name, "demo");
  EXPECT_EQ(r->image, "img");
  EXPECT_EQ(r->env.at("A"), "1");
  EXPECT_EQ(r->secretEnv.at("S"), "x");
  EXPECT_EQ(r->storage, "5Gi");
  EXPECT_TRUE(r->user.empty());
  EXPECT_KIND(parseCreateRequest(json::parse(R"({})")), InvalidArgument);
  EXPECT_KIND(parseCreateRequest(json::parse(R"({"name":null})")), InvalidArgument);
  EXPECT_KIND(parseCreateRequest(json::parse(R"("demo")")), InvalidArgument);
  EXPECT_KIND(parseCreateRequest(json::parse(R"({"name":"a","image":null})")), InvalidArgument);
  // null maps are the same as absent.
  EXPECT_OK(parseCreateRequest(json::parse(R"({"name":"a","env":null})")));
}

TEST(RequestParsingTest, CreateRequestFromASnapshot) {
  auto r = parseCreateRequest(json::parse(
      R"({"name":"fork","fromSnapshot":{"sandbox":"demo","snapshot":"0123456789ab"}})"));
  ASSERT_OK(r);
  EXPECT_EQ(r->fromSandbox, "demo");
  EXPECT_EQ(r->fromSnapshot, "0123456789ab");
  EXPECT_TRUE(parseCreateRequest(json::parse(R"({"name":"a"})"))->fromSnapshot.empty());
  for (const char* bad : {R"({"name":"a","fromSnapshot":"demo/0123"})",
                          R"({"name":"a","fromSnapshot":{"sandbox":"demo"}})",
                          R"({"name":"a","fromSnapshot":{"snapshot":"0123"}})",
                          R"({"name":"a","fromSnapshot":{"sandbox":"d","snapshot":"1","x":1}})",
                          R"({"name":"a","fromSnapshot":{"sandbox":"d","snapshot":2}})"}) {
    EXPECT_KIND(parseCreateRequest(json::parse(bad)), InvalidArgument) << bad;
  }
}

TEST(RequestParsingTest, EnvChange) {
  auto c = parseEnvChange(json::parse(R"({"set":{"A":"1"},"setSecret":{"B":"2"},"unset":["C"]})"));
  ASSERT_OK(c);
  EXPECT_EQ(c->set.at("A"), "1");
  EXPECT_EQ(c->setSecret.at("B"), "2");
  EXPECT_EQ(c->unset, std::vector<std::string>{"C"});
  EXPECT_OK(parseEnvChange(json::parse("{}")));
  EXPECT_KIND(parseEnvChange(json::parse("[]")), InvalidArgument);
  EXPECT_KIND(parseEnvChange(json::parse(R"({"set":{"A":1}})")), InvalidArgument);
}

TEST(RequestParsingTest, PurgeAndUserFilter) {
  EXPECT_EQ(parsePurge({}).value(), false);
  EXPECT_EQ(parsePurge({{"purge", "true"}}).value(), true);
  EXPECT_EQ(parsePurge({{"purge", "false"}}).value(), false);
  EXPECT_KIND(parsePurge({{"purge", ""}}), InvalidArgument);
  EXPECT_KIND(parsePurge({{"purge", "TRUE!"}}), InvalidArgument);
  EXPECT_FALSE(parseUserFilter({}).value().has_value());
  EXPECT_EQ(parseUserFilter({{"user", "bob"}}).value(), std::optional<std::string>("bob"));
  EXPECT_KIND(parseUserFilter({{"user", ""}}), InvalidArgument);
}

TEST(RequestParsingTest, MalformedJsonIsReported) {
  std::string error;
  EXPECT_FALSE(parseJsonBody("{", &error).has_value());
  EXPECT_NE(error.find("malformed JSON"), std::string::npos);
  EXPECT_TRUE(parseJsonBody("{}", &error).has_value());
}

TEST(SandboxJsonTest, HasExactlyTheContractFields) {
  SandboxView v;
  SandboxRecord r;
  r.name = "demo";
  r.user = "alice";
  r.nameSpace = "ns";
  r.image = "img";
  r.env = {{"A", "1"}};
  r.secretEnvKeys = {"S2", "S1", "S1"};
  r.storage = "5Gi";
  r.createdAt = SystemTime(std::chrono::seconds(0));
  r.updatedAt = SystemTime(std::chrono::seconds(86400));
  v.record = std::make_shared<const SandboxRecord>(r);
  v.observed.phase = Phase::Running;
  v.observed.reason = "Ready";
  v.observed.message = "all good";
  v.observed.desiredReplicas = 1;
  v.observed.readyReplicas = 1;
  v.observed.workload = WorkloadKind::Deployment;
  v.urls = {{"app", "https://x"}};
  json j = sandboxToJson(v);
  std::set<std::string> keys;
  for (const auto& item : j.items()) {
    keys.insert(item.key());
  }
  EXPECT_EQ(keys, (std::set<std::string>{"name", "user", "namespace", "image", "env",
                                         "secretEnvKeys", "storage", "publicPorts",
                                         "profile", "status", "reason",
                                         "message", "replicas", "workload", "urls", "createdAt",
                                         "updatedAt", "idleStopMinutes", "expiresAt",
                                         "lastActivityAt"}));
  EXPECT_EQ(j["status"], "RUNNING");
  EXPECT_EQ(j["profile"], "default");
  EXPECT_EQ(j["workload"], "Deployment");
  EXPECT_EQ(j["secretEnvKeys"], json::array({"S1", "S2"}));
  EXPECT_EQ(j["replicas"], json({{"desired", 1}, {"ready", 1}}));
  EXPECT_EQ(j["createdAt"], "1970-01-01T00:00:00Z");
  EXPECT_EQ(j["updatedAt"], "1970-01-02T00:00:00Z");
  EXPECT_EQ(json::parse(sandboxListText({v, v}))["items"].size(), 2u);
  EXPECT_EQ(json::parse(sandboxListText({})), json({{"items", json::array()}}));
}

// The list is written without a JSON tree: it must be byte for byte what nlohmann writes for
// the same Sandboxes, for any text in any field (quotes, backslashes, control characters,
// non-ASCII, invalid UTF-8).
TEST(SandboxJsonTest, TheListTextIsWhatTheJsonTreeWouldDump) {
  const std::vector<std::string> texts = {
      "",      "plain",          "quote \" and \\ backslash", "tab\tnew\nline\x01\x1f",
      "\x7f",  "caf\xc3\xa9 \xe2\x82\xac", "bad \xff\xfe utf8",     "/slash/",
      "{\"json\": [1]}"};
  std::vector<SandboxView> views;
  for (size_t i = 0; i < texts.size(); ++i) {
    SandboxView v;
    const std::string& t = texts[i];
    const std::string& u = texts[(i + 3) % texts.size()];
    SandboxRecord r;
    r.name = "sb-" + std::to_string(i);
    r.user = t;
    r.nameSpace = u;
    r.image = t + u;
    r.env = {{t.empty() ? "EMPTY" : t, u}, {"PLAIN", t}};
    // Unsorted with a repeat, already sorted, none.
    r.secretEnvKeys = i % 3 == 0   ? std::vector<std::string>{u, t, u}
                      : i % 3 == 1 ? std::vector<std::string>{"A" + t, "B" + u}
                                   : std::vector<std::string>{};
    r.storage = "5Gi";
    r.createdAt = SystemTime(std::chrono::milliseconds(1700000000123LL + i));
    r.updatedAt = SystemTime(std::chrono::seconds(86400 * i));
    v.record = std::make_shared<const SandboxRecord>(r);
    v.observed.phase = i % 2 == 0 ? Phase::Running : Phase::Error;
    v.observed.reason = t;
    v.observed.message = u + " " + t;
    v.observed.desiredReplicas = static_cast<int>(i % 2);
    v.observed.readyReplicas = -1 + static_cast<int>(i % 3);
    v.observed.workload = i % 2 == 0 ? WorkloadKind::StatefulSet : WorkloadKind::Deployment;
    if (i % 3 != 0) {
      v.urls = {{"app", "https://x/" + t}, {"ide", u}};
    }
    views.push_back(v);
  }
  for (size_t n : {size_t{0}, size_t{1}, views.size()}) {
    const std::vector<SandboxView> some(views.begin(), views.begin() + n);
    json tree = {{"items", json::array()}};
    for (const auto& v : some) {
      tree["items"].push_back(sandboxToJson(v));
    }
    EXPECT_EQ(sandboxListText(some), tree.dump(-1, ' ', false, json::error_handler_t::replace))
        << n << " items";
  }
}

TEST(ErrorsTest, EnvelopeAndMapping) {
  json body = errorBody(routeNotFound("nope"), "rid-1");
  EXPECT_EQ(body, json({{"error", {{"code", "not_found"}, {"message", "nope"},
                                   {"requestId", "rid-1"}}}}));
  EXPECT_FALSE(errorBody(routeNotFound("x"), "")["error"].contains("requestId"));

  struct Case {
    ErrorKind kind;
    int status;
    const char* code;
  };
  for (const auto& c : std::vector<Case>{
           {ErrorKind::InvalidArgument, 422, "invalid_argument"},
           {ErrorKind::Unauthenticated, 401, "unauthenticated"},
           {ErrorKind::PermissionDenied, 403, "permission_denied"},
           {ErrorKind::NotFound, 404, "not_found"},
           {ErrorKind::AlreadyExists, 409, "conflict"},
           {ErrorKind::Aborted, 409, "conflict"},
           {ErrorKind::FailedPrecondition, 409, "conflict"},
           {ErrorKind::ResourceExhausted, 429, "throttled"},
           {ErrorKind::Unavailable, 503, "unavailable"},
           {ErrorKind::Internal, 500, "internal"},
       }) {
    ApiError e = fromStatus(Status(c.kind, "m"));
    EXPECT_EQ(e.httpStatus, c.status) << toString(c.kind);
    EXPECT_EQ(e.code, c.code) << toString(c.kind);
  }
  // Internal messages are not shown.
  EXPECT_EQ(fromStatus(internalError("db path /x/y")).message, "internal error");
}

TEST(MetricsTest, RendersCountersHistogramAndGauge) {
  ApiMetrics m;
  m.recordRequest("/healthz", "GET", 200, 0.001);
  m.recordRequest("/healthz", "GET", 200, 0.2);
  m.recordRequest("/healthz", "GET", 200, 100);
  m.recordLifecycle("create", "ok");
  std::string text = m.render({{"RUNNING", 3}}, false);
  EXPECT_NE(text.find(R"(sandboxd_http_requests_total{route="/healthz",method="GET",code="200"} 3)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(sandboxd_http_request_duration_seconds_bucket{route="/healthz",le="0.005"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(sandboxd_http_request_duration_seconds_bucket{route="/healthz",le="0.25"} 2)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(sandboxd_http_request_duration_seconds_bucket{route="/healthz",le="10"} 2)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(sandboxd_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"} 3)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(sandboxd_http_request_duration_seconds_count{route="/healthz"} 3)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(sandboxd_lifecycle_operations_total{operation="create",result="ok"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(sandboxd_sandboxes{status="RUNNING"} 3)"), std::string::npos);
  EXPECT_EQ(m.render({}, true).find("sandboxd_sandboxes{"), std::string::npos);
  EXPECT_EQ(escapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(MetricsTest, RendersReconcilerCountersAndTheDriftOfTheLastPass) {
  ReconcilerStats stats;
  const auto now = std::chrono::steady_clock::now();
  std::string before = renderReconciler(stats, now);
  EXPECT_NE(before.find("sandboxd_reconcile_seconds_since_last_pass -1\n"), std::string::npos)
      << before;
  EXPECT_EQ(before.find("sandboxd_drift_objects{"), std::string::npos)
      << "no drift figure before a pass has looked";

  stats.passes = 7;
  stats.failedPasses = 1;
  stats.triggeredPasses = 2;
  stats.repaired = 3;
  stats.scaled = 4;
  ReconcilePass last;
  last.orphans = 5;
  last.missing = 2;
  stats.last = last;
  stats.lastPassAt = now - std::chrono::milliseconds(1500);
  const std::string text = renderReconciler(stats, now);
  for (const char* line : {R"(sandboxd_reconcile_passes_total{result="ok"} 7)",
                           R"(sandboxd_reconcile_passes_total{result="failed"} 1)",
                           "sandboxd_reconcile_triggered_passes_total 2",
                           R"(sandboxd_reconcile_sandboxes_total{action="repaired"} 3)",
                           R"(sandboxd_reconcile_sandboxes_total{action="scaled"} 4)",
                           "sandboxd_reconcile_seconds_since_last_pass 1.5",
                           R"(sandboxd_drift_objects{kind="orphan"} 5)",
                           R"(sandboxd_drift_objects{kind="missing"} 2)",
                           R"(sandboxd_drift_objects{kind="lingering"} 0)"}) {
    EXPECT_NE(text.find(std::string(line) + "\n"), std::string::npos) << line << "\n" << text;
  }
}

}  // namespace
}  // namespace sandboxd::api
