// Live event streams end to end, against a real `sandboxd serve --kube memory` child: the
// stream starts with the current state and follows a sandbox through its lifecycle with the
// same JSON GET answers; another user sees none of it; Last-Event-ID resumes; stream tickets
// are single-use and open only streams; limits answer 429 with the error envelope; heartbeats
// come; an admin's ?user= narrows a stream (anyone else's only to themselves); /metrics counts
// the streams; SIGTERM ends open streams and the server exits cleanly.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "api/api_test_support.h"
#include "api/sse_client.h"
#include "support/child_process.h"

namespace sandboxd::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

std::string makeDir(const std::string& tag) {
  fs::path dir = fs::temp_directory_path() /
                 ("sandboxd-serve-events-" + tag + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "config.yaml") << "server:\n"
                                        "  memoryReadyDelayMs: 200\n"
                                        "  events:\n"
                                        "    maxStreams: 50\n"
                                        "    maxStreamsPerUser: 3\n"
                                        "    heartbeatMs: 300\n"
                                        "    ticketTtlMs: 10000\n";
  return dir.string();
}

bool isSandbox(const SseEvent& e, const std::string& name, const std::string& status = "") {
  if (e.type != "sandbox") {
    return false;
  }
  json j = e.json();
  return j.is_object() && j.value("name", "") == name &&
         (status.empty() || j.value("status", "") == status);
}

class ServeEventsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = makeDir("suite");
    server_ = std::make_unique<ServeProcess>();
    if (!server_->start(dir_, {"--kube", "memory", "--config", dir_ + "/config.yaml"})) {
      return;
    }
    for (const char* user : {"alice", "bob", "carol", "dave", "erin"}) {
      tokens_[user] = server_->createToken(user);
    }
    tokens_["root"] = server_->createToken("root", true);
  }
  static void TearDownTestSuite() {
    if (server_ && server_->running()) {
      server_->stop();
    }
    server_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void SetUp() override {
    ASSERT_TRUE(server_->running()) << "serve did not come up; log:\n" << server_->log();
    for (const auto& [user, token] : tokens_) {
      ASSERT_FALSE(token.empty()) << "token create failed for " << user;
    }
  }

  static HttpResult call(const std::string& method, const std::string& path,
                         const std::string& user, const std::string& body = "") {
    return httpCall(server_->port(), method, path, tokens_.at(user), body);
  }
  static void openStream(SseClient& client, const std::string& user,
                         const std::string& path = "/api/v1/events",
                         const std::string& lastEventId = "") {
    ASSERT_TRUE(client.open(server_->port(), path, tokens_.at(user), lastEventId));
    ASSERT_EQ(client.status, 200) << client.body;
    ASSERT_EQ(client.headers["content-type"].rfind("text/event-stream", 0), 0u);
  }

  static std::string dir_;
  static std::unique_ptr<ServeProcess> server_;
  static std::map<std::string, std::string> tokens_;
};

std::string ServeEventsTest::dir_;
std::unique_ptr<ServeProcess> ServeEventsTest::server_;
std::map<std::string, std::string> ServeEventsTest::tokens_;

