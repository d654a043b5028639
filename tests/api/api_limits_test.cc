// Request checks: 404/405 routing, TRACE, 413/415/400/422 and the order they run in.
#include <gtest/gtest.h>

#include "api/api_test_support.h"

namespace sandboxd::testing {
namespace {

using nlohmann::json;

const std::string kAuth = std::string("Authorization: Bearer ") + kAliceToken;

class ApiLimitsTest : public ApiServerFixture {};

TEST_F(ApiLimitsTest, UnknownRouteIs404Json) {
  auto r = call("GET", "/api/v2/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.errorCode(), "not_found");
  EXPECT_EQ(call("GET", "/index.php").status, 404);
  EXPECT_EQ(call("GET", "/web/missing.js").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/sandboxes/demo/stop/extra").status, 404);
}

TEST_F(ApiLimitsTest, WrongMethodOnAKnownPathIs405WithAllow) {
  manager_->seed("demo", "alice");
  auto r = call("PUT", "/api/v1/sandboxes/demo");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.errorCode(), "method_not_allowed");
  EXPECT_NE(r.header("allow").find("GET"), std::string::npos);
  EXPECT_NE(r.header("allow").find("DELETE"), std::string::npos);
  EXPECT_EQ(call("GET", "/api/v1/sandboxes/demo/stop").status, 405);
  EXPECT_EQ(call("DELETE", "/api/v1/sandboxes").status, 405);
  EXPECT_EQ(call("POST", "/healthz", "").status, 405);
  EXPECT_EQ(manager_->calls(), 0);
}

TEST_F(ApiLimitsTest, TraceIs405AndNeverEchoes) {
  auto r = raw(rawRequest("TRACE", "/api/v1/sandboxes", {kAuth, "X-Secret-Probe: probe-value"}));
  EXPECT_EQ(r.status, 405) << r.raw;
  EXPECT_EQ(r.errorCode(), "method_not_allowed");
  EXPECT_EQ(r.raw.find(kAliceToken), std::string::npos) << r.raw;
  EXPECT_EQ(r.raw.find("probe-value"), std::string::npos) << r.raw;
  EXPECT_EQ(r.raw.find("message/http"), std::string::npos) << r.raw;

  auto onHealthz = raw(rawRequest("TRACE", "/healthz", {kAuth}));
  EXPECT_EQ(onHealthz.status, 405);
  EXPECT_EQ(onHealthz.raw.find(kAliceToken), std::string::npos);

  // Without a token, 401 comes first, and nothing is echoed either.
  auto anon = raw(rawRequest("TRACE", "/api/v1/sandboxes", {"Authorization: Bearer nope-xyz"}));
  EXPECT_EQ(anon.status, 401);
  EXPECT_EQ(anon.raw.find("nope-xyz"), std::string::npos);
}

TEST_F(ApiLimitsTest, ContentLengthOverTheLimitIs413) {
  std::string big(5 << 20, 'x');
  std::string body = "{\"name\":\"" + big + "\"}";
  auto r = call("POST", "/api/v1/sandboxes", kAliceToken, body);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.errorCode(), "payload_too_large");
  EXPECT_EQ(manager_->calls(), 0);
  // The server still answers afterwards.
  EXPECT_EQ(call("GET", "/healthz", "").status, 200);
}

TEST_F(ApiLimitsTest, ChunkedBodyOverTheLimitIs413) {
  std::string body = "{\"name\":\"" + std::string(3 << 20, 'x') + "\"}";
  auto r = rawCall(port_,
                   rawRequest("POST", "/api/v1/sandboxes",
                              {kAuth, "Content-Type: application/json",
                               "Transfer-Encoding: chunked"},
                              chunked(body, 64 * 1024), /*contentLength=*/false));
  EXPECT_EQ(r.status, 413) << r.raw.substr(0, 300);
  EXPECT_EQ(r.errorCode(), "payload_too_large");
  EXPECT_EQ(manager_->calls(), 0);
  EXPECT_EQ(call("GET", "/healthz", "").status, 200);
}

TEST_F(ApiLimitsTest, EndlessChunkedBodyIsCutOff) {
  // Far beyond any drain allowance: the server must answer and stop reading, not buffer it.
  std::string body = chunked(std::string(40 << 20, 'x'), 256 * 1024);
  body.resize(body.size() - 5);  // never terminated
  auto r = rawCall(port_, rawRequest("POST", "/api/v1/sandboxes",
                                     {kAuth, "Content-Type: application/json",
                                      "Transfer-Encoding: chunked"},
                                     body, /*contentLength=*/false));
  // Depending on timing the client may see the 413 or a reset; the server must survive.
  if (r.status != 0) {
    EXPECT_EQ(r.status, 413);
  }
  EXPECT_EQ(call("GET", "/healthz", "").status, 200);
}

TEST_F(ApiLimitsTest, ChunkedBodyUnderTheLimitIsAccepted) {
  std::string body = json{{"name", "chunky"}}.dump();
  auto r = rawCall(port_, rawRequest("POST", "/api/v1/sandboxes",
                                     {kAuth, "Content-Type: application/json",
                                      "Transfer-Encoding: chunked"},
                                     chunked(body, 3), /*contentLength=*/false));
  EXPECT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.json()["name"], "chunky");
}

TEST_F(ApiLimitsTest, NonJsonContentTypeIs415) {
  auto r = httpCall(port_, "POST", "/api/v1/sandboxes", kAliceToken, "name=demo", {},
                    "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(r.errorCode(), "unsupported_media_type");
  manager_->seed("demo", "alice");
  auto patch = httpCall(port_, "PATCH", "/api/v1/sandboxes/demo/env", kAliceToken,
                        "{\"set\":{}}", {}, "text/plain");
  EXPECT_EQ(patch.status, 415);
  auto missing = raw(rawRequest("POST", "/api/v1/sandboxes", {kAuth}, "{\"name\":\"x\"}"));
  EXPECT_EQ(missing.status, 415);
  // A charset parameter is fine.
  auto ok = httpCall(port_, "POST", "/api/v1/sandboxes", kAliceToken, "{\"name\":\"ok1\"}", {},
                     "application/json; charset=utf-8");
  EXPECT_EQ(ok.status, 201);
}

TEST_F(ApiLimitsTest, MalformedJsonIs400) {
  for (const std::string body : {"{", "{\"name\": }", "not json", "{\"name\":\"a\"} trailing"}) {
    auto r = call("POST", "/api/v1/sandboxes", kAliceToken, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.errorCode(), "malformed_json") << body;
  }
  auto empty = raw(rawRequest("POST", "/api/v1/sandboxes",
                              {kAuth, "Content-Type: application/json", "Content-Length: 0"}));
  EXPECT_EQ(empty.status, 400);
}

TEST_F(ApiLimitsTest, InvalidFieldsAre422NamingTheField) {
  struct Case {
    std::string body;
    std::string mentions;
  };
  for (const auto& c : std::vector<Case>{
           {R"({"name": 5})", "name"},
           {R"({"image": "x"})", "name"},
           {R"({"name": "a", "env": {"A": 1}})", "env.A"},
           {R"({"name": "a", "env": ["A"]})", "env"},
           {R"({"name": "a", "secretEnv": "A=1"})", "secretEnv"},
           {R"({"name": "a", "storage": 5})", "storage"},
           {R"({"name": "a", "colour": "red"})", "colour"},
           {R"(["name"])", "object"},
       }) {
    auto r = call("POST", "/api/v1/sandboxes", kAliceToken, c.body);
    EXPECT_EQ(r.status, 422) << c.body;
    EXPECT_EQ(r.errorCode(), "invalid_argument") << c.body;
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find(c.mentions),
              std::string::npos)
        << c.body << " → " << r.body;
  }
  manager_->seed("demo", "alice");
  for (const auto& c : std::vector<Case>{
           {R"({"set": {"A": true}})", "set.A"},
           {R"({"unset": "A"})", "unset"},
           {R"({"unset": ["A", 2]})", "unset[1]"},
           {R"({"setSecret": {"K": null}})", "setSecret.K"},
           {R"({"remove": ["A"]})", "remove"},
       }) {
    auto r = call("PATCH", "/api/v1/sandboxes/demo/env", kAliceToken, c.body);
    EXPECT_EQ(r.status, 422) << c.body;
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find(c.mentions),
              std::string::npos)
        << c.body << " → " << r.body;
  }
}

