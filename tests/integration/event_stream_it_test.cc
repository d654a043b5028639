// Live events (GET /api/v1/events) from `sandboxd serve` against the real control plane: a
// stream follows a real create → RUNNING → stop → start → delete as the watch cache sees it,
// a reconnect with Last-Event-ID resumes where it left off, and another user sees nothing.
#include <set>

#include "api/sse_client.h"
#include "integration/served_cluster.h"

namespace sandboxd::integration {
namespace {

using ::sandboxd::testing::SseClient;
using ::sandboxd::testing::SseEvent;
using namespace std::chrono_literals;

class EventStreamItTest : public ServedClusterTest {};

bool isSandbox(const SseEvent& e, const std::string& name, const std::string& status) {
  if (e.type != "sandbox") {
    return false;
  }
  const json j = e.json();
  return j.is_object() && j.value("name", "") == name && j.value("status", "") == status;
}

TEST_F(EventStreamItTest, AStreamFollowsARealLifecycleResumesAndShowsNothingToOthers) {
  startServe(kubeconfigPath());
  ASSERT_FALSE(HasFatalFailure());
  const std::string bobToken = serve_.createToken("bob");
  ASSERT_FALSE(bobToken.empty());
  SseClient alice;
  SseClient bob;
  ASSERT_TRUE(alice.open(serve_.port(), "/api/v1/events", token_));
  ASSERT_EQ(alice.status, 200) << alice.body;
  ASSERT_TRUE(bob.open(serve_.port(), "/api/v1/events", bobToken));
  ASSERT_EQ(bob.status, 200) << bob.body;
  auto first = alice.next(10s);
  ASSERT_TRUE(first) << "no first event; serve's log:\n" << serve_.log();
  EXPECT_EQ(first->type, "reset");

  // Create: every status it passes through on the way to RUNNING, each event with an id.
  ASSERT_TRUE(lifecycle("evit", "create"));
  bool found = false;
  std::vector<SseEvent> events =
      alice.until([](const SseEvent& e) { return isSandbox(e, "evit", "RUNNING"); }, 60s, &found);
  ASSERT_TRUE(found) << "never RUNNING";
  std::set<std::string> before;
  for (const auto& e : events) {
    EXPECT_TRUE(e.hasId && !e.id.empty()) << e.type << " " << e.data;
    if (e.type == "sandbox" && e.json().value("name", "") == "evit") {
      before.insert(e.json().value("status", ""));
    }
  }
  EXPECT_TRUE(before.count("CREATING") + before.count("STARTING") > 0)
      << "no progress before RUNNING: " << ::testing::PrintToString(before);
  // The settled event is what GET answers.
  EXPECT_EQ(events.back().json(), call("GET", "/api/v1/sandboxes/evit").json());
  const std::string runningId = events.back().id;

  ASSERT_TRUE(lifecycle("evit", "stop"));
  alice.until([](const SseEvent& e) { return isSandbox(e, "evit", "STOPPED"); }, 60s, &found);
  ASSERT_TRUE(found) << "never STOPPED";
  ASSERT_TRUE(lifecycle("evit", "start"));
  alice.until([](const SseEvent& e) { return isSandbox(e, "evit", "RUNNING"); }, 60s, &found);
  ASSERT_TRUE(found) << "never RUNNING again";

  // A reconnect after the first RUNNING gets what followed it (STOPPED), no reset.
  SseClient resumed;
  ASSERT_TRUE(resumed.open(serve_.port(), "/api/v1/events", token_, runningId));
  ASSERT_EQ(resumed.status, 200) << resumed.body;
  auto next = resumed.next(10s);
  ASSERT_TRUE(next);
  EXPECT_NE(next->type, "reset") << next->data;
  std::vector<SseEvent> replayed = {*next};
  if (!isSandbox(*next, "evit", "STOPPED")) {
    replayed = resumed.until([](const SseEvent& e) { return isSandbox(e, "evit", "STOPPED"); },
                             10s, &found);
    EXPECT_TRUE(found) << "the resumed stream did not replay STOPPED";
  }
  for (const auto& e : replayed) {
    EXPECT_NE(e.type, "reset");
  }

  EXPECT_TRUE(purge("evit"));
  alice.until(
      [](const SseEvent& e) { return e.type == "deleted" && e.json().value("name", "") == "evit"; },
      60s, &found);
  EXPECT_TRUE(found) << "never deleted";

  // Bob: a sandbox of his own shows up; nothing of alice's came before it.
  auto created = ::sandboxd::testing::httpCall(serve_.port(), "POST", "/api/v1/sandboxes",
                                               bobToken, R"({"name":"evit-bob"})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto bobs = bob.until(
      [](const SseEvent& e) {
        return e.type == "sandbox" && e.json().value("name", "") == "evit-bob";
      },
      60s, &found);
  ASSERT_TRUE(found);
  for (const auto& e : bobs) {
    EXPECT_EQ(e.data.find("\"evit\""), std::string::npos) << e.type << " " << e.data;
  }
  auto purged = ::sandboxd::testing::httpCall(serve_.port(), "DELETE",
                                              "/api/v1/sandboxes/evit-bob?purge=true", bobToken, "");
  EXPECT_EQ(purged.status, 202) << purged.body;
}

}  // namespace
}  // namespace sandboxd::integration