TEST_F(ServeEventsTest, AStreamFollowsALifecycleWithTheJsonGetAnswersAndOthersSeeNothing) {
  ASSERT_EQ(call("POST", "/api/v1/sandboxes", "alice", R"({"name":"ev-life"})").status, 201);
  SseClient alice, bob, admin;
  openStream(alice, "alice");
  openStream(bob, "bob");
  openStream(admin, "root");

  // It starts with a reset and the current state.
  auto first = alice.next(10s);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->type, "reset");
  bool found = false;
  auto events = alice.until([](const SseEvent& e) { return isSandbox(e, "ev-life", "RUNNING"); },
                            30s, &found);
  ASSERT_TRUE(found) << "never RUNNING";

  // Settled: the event is exactly what GET answers.
  HttpResult got = call("GET", "/api/v1/sandboxes/ev-life", "alice");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(events.back().json(), got.json());

  ASSERT_EQ(call("POST", "/api/v1/sandboxes/ev-life/stop", "alice").status, 202);
  auto stopped = alice.until([](const SseEvent& e) { return isSandbox(e, "ev-life", "STOPPED"); },
                             30s, &found);
  ASSERT_TRUE(found) << "never STOPPED";
  events.insert(events.end(), stopped.begin(), stopped.end());
  ASSERT_EQ(call("POST", "/api/v1/sandboxes/ev-life/start", "alice").status, 202);
  auto started = alice.until([](const SseEvent& e) { return isSandbox(e, "ev-life", "RUNNING"); },
                             30s, &found);
  ASSERT_TRUE(found) << "never RUNNING again";
  events.insert(events.end(), started.begin(), started.end());
  ASSERT_EQ(call("DELETE", "/api/v1/sandboxes/ev-life?purge=true", "alice").status, 202);
  auto deleted = alice.until(
      [](const SseEvent& e) { return e.type == "deleted" && e.json().value("name", "") == "ev-life"; },
      30s, &found);
  ASSERT_TRUE(found) << "never deleted";
  events.insert(events.end(), deleted.begin(), deleted.end());

  // Every event has an id; the operations' state changes came too (stop, start done).
  std::set<std::string> statuses;
  std::set<std::string> doneOps;
  for (const auto& e : events) {
    EXPECT_TRUE(e.hasId && !e.id.empty()) << e.type << " " << e.data;
    if (e.type == "sandbox") {
      statuses.insert(e.json().value("status", ""));
    }
    if (e.type == "operation" && e.json().value("state", "") == "done") {
      doneOps.insert(e.json().value("kind", ""));
    }
  }
  EXPECT_TRUE(statuses.count("STOPPED") && statuses.count("RUNNING"));
  EXPECT_TRUE(doneOps.count("stop") && doneOps.count("start")) << "operations seen done: "
                                                                 << doneOps.size();

  // The admin saw it too.
  admin.until([](const SseEvent& e) { return e.type == "deleted"; }, 30s, &found);
  EXPECT_TRUE(found);

  // Bob: a marker of his own comes; nothing of alice's before it.
  ASSERT_EQ(call("POST", "/api/v1/sandboxes", "bob", R"({"name":"ev-bob-marker"})").status, 201);
  auto bobs = bob.until([](const SseEvent& e) { return isSandbox(e, "ev-bob-marker"); }, 30s,
                        &found);
  ASSERT_TRUE(found);
  for (const auto& e : bobs) {
    EXPECT_EQ(e.data.find("ev-life"), std::string::npos) << e.type << " " << e.data;
  }
  // And bob's sandbox stream is a 404 for alice, as GET is.
  SseClient probe;
  ASSERT_TRUE(probe.open(server_->port(), "/api/v1/sandboxes/ev-bob-marker/events",
                         tokens_.at("alice")));
  EXPECT_EQ(probe.status, 404);
  EXPECT_EQ(json::parse(probe.body, nullptr, false)["error"]["code"], "not_found");
}

TEST_F(ServeEventsTest, OneSandboxStreamAndResumeWithLastEventId) {
  ASSERT_EQ(call("POST", "/api/v1/sandboxes", "carol", R"({"name":"ev-one"})").status, 201);
  ASSERT_EQ(call("POST", "/api/v1/sandboxes", "carol", R"({"name":"ev-two"})").status, 201);
  std::string lastId;
  {
    SseClient one;
    openStream(one, "carol", "/api/v1/sandboxes/ev-one/events");
    bool found = false;
    auto events = one.until([](const SseEvent& e) { return isSandbox(e, "ev-one", "RUNNING"); },
                            30s, &found);
    ASSERT_TRUE(found);
    for (const auto& e : events) {
      EXPECT_EQ(e.data.find("ev-two"), std::string::npos) << "another sandbox's event";
    }
    lastId = events.back().id;
  }
  ASSERT_EQ(call("POST", "/api/v1/sandboxes/ev-one/stop", "carol").status, 202);
  // Resuming: no reset, the events after lastId, starting with what changed.
  SseClient resumed;
  openStream(resumed, "carol", "/api/v1/sandboxes/ev-one/events", lastId);
  auto first = resumed.next(30s);
  ASSERT_TRUE(first);
  EXPECT_NE(first->type, "reset");
  bool found = false;
  resumed.until([](const SseEvent& e) { return isSandbox(e, "ev-one", "STOPPED"); }, 30s,
                &found);
  EXPECT_TRUE(found);
  // An id the server cannot resume from starts afresh.
  SseClient afresh;
  openStream(afresh, "carol", "/api/v1/events", "not-an-id");
  auto reset = afresh.next(10s);
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->type, "reset");
}