TEST_F(ApiLimitsTest, HugeHeadersAre431) {
  std::string big(20 << 10, 'h');
  auto r = raw(rawRequest("GET", "/api/v1/sandboxes", {kAuth, "X-Big: " + big}));
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.errorCode(), "headers_too_large");
}

// --- check order: 401 → 404/405 → 413/415 → 400/422 ------------------------------------------

TEST_F(ApiLimitsTest, BadTokenWithHugeBodyIs401) {
  std::string body(5 << 20, 'x');
  auto r = httpCall(port_, "POST", "/api/v1/sandboxes", "wrong", body, {}, "text/plain");
  EXPECT_EQ(r.status, 401);
  auto rawChunked = rawCall(port_, rawRequest("POST", "/api/v1/sandboxes",
                                              {"Transfer-Encoding: chunked"},
                                              chunked(std::string(2 << 20, 'y'), 65536), false));
  EXPECT_EQ(rawChunked.status, 401);
}

TEST_F(ApiLimitsTest, BadTokenOnUnknownRouteIs401) {
  EXPECT_EQ(call("GET", "/nowhere", "wrong").status, 401);
  EXPECT_EQ(call("PUT", "/api/v1/sandboxes", "").status, 401);
}

TEST_F(ApiLimitsTest, NotFoundAndMethodNotAllowedComeBeforeBodyChecks) {
  std::string huge(3 << 20, 'x');
  // Unknown sandbox with an oversized / non-JSON / malformed body → 404.
  EXPECT_EQ(call("PATCH", "/api/v1/sandboxes/nope/env", kAliceToken, huge).status, 404);
  EXPECT_EQ(httpCall(port_, "PATCH", "/api/v1/sandboxes/nope/env", kAliceToken, "x=1", {},
                     "text/plain")
                .status,
            404);
  EXPECT_EQ(call("PATCH", "/api/v1/sandboxes/nope/env", kAliceToken, "{").status, 404);
  // Wrong method with a huge body → 405.
  EXPECT_EQ(call("PUT", "/api/v1/sandboxes", kAliceToken, huge).status, 405);
  EXPECT_EQ(call("POST", "/api/v1/nothing", kAliceToken, huge).status, 404);
}

