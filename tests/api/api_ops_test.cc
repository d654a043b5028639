// CORS, health/readiness, metrics, the OpenAPI document, failures inside the manager,
// concurrency and the server's lifecycle.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "api/api_test_support.h"
#include "api/router.h"
#include "fakes/simulated_time_source.h"
#include "kube/decorators/forwarding_kube_client.h"
#include "kube/sim/memory_cluster.h"
#include "sandboxd/kube/kube_call_metrics.h"

namespace sandboxd::testing {
namespace {

using nlohmann::json;

class ApiOpsTest : public ApiServerFixture {};

class ApiCorsTest : public ApiServerFixture {
 protected:
  void configure(ServerConfig& config) override {
    config.corsOrigins = {"https://app.example.com"};
  }
};

TEST_F(ApiCorsTest, PreflightFromAConfiguredOriginIs204WithHeaders) {
  auto r = call("OPTIONS", "/api/v1/sandboxes/demo/env", "", "",
                {{"Origin", "https://app.example.com"},
                 {"Access-Control-Request-Method", "PATCH"},
                 {"Access-Control-Request-Headers", "authorization, content-type"}});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("access-control-allow-origin"), "https://app.example.com");
  EXPECT_NE(r.header("access-control-allow-methods").find("PATCH"), std::string::npos);
  EXPECT_NE(lowerCase(r.header("access-control-allow-headers")).find("authorization"),
            std::string::npos);
  EXPECT_NE(lowerCase(r.header("access-control-allow-headers")).find("content-type"),
            std::string::npos);
  EXPECT_FALSE(r.header("access-control-max-age").empty());
  EXPECT_NE(r.header("vary").find("Origin"), std::string::npos);
}

TEST_F(ApiCorsTest, PreflightFromAnotherOriginGetsNoCorsHeaders) {
  auto r = call("OPTIONS", "/api/v1/sandboxes", "", "",
                {{"Origin", "https://evil.example.com"},
                 {"Access-Control-Request-Method", "POST"}});
  EXPECT_NE(r.status, 500);
  for (const auto& [name, value] : r.headers) {
    EXPECT_NE(name.rfind("access-control-", 0), 0u) << name << ": " << value;
  }
}

TEST_F(ApiCorsTest, SimpleRequestFromAConfiguredOriginGetsAllowOriginAndVary) {
  auto r = call("GET", "/api/v1/sandboxes", kAliceToken, "",
                {{"Origin", "https://app.example.com"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("access-control-allow-origin"), "https://app.example.com");
  EXPECT_NE(r.header("vary").find("Origin"), std::string::npos);
  // Errors carry them too, so the browser can read them.
  auto unauth = call("GET", "/api/v1/sandboxes", "", "", {{"Origin", "https://app.example.com"}});
  EXPECT_EQ(unauth.status, 401);
  EXPECT_EQ(unauth.header("access-control-allow-origin"), "https://app.example.com");

  auto other = call("GET", "/api/v1/sandboxes", kAliceToken, "",
                    {{"Origin", "https://evil.example.com"}});
  EXPECT_EQ(other.status, 200);
  EXPECT_FALSE(other.hasHeader("access-control-allow-origin"));
}

// A KubeClient whose gets take at least `delay` (a slow API server).
class SlowGets : public ForwardingKubeClient {
 public:
  SlowGets(KubeClientPtr inner, std::chrono::milliseconds delay)
      : ForwardingKubeClient(std::move(inner)), delay_(delay) {}
  StatusOr<json> get(const ResourceType& type, const std::string& ns, const std::string& name,
                     const std::string& subresource) override {
    std::this_thread::sleep_for(delay_);
    return ForwardingKubeClient::get(type, ns, name, subresource);
  }

 private:
  std::chrono::milliseconds delay_;
};

// Server-Timing "kube;dur=MS, total;dur=MS" tells a client how much of a request was spent in
// Kubernetes API calls (those the request's manager call made on its thread).
double timing(const std::string& header, const std::string& metric) {
  const auto at = header.find(metric + ";dur=");
  return at == std::string::npos ? -1.0 : std::stod(header.substr(at + metric.size() + 5));
}

TEST_F(ApiOpsTest, ServerTimingCountsTheRequestsKubernetesCalls) {
  ASSERT_EQ(createAs(kAliceToken, "demo").status, 201);
  auto none = call("GET", "/api/v1/sandboxes/demo");
  EXPECT_EQ(timing(none.header("server-timing"), "kube"), 0.0) << none.header("server-timing");
  EXPECT_GE(timing(none.header("server-timing"), "total"), 0.0);

  // Each manager call now makes two Kubernetes calls of at least 30 ms each.
  auto metrics = std::make_shared<KubeCallMetrics>();
  auto cluster = std::make_shared<MemoryCluster>(std::make_shared<SimulatedTimeSource>());
  KubeClientPtr kube = withCallMetrics(
      std::make_shared<SlowGets>(cluster, std::chrono::milliseconds(30)), metrics);
  manager_->setClusterWork([kube] {
    (void)kube->get(resources::statefulSets(), "ns", "demo");
    (void)kube->get(resources::pods(), "ns", "demo-0");
  });
  auto stopped = call("POST", "/api/v1/sandboxes/demo/stop");
  ASSERT_EQ(stopped.status, 202);
  const std::string header = stopped.header("server-timing");
  const double kubeMs = timing(header, "kube");
  EXPECT_GE(kubeMs, 60.0) << header;
  EXPECT_LE(kubeMs, timing(header, "total")) << header;
  // The same calls, as /metrics counts and times them.
  const auto timings = metrics->timings();
  ASSERT_EQ(timings.count({"get", "statefulsets"}), 1u);
  EXPECT_EQ(timings.at({"get", "statefulsets"}).count, 1u);
  EXPECT_GE(timings.at({"get", "statefulsets"}).total, std::chrono::milliseconds(30));

  // Nothing carries over to the next request on the same worker thread.
  manager_->setClusterWork(nullptr);
  for (int i = 0; i < 8; ++i) {
    auto again = call("GET", "/api/v1/sandboxes/demo");
    EXPECT_EQ(timing(again.header("server-timing"), "kube"), 0.0) << again.header("server-timing");
  }
}

TEST_F(ApiOpsTest, OptionsWithoutCorsConfigListsAllowedMethods) {
  auto r = call("OPTIONS", "/api/v1/sandboxes", "", "",
                {{"Origin", "https://app.example.com"},
                 {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(r.status, 204);
  EXPECT_FALSE(r.hasHeader("access-control-allow-origin"));
  EXPECT_NE(r.header("allow").find("POST"), std::string::npos);
  EXPECT_EQ(call("OPTIONS", "/unknown", "").status, 404);
}

TEST_F(ApiOpsTest, HealthzIs200WithoutAToken) {
  auto r = call("GET", "/healthz", "");
  EXPECT_EQ(r.status, 200);
}

TEST_F(ApiOpsTest, ReadyzFollowsTheManager) {
  EXPECT_EQ(call("GET", "/readyz", "").status, 200);
  manager_->setReady(unavailable("cluster unreachable"));
  auto r = call("GET", "/readyz", "");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.errorCode(), "unavailable");
  manager_->setReady(Status::ok());
  EXPECT_EQ(call("GET", "/readyz", "").status, 200);
}

TEST_F(ApiOpsTest, MetricsCountRequestsLifecycleAndSandboxes) {
  ASSERT_EQ(createAs(kAliceToken, "m1").status, 201);
  ASSERT_EQ(createAs(kBobToken, "m2").status, 201);
  ASSERT_EQ(call("POST", "/api/v1/sandboxes/m1/stop").status, 202);
  ASSERT_EQ(call("GET", "/api/v1/sandboxes/nope").status, 404);
  ASSERT_EQ(createAs(kAliceToken, "m2").status, 409);

  auto r = call("GET", "/metrics", "");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type").rfind("text/plain", 0), 0u);
  const std::string& m = r.body;
  EXPECT_NE(m.find("# TYPE sandboxd_http_requests_total counter"), std::string::npos);
  EXPECT_NE(m.find(R"(sandboxd_http_requests_total{route="/api/v1/sandboxes",method="POST",code="201"} 2)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find(R"(sandboxd_http_requests_total{route="/api/v1/sandboxes/{name}",method="GET",code="404"} 1)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("# TYPE sandboxd_http_request_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(m.find(R"(sandboxd_http_request_duration_seconds_bucket{route="/api/v1/sandboxes/{name}/stop",le="+Inf"} 1)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find(R"(sandboxd_http_request_duration_seconds_count{route="/api/v1/sandboxes"} )"),
            std::string::npos);
  EXPECT_NE(m.find(R"(sandboxd_lifecycle_operations_total{operation="create",result="ok"} 2)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find(R"(sandboxd_lifecycle_operations_total{operation="create",result="conflict"} 1)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find(R"(sandboxd_lifecycle_operations_total{operation="stop",result="ok"} 1)"),
            std::string::npos);
  EXPECT_NE(m.find(R"(sandboxd_sandboxes{status="CREATING"} 1)"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(sandboxd_sandboxes{status="STOPPING"} 1)"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(sandboxd_sandboxes{status="RUNNING"} 0)"), std::string::npos) << m;
}

TEST_F(ApiOpsTest, MetricsLabelsStayBounded) {
  call("GET", "/random/path/1", kAliceToken);
  call("BREW", "/api/v1/sandboxes", kAliceToken);
  auto m = call("GET", "/metrics", "").body;
  EXPECT_EQ(m.find("/random/path/1"), std::string::npos);
  EXPECT_NE(m.find(R"(route="unmatched")"), std::string::npos);
  EXPECT_EQ(m.find("BREW"), std::string::npos);
}

TEST_F(ApiOpsTest, OpenApiDocumentCoversExactlyTheRouteTable) {
  auto r = call("GET", "/api/v1/openapi.json", "");
  ASSERT_EQ(r.status, 200);
  auto doc = json::parse(r.body, nullptr, false);
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc["openapi"].get<std::string>().rfind("3.", 0), 0u);
  ASSERT_TRUE(doc["paths"].is_object());

  std::set<std::pair<std::string, std::string>> expected;
  for (const auto& route : api::routeTable()) {
    expected.insert({route.pattern, lowerCase(route.method)});
  }
  std::set<std::pair<std::string, std::string>> documented;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      documented.insert({path, method});
      EXPECT_TRUE(op.contains("responses")) << path << " " << method;
      EXPECT_TRUE(op.contains("operationId")) << path << " " << method;
    }
  }
  EXPECT_EQ(documented, expected);

  // Success codes in the document match the table; $refs resolve.
  for (const auto& route : api::routeTable()) {
    const auto& op = doc["paths"][route.pattern][lowerCase(route.method)];
    EXPECT_TRUE(op["responses"].contains(std::to_string(route.successStatus))) << route.pattern;
  }
  std::function<void(const json&)> checkRefs = [&](const json& node) {
    if (node.is_object()) {
      for (const auto& [k, v] : node.items()) {
        if (k == "$ref") {
          std::string ref = v.get<std::string>();
          ASSERT_EQ(ref.rfind("#/components/schemas/", 0), 0u);
          EXPECT_TRUE(doc["components"]["schemas"].contains(ref.substr(21))) << ref;
        } else {
          checkRefs(v);
        }
      }
    } else if (node.is_array()) {
      for (const auto& v : node) {
        checkRefs(v);
      }
    }
  };
  checkRefs(doc);
}

TEST_F(ApiOpsTest, EveryRouteInTheTableIsServed) {
  manager_->seed("demo", "alice");
  // DELETE last: the others are refused while the sandbox is being deleted.
  std::vector<api::Route> routes = api::routeTable();
  std::stable_partition(routes.begin(), routes.end(),
                        [](const api::Route& r) { return r.id != api::RouteId::DeleteSandbox; });
  for (const auto& route : routes) {
    std::string path = route.pattern;
    auto pos = path.find("{name}");
    if (pos != std::string::npos) {
      path.replace(pos, 6, "demo");
    }
    if (auto id = path.find("{id}"); id != std::string::npos) {
      path.replace(id, 4, "tok_x");
    }
    if (auto user = path.find("{user}"); user != std::string::npos) {
      path.replace(user, 6, "alice");
    }
    // Served here only as far as this fixture (fake registry, no forward auth) allows: the
    // admin token and quota routes refuse alice (admin_tokens_test.cc and
    // serve_profiles_test.cc serve them), the forward-auth
    // routes say they are not configured (forward_auth_test.cc serves them).
    if (route.adminOnly) {
      EXPECT_EQ(call(route.method, path, kAliceToken, "{}").status, 403) << path;
      continue;
    }
    if (path.rfind("/auth/", 0) == 0) {
      auto r = rawCall(port_, rawRequest(route.method, path,
                                         {"Content-Type: application/x-www-form-urlencoded"},
                                         route.acceptsBody ? "token=x" : ""));
      EXPECT_EQ(r.status, 503) << route.method << " " << path << " " << r.body;
      continue;
    }
    if ((pos = path.find("{file}")) != std::string::npos) {
      path.replace(pos, 6, "app.js");
    }
    if (route.id == api::RouteId::CreateSnapshot || route.id == api::RouteId::ListSnapshots ||
        route.id == api::RouteId::DeleteSnapshot || route.id == api::RouteId::RestoreSandbox) {
      // No snapshot manager here: the routes are there and say so (served:
      // snapshot_routes_test.cc, and on the real control plane, integration/snapshot_test.cc).
      auto r = call(route.method, path, kAliceToken);
      EXPECT_EQ(r.status, 503) << path << " " << r.body;
      continue;
    }
    if (route.id == api::RouteId::Events || route.id == api::RouteId::SandboxEvents) {
      // This server has no event hub: the routes are there and say so (the streams
      // themselves: serve_events_test.cc, against a real serve).
      auto r = call(route.method, path, kAliceToken);
      EXPECT_EQ(r.status, 503) << path << " " << r.body;
      continue;
    }
    std::string body;
    if (route.id == api::RouteId::CreateSandbox) {
      body = R"({"name":"served"})";
    } else if (route.id == api::RouteId::UpdateEnv) {
      body = R"({"set":{"A":"1"}})";
    } else if (route.id == api::RouteId::UpdateSandbox) {
      body = R"({"idleStopMinutes":30})";
    }
    auto r = call(route.method, path, kAliceToken, body);
    EXPECT_EQ(r.status, route.successStatus) << route.method << " " << path << " " << r.body;
  }
}

TEST_F(ApiOpsTest, ExceptionInTheManagerIs500WithRequestIdAndTheServerKeepsServing) {
  manager_->seed("demo", "alice");
  manager_->throwOnNextCall();
  auto r = call("GET", "/api/v1/sandboxes/demo");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.errorCode(), "internal");
  auto id = r.json()["error"]["requestId"].get<std::string>();
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(id, r.header("x-request-id"));
  EXPECT_EQ(r.body.find("simulated"), std::string::npos);  // details stay in the log
  EXPECT_EQ(call("GET", "/api/v1/sandboxes/demo").status, 200);

  manager_->throwOnNextCall();
  EXPECT_EQ(call("GET", "/readyz", "").status, 500);
  manager_->throwOnNextCall();
  auto metrics = call("GET", "/metrics", "");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("sandboxd_metrics_scrape_error 1"), std::string::npos);
}

TEST_F(ApiOpsTest, AccessLogHasRouteStatusUserAndRequestIdButNoSecrets) {
  // Kept alive for the whole program: server threads may still log through it.
  static std::ostringstream captured;
  static auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  static auto logger = std::make_shared<spdlog::logger>("api-test-capture", sink);
  logger->set_level(spdlog::level::info);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);

  auto created = call("POST", "/api/v1/sandboxes", kAliceToken,
                      json{{"name", "logged"}, {"secretEnv", {{"K", "very-secret-value"}}}}.dump());
  auto missing = call("GET", "/api/v1/sandboxes/logged-not", kAliceToken);
  manager_->throwOnNextCall();
  auto crashed = call("GET", "/api/v1/sandboxes/logged", kAliceToken);
  spdlog::set_default_logger(previous);
  logger->flush();
  const std::string log = captured.str();

  ASSERT_EQ(created.status, 201);
  EXPECT_NE(log.find("POST /api/v1/sandboxes 201"), std::string::npos) << log;
  EXPECT_NE(log.find("user=alice"), std::string::npos) << log;
  EXPECT_NE(log.find("request_id=" + created.header("x-request-id")), std::string::npos) << log;
  EXPECT_NE(log.find("GET /api/v1/sandboxes/{name} 404"), std::string::npos) << log;
  // The exception is logged with the request id of the 500.
  ASSERT_EQ(crashed.status, 500);
  EXPECT_NE(log.find(crashed.header("x-request-id") + " GET /api/v1/sandboxes/{name} failed"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find(kAliceToken), std::string::npos) << log;
  EXPECT_EQ(log.find("very-secret-value"), std::string::npos) << log;
  EXPECT_EQ(log.find("logged-not"), std::string::npos) << "paths are logged as templates";
}

TEST_F(ApiOpsTest, RequestIdsAreUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    ids.insert(call("GET", "/healthz", "").header("x-request-id"));
  }
  EXPECT_EQ(ids.size(), 10u);
}

TEST_F(ApiOpsTest, FiftyParallelRequestsAreAllAnswered) {
  manager_->setDelay(std::chrono::milliseconds(20));
  for (int i = 0; i < 10; ++i) {
    manager_->seed("box" + std::to_string(i), "alice");
  }
  std::vector<std::future<int>> results;
  for (int i = 0; i < 50; ++i) {
    results.push_back(std::async(std::launch::async, [this, i] {
      switch (i % 3) {
        case 0: return call("GET", "/api/v1/sandboxes/box" + std::to_string(i % 10)).status;
        case 1: return call("GET", "/api/v1/sandboxes").status;
        default:
          return createAs(kAliceToken, "par" + std::to_string(i)).status;
      }
    }));
  }
  int ok = 0;
  for (int i = 0; i < 50; ++i) {
    int status = results[i].get();
    EXPECT_EQ(status, i % 3 == 2 ? 201 : 200) << i;
    ok += status < 300 ? 1 : 0;
  }
  EXPECT_EQ(ok, 50);
}

// A request may run on the listener's own I/O thread (src/api/inline_slots.h); one blocked in
// the manager (a slow Kubernetes call) must not hold up the others, nor their answers.
TEST_F(ApiOpsTest, RequestsBlockedInTheManagerDoNotHoldUpOthers) {
  for (int i = 0; i < 4; ++i) {
    manager_->seed("slow" + std::to_string(i), "alice");
  }
  std::mutex mu;
  std::condition_variable cv;
  int blocked = 0;
  bool release = false;
  manager_->setClusterWork([&] {
    std::unique_lock<std::mutex> lock(mu);
    ++blocked;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  });
  std::vector<std::future<int>> stops;
  for (int i = 0; i < 4; ++i) {
    stops.push_back(std::async(std::launch::async, [this, i] {
      return call("POST", "/api/v1/sandboxes/slow" + std::to_string(i) + "/stop").status;
    }));
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return blocked == 4; }))
        << blocked << " of 4 stops reached the manager";
  }
  EXPECT_EQ(call("GET", "/healthz", "").status, 200);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  for (auto& stop : stops) {
    EXPECT_EQ(stop.get(), 202);
  }
  manager_->setClusterWork(nullptr);
}