TEST_F(ServeEventsTest, TicketsAreSingleUseAndOpenOnlyStreams) {
  HttpResult issued = call("POST", "/api/v1/events/tickets", "dave");
  ASSERT_EQ(issued.status, 201) << issued.body;
  const std::string ticket = issued.json().value("ticket", "");
  ASSERT_GE(ticket.size(), 32u);
  // Not on another route.
  EXPECT_EQ(httpCall(server_->port(), "GET", "/api/v1/sandboxes?ticket=" + ticket, "").status,
            401);
  SseClient stream;
  ASSERT_TRUE(stream.open(server_->port(), "/api/v1/events?ticket=" + ticket, ""));
  EXPECT_EQ(stream.status, 200);
  auto reset = stream.next(10s);
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->type, "reset");
  SseClient again;
  ASSERT_TRUE(again.open(server_->port(), "/api/v1/events?ticket=" + ticket, ""));
  EXPECT_EQ(again.status, 401);
  EXPECT_EQ(json::parse(again.body, nullptr, false)["error"]["code"], "unauthenticated");
  SseClient none;
  ASSERT_TRUE(none.open(server_->port(), "/api/v1/events", ""));
  EXPECT_EQ(none.status, 401);
  // The ticket never reaches the log.
  EXPECT_EQ(server_->log().find(ticket), std::string::npos);
}

TEST_F(ServeEventsTest, PerUserLimitAnswers429UntilAStreamCloses) {
  std::vector<std::unique_ptr<SseClient>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<SseClient>());
    openStream(*open.back(), "erin");
  }
  SseClient over;
  ASSERT_TRUE(over.open(server_->port(), "/api/v1/events", tokens_.at("erin")));
  EXPECT_EQ(over.status, 429);
  EXPECT_EQ(json::parse(over.body, nullptr, false)["error"]["code"], "throttled");
  // Another user is not held back by erin's streams.
  SseClient other;
  openStream(other, "dave");
  // A client that goes away frees its place (noticed at a heartbeat).
  open.front()->close();
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    SseClient retry;
    ASSERT_TRUE(retry.open(server_->port(), "/api/v1/events", tokens_.at("erin")));
    status = retry.status;
    if (status != 200) {
      std::this_thread::sleep_for(100ms);
    }
  }
  EXPECT_EQ(status, 200);
  // Heartbeats keep coming on an idle stream.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (open.back()->comments() == 0 && std::chrono::steady_clock::now() < deadline) {
    open.back()->next(500ms);
  }
  EXPECT_GT(open.back()->comments(), 0);
}

// The value of an unlabelled metric on a /metrics page (-1 when absent).
double metricValue(const std::string& page, const std::string& name) {
  const std::string key = "\n" + name + " ";
  size_t at = page.find(key);
  return at == std::string::npos ? -1 : std::atof(page.c_str() + at + key.size());
}