TEST_F(ApiLimitsTest, TooLargeComesBeforeUnsupportedMediaTypeAndMalformedJson) {
  std::string huge(3 << 20, '{');
  auto r = httpCall(port_, "POST", "/api/v1/sandboxes", kAliceToken, huge, {}, "text/plain");
  EXPECT_EQ(r.status, 413);
  auto r2 = call("POST", "/api/v1/sandboxes", kAliceToken, huge);
  EXPECT_EQ(r2.status, 413);
  // 415 before 400.
  auto r3 = httpCall(port_, "POST", "/api/v1/sandboxes", kAliceToken, "{", {}, "text/plain");
  EXPECT_EQ(r3.status, 415);
}

TEST_F(ApiLimitsTest, MalformedJsonComesBeforeManagerValidation) {
  auto r = call("POST", "/api/v1/sandboxes", kAliceToken, R"({"name": "BAD NAME",)");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(manager_->calls(), 0);
}

TEST_F(ApiLimitsTest, BodyOnABodylessRouteIsIgnoredButBounded) {
  manager_->seed("demo", "alice");
  EXPECT_EQ(call("POST", "/api/v1/sandboxes/demo/stop", kAliceToken, "{}").status, 202);
  EXPECT_EQ(call("POST", "/api/v1/sandboxes/demo/stop", kAliceToken, std::string(3 << 20, ' '))
                .status,
            413);
}

TEST_F(ApiLimitsTest, KeepAliveConnectionServesSeveralRequests) {
  // cpprestsdk's client reuses the connection; several answers in a row must all arrive.
  web::http::client::http_client client("http://127.0.0.1:" + std::to_string(port_));
  for (int i = 0; i < 5; ++i) {
    web::http::http_request req("POST");
    req.set_request_uri("/api/v1/sandboxes");
    req.headers().add("Authorization", std::string("Bearer ") + kAliceToken);
    req.set_body(std::string(i % 2 == 0 ? "{" : "x"), "application/json");
    auto resp = client.request(req).get();
    EXPECT_EQ(resp.status_code(), 400);
  }
}

class ApiSlowBodyTest : public ApiServerFixture {
 protected:
  void configureOptions(api::ApiServerOptions& options) override {
    options.bodyReadTimeout = std::chrono::milliseconds(300);
  }
};

TEST_F(ApiSlowBodyTest, BodyThatStopsArrivingIs408) {
  // Content-Length promises 100 bytes, 10 arrive, then the client waits.
  auto started = std::chrono::steady_clock::now();
  auto r = raw(rawRequest("POST", "/api/v1/sandboxes",
                          {kAuth, "Content-Type: application/json", "Content-Length: 100"},
                          "{\"name\":\"x", /*contentLength=*/false));
  EXPECT_EQ(r.status, 408) << r.raw;
  EXPECT_EQ(r.errorCode(), "request_timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_EQ(manager_->calls(), 0);
  EXPECT_EQ(call("GET", "/healthz", "").status, 200);
}

TEST_F(ApiSlowBodyTest, EarlyAnswerIsNotHeldBackByABodyThatNeverComes) {
  // 401 is decided from the headers; the missing body must not hold the answer forever.
  auto r = raw(rawRequest("POST", "/api/v1/sandboxes",
                          {"Authorization: Bearer wrong", "Content-Type: application/json",
                           "Content-Length: 100000"},
                          "{", /*contentLength=*/false));
  EXPECT_EQ(r.status, 401) << r.raw;
  auto chunkedStall = raw(rawRequest("POST", "/api/v1/sandboxes",
                                     {kAuth, "Content-Type: application/json",
                                      "Transfer-Encoding: chunked"},
                                     "5\r\n{\"nam", /*contentLength=*/false));
  EXPECT_EQ(chunkedStall.status, 408) << chunkedStall.raw;
}

TEST_F(ApiSlowBodyTest, OversizedChunkedBodyThenStallStillGets413) {
  std::string body = chunked(std::string(2 << 20, 'x'), 65536);
  body.resize(body.size() - 5);  // not terminated; the client then waits
  auto r = raw(rawRequest("POST", "/api/v1/sandboxes",
                          {kAuth, "Content-Type: application/json", "Transfer-Encoding: chunked"},
                          body, /*contentLength=*/false));
  EXPECT_EQ(r.status, 413) << r.raw.substr(0, 200);
}

}  // namespace
}  // namespace sandboxd::testing