TEST_F(ApiOpsTest, StopIsIdempotentAndReleasesThePort) {
  server_->stop();
  server_->stop();
  // The port is free again: a new server can bind it.
  ServerConfig again = config_;
  again.listen = "127.0.0.1:" + std::to_string(port_);
  auto second = makeApiServer(again, manager_, registry_);
  Status st = second->start();
  ASSERT_TRUE(st.isOk()) << st.toString();
  EXPECT_EQ(second->port(), port_);
  EXPECT_EQ(call("GET", "/healthz", "").status, 200);
  second->stop();
}

TEST(ApiServerStartTest, BadListenAddressIsAnError) {
  auto manager = std::make_shared<FakeSandboxManager>();
  auto registry = std::make_shared<FakeRegistry>();
  for (const std::string listen : {"nonsense", "127.0.0.1:99999", "[::1]:8080"}) {
    ServerConfig config;
    config.listen = listen;
    auto server = makeApiServer(config, manager, registry);
    EXPECT_FALSE(server->start().isOk()) << listen;
  }
}

TEST(ApiServerStartTest, PortInUseIsUnavailable) {
  auto manager = std::make_shared<FakeSandboxManager>();
  auto registry = std::make_shared<FakeRegistry>();
  ServerConfig config;
  config.listen = "127.0.0.1:0";
  auto first = makeApiServer(config, manager, registry);
  ASSERT_TRUE(first->start().isOk());
  config.listen = "127.0.0.1:" + std::to_string(first->port());
  auto second = makeApiServer(config, manager, registry);
  Status st = second->start();
  EXPECT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Unavailable);
  first->stop();
}

}  // namespace
}  // namespace sandboxd::testing