TEST_F(ServeEventsTest, AUserFilterIsForAdminsAndStreamsAreCountedInMetrics) {
  ASSERT_EQ(call("POST", "/api/v1/sandboxes", "dave", R"({"name":"ev-uf-dave"})").status, 201);
  ASSERT_EQ(call("POST", "/api/v1/sandboxes", "bob", R"({"name":"ev-uf-bob"})").status, 201);
  // An admin narrowed to dave: dave's sandboxes, never bob's, from the start on.
  SseClient root;
  openStream(root, "root", "/api/v1/events?user=dave");
  bool found = false;
  auto events = root.until(
      [](const SseEvent& e) { return isSandbox(e, "ev-uf-dave", "RUNNING"); }, 30s, &found);
  ASSERT_TRUE(found);
  ASSERT_EQ(call("POST", "/api/v1/sandboxes/ev-uf-bob/stop", "bob").status, 202);
  ASSERT_EQ(call("POST", "/api/v1/sandboxes/ev-uf-dave/stop", "dave").status, 202);
  auto more = root.until(
      [](const SseEvent& e) { return isSandbox(e, "ev-uf-dave", "STOPPED"); }, 30s, &found);
  ASSERT_TRUE(found);
  events.insert(events.end(), more.begin(), more.end());
  for (const auto& e : events) {
    EXPECT_EQ(e.data.find("ev-uf-bob"), std::string::npos) << "bob's sandbox on dave's stream";
  }
  // Anyone else may name only themselves, as the list's user=.
  SseClient self;
  openStream(self, "bob", "/api/v1/events?user=bob");
  SseClient other;
  ASSERT_TRUE(other.open(server_->port(), "/api/v1/events?user=dave", tokens_.at("bob")));
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(json::parse(other.body, nullptr, false)["error"]["code"], "permission_denied");
  SseClient empty;
  ASSERT_TRUE(empty.open(server_->port(), "/api/v1/events?user=", tokens_.at("root")));
  EXPECT_EQ(empty.status, 422);
  // /metrics counts the streams: these two are open, and at least they were opened.
  auto page = httpCall(server_->port(), "GET", "/metrics", tokens_.at("root"));
  ASSERT_EQ(page.status, 200);
  EXPECT_GE(metricValue(page.body, "sandboxd_event_streams_open"), 2);
  EXPECT_GE(metricValue(page.body, "sandboxd_event_streams_opened_total"), 2);
  EXPECT_GE(metricValue(page.body, "sandboxd_event_streams_reset_total"), 0);
  EXPECT_GE(metricValue(page.body, "sandboxd_event_streams_refused_total"), 0);
  // A refusal is counted.
  const double refused = metricValue(page.body, "sandboxd_event_streams_refused_total");
  std::vector<std::unique_ptr<SseClient>> held;
  int status = 200;
  for (int i = 0; i < 4 && status == 200; ++i) {  // maxStreamsPerUser is 3; self is one
    held.push_back(std::make_unique<SseClient>());
    ASSERT_TRUE(held.back()->open(server_->port(), "/api/v1/events", tokens_.at("bob")));
    status = held.back()->status;
  }
  EXPECT_EQ(status, 429);
  page = httpCall(server_->port(), "GET", "/metrics", tokens_.at("root"));
  EXPECT_EQ(metricValue(page.body, "sandboxd_event_streams_refused_total"), refused + 1);
}

TEST(ServeEventsSigtermTest, SigtermEndsOpenStreamsAndTheServerExitsCleanly) {
  const std::string dir = makeDir("sigterm");
  ServeProcess server;
  ASSERT_TRUE(server.start(dir, {"--kube", "memory", "--config", dir + "/config.yaml"}))
      << server.log();
  const std::string token = server.createToken("alice");
  ASSERT_FALSE(token.empty());
  SseClient a, b;
  ASSERT_TRUE(a.open(server.port(), "/api/v1/events", token));
  ASSERT_TRUE(b.open(server.port(), "/api/v1/events", token));
  ASSERT_EQ(a.status, 200);
  ASSERT_TRUE(a.next(10s));
  EXPECT_EQ(server.stop(SIGTERM, 30s), 0) << server.log();
  EXPECT_TRUE(a.waitEnd(5s));
  EXPECT_TRUE(b.waitEnd(5s));
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace sandboxd::testing
