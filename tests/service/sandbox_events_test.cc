// The event hub: what a subscription starts with (reset + current state, or a replay after a
// Last-Event-ID), which events reach which scope, dedup of unchanged states, the bounded
// buffer, and a sink that refuses being dropped. And the feed: changes turned into events
// through the lookups, deletions, operation state changes.
#include "sandboxd/service/sandbox_events.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sandboxd/service/sandbox_changes.h"
#include "sandboxd/service/sandbox_event_feed.h"

namespace sandboxd {
namespace {

struct Received {
  std::vector<SandboxEvent> events;
  SandboxEventHub::Sink sink() {
    return [this](const SandboxEventPtr& e) {
      events.push_back(*e);
      return true;
    };
  }
  std::vector<std::string> summary() const {
    std::vector<std::string> out;
    for (const auto& e : events) {
      out.push_back(e.type + ":" + e.name + (e.data.empty() ? "" : "=" + e.data));
    }
    return out;
  }
};

EventScope userScope(const std::string& user) {
  EventScope s;
  s.user = user;
  return s;
}

EventScope adminScope() {
  EventScope s;
  s.allUsers = true;
  return s;
}

TEST(SandboxEventHubTest, FreshSubscriptionGetsResetThenCurrentStateOfItsOwnSandboxesOnly) {
  SandboxEventHub hub({16}, "e1");
  hub.publishSandbox("a1", "alice", "{\"v\":1}");
  hub.publishSandbox("b1", "bob", "{\"v\":2}");
  hub.publishSandbox("a2", "alice", "{\"v\":3}");
  Received alice;
  ASSERT_TRUE(hub.subscribe(userScope("alice"), "", alice.sink()));
  EXPECT_EQ(alice.summary(), (std::vector<std::string>{"reset:={}", "sandbox:a1={\"v\":1}",
                                                       "sandbox:a2={\"v\":3}"}));
  // All but the last of the start are partial; the last names the position.
  EXPECT_EQ(alice.events[0].id, "e1.3.p");
  EXPECT_EQ(alice.events[1].id, "e1.3.p");
  EXPECT_EQ(alice.events[2].id, "e1.3");
  Received admin;
  ASSERT_TRUE(hub.subscribe(adminScope(), "", admin.sink()));
  EXPECT_EQ(admin.events.size(), 4u);
}

TEST(SandboxEventHubTest, LaterEventsReachOnlyTheScopesThatCoverThem) {
  SandboxEventHub hub({16}, "e1");
  Received alice, bob, one, admin;
  ASSERT_TRUE(hub.subscribe(userScope("alice"), "", alice.sink()));
  ASSERT_TRUE(hub.subscribe(userScope("bob"), "", bob.sink()));
  EventScope justA1 = userScope("alice");
  justA1.name = "a1";
  ASSERT_TRUE(hub.subscribe(justA1, "", one.sink()));
  ASSERT_TRUE(hub.subscribe(adminScope(), "", admin.sink()));
  hub.publishSandbox("a1", "alice", "{\"s\":\"CREATING\"}");
  hub.publishSandbox("a2", "alice", "{\"s\":\"CREATING\"}");
  hub.publishSandbox("a1", "alice", "{\"s\":\"RUNNING\"}");
  hub.publishDeleted("a1");
  hub.publishOperation("a2", "alice", "{\"id\":7}");
  EXPECT_EQ(alice.summary(),
            (std::vector<std::string>{"reset:={}", "sandbox:a1={\"s\":\"CREATING\"}",
                                      "sandbox:a2={\"s\":\"CREATING\"}",
                                      "sandbox:a1={\"s\":\"RUNNING\"}",
                                      "deleted:a1={\"name\":\"a1\"}", "operation:a2={\"id\":7}"}));
  EXPECT_EQ(bob.summary(), (std::vector<std::string>{"reset:={}"}));
  EXPECT_EQ(one.summary(), (std::vector<std::string>{"reset:={}",
                                                     "sandbox:a1={\"s\":\"CREATING\"}",
                                                     "sandbox:a1={\"s\":\"RUNNING\"}",
                                                     "deleted:a1={\"name\":\"a1\"}"}));
  EXPECT_EQ(admin.events.size(), alice.events.size());
  // Ids count up.
  EXPECT_EQ(alice.events[1].id, "e1.1");
  EXPECT_EQ(alice.events[5].id, "e1.5");
}

TEST(SandboxEventHubTest, UnchangedStateIsNoEventAndUnknownDeletionIsNone) {
  SandboxEventHub hub({16}, "e1");
  hub.publishSandbox("a1", "alice", "{\"v\":1}");
  hub.publishSandbox("a1", "alice", "{\"v\":1}");
  hub.publishDeleted("never");
  EXPECT_EQ(hub.lastSeq(), 1u);
  hub.publishDeleted("a1");
  hub.publishDeleted("a1");
  EXPECT_EQ(hub.lastSeq(), 2u);
  EXPECT_EQ(hub.sandboxesKnown(), 0u);
}

TEST(SandboxEventHubTest, ResumeReplaysWhatCameAfterTheLastEventId) {
  SandboxEventHub hub({16}, "e1");
  hub.publishSandbox("a1", "alice", "{\"v\":1}");  // e1.1
  hub.publishSandbox("b1", "bob", "{\"v\":1}");    // e1.2
  hub.publishSandbox("a1", "alice", "{\"v\":2}");  // e1.3
  hub.publishSandbox("a2", "alice", "{\"v\":1}");  // e1.4
  Received alice;
  ASSERT_TRUE(hub.subscribe(userScope("alice"), "e1.1", alice.sink()));
  EXPECT_EQ(alice.summary(), (std::vector<std::string>{"sandbox:a1={\"v\":2}",
                                                       "sandbox:a2={\"v\":1}"}));
  EXPECT_EQ(alice.events[0].id, "e1.3");
  // Up to date: nothing to replay, and no reset.
  Received current;
  ASSERT_TRUE(hub.subscribe(userScope("alice"), "e1.4", current.sink()));
  EXPECT_TRUE(current.events.empty());
  hub.publishSandbox("a2", "alice", "{\"v\":2}");
  EXPECT_EQ(current.summary(), (std::vector<std::string>{"sandbox:a2={\"v\":2}"}));
}

TEST(SandboxEventHubTest, TooFarBehindOtherEpochsPartialOrBadIdsStartAfresh) {
  SandboxEventHub hub({2}, "e1");
  for (int i = 1; i <= 5; ++i) {
    hub.publishSandbox("a1", "alice", "{\"v\":" + std::to_string(i) + "}");
  }
  // Buffer holds e1.4 and e1.5: resuming after e1.3 works, after e1.2 does not.
  Received ok;
  ASSERT_TRUE(hub.subscribe(userScope("alice"), "e1.3", ok.sink()));
  EXPECT_EQ(ok.summary(), (std::vector<std::string>{"sandbox:a1={\"v\":4}",
                                                    "sandbox:a1={\"v\":5}"}));
  for (const std::string id : {"e1.2", "e0.5", "e1.5.p", "e1.99", "e1.", "x", "e1.-1",
                               "e1.99999999999999999999999"}) {
    Received r;
    ASSERT_TRUE(hub.subscribe(userScope("alice"), id, r.sink())) << id;
    EXPECT_EQ(r.summary(), (std::vector<std::string>{"reset:={}", "sandbox:a1={\"v\":5}"}))
        << id;
  }
}

TEST(SandboxEventHubTest, ASinkThatRefusesIsDropped) {
  SandboxEventHub hub({16}, "e1");
  int taken = 0;
  ASSERT_TRUE(hub.subscribe(adminScope(), "", [&](const SandboxEventPtr&) {
    return ++taken < 3;  // takes the reset, one event, refuses the next
  }));
  EXPECT_EQ(hub.subscriptions(), 1u);
  hub.publishSandbox("a1", "alice", "{}");
  hub.publishSandbox("a2", "alice", "{}");
  EXPECT_EQ(hub.subscriptions(), 0u);
  hub.publishSandbox("a3", "alice", "{}");
  EXPECT_EQ(taken, 3);
  // One that refuses its start is not subscribed at all.
  EXPECT_FALSE(hub.subscribe(adminScope(), "", [](const SandboxEventPtr&) { return false; }));
  EXPECT_EQ(hub.subscriptions(), 0u);
}

// --- the feed -------------------------------------------------------------------------------

struct FakeWorld {
  std::map<std::string, SandboxSnapshot> sandboxes;
  std::map<std::string, std::vector<OperationSnapshot>> operations;
  int gets = 0;
  SandboxEventLookups lookups() {
    SandboxEventLookups l;
    l.listAll = [this]() -> StatusOr<std::vector<SandboxSnapshot>> {
      std::vector<SandboxSnapshot> out;
      for (const auto& e : sandboxes) {
        out.push_back(e.second);
      }
      return out;
    };
    l.get = [this](const std::string& name) -> StatusOr<SandboxSnapshot> {
      ++gets;
      auto it = sandboxes.find(name);
      if (it == sandboxes.end()) {
        return notFound("no sandbox " + name);
      }
      return it->second;
    };
    l.operations = [this](const std::string& name) -> StatusOr<std::vector<OperationSnapshot>> {
      if (sandboxes.count(name) == 0) {
        return notFound("no sandbox " + name);
      }
      return operations[name];
    };
    return l;
  }
};

TEST(SandboxEventFeedTest, ChangesBecomeEventsOfTheCurrentStateAndDeletions) {
  auto hub = std::make_shared<SandboxEventHub>(SandboxEventHub::Options{64}, "e1");
  auto changes = std::make_shared<SandboxChanges>();
  FakeWorld world;
  world.sandboxes["a1"] = {"a1", "alice", "{\"status\":\"RUNNING\"}"};
  SandboxEventFeed feed(hub, changes, world.lookups());
  // Not started (no thread): apply() by hand.
  Received alice;
  world.sandboxes["a2"] = {"a2", "alice", "{\"status\":\"CREATING\"}"};
  feed.apply({{"a1", true, false}, {"a2", true, false}});
  ASSERT_TRUE(hub->subscribe(userScope("alice"), "", alice.sink()));
  EXPECT_EQ(alice.summary(),
            (std::vector<std::string>{"reset:={}", "sandbox:a1={\"status\":\"RUNNING\"}",
                                      "sandbox:a2={\"status\":\"CREATING\"}"}));
  world.sandboxes["a2"].json = "{\"status\":\"RUNNING\"}";
  world.sandboxes.erase("a1");
  feed.apply({{"a1", true, false}, {"a2", true, false}});
  EXPECT_EQ(alice.summary(),
            (std::vector<std::string>{"reset:={}", "sandbox:a1={\"status\":\"RUNNING\"}",
                                      "sandbox:a2={\"status\":\"CREATING\"}",
                                      "deleted:a1={\"name\":\"a1\"}",
                                      "sandbox:a2={\"status\":\"RUNNING\"}"}));
}

TEST(SandboxEventFeedTest, OperationStateChangesAreEventsOnce) {
  auto hub = std::make_shared<SandboxEventHub>(SandboxEventHub::Options{64}, "e1");
  auto changes = std::make_shared<SandboxChanges>();
  FakeWorld world;
  world.sandboxes["a1"] = {"a1", "alice", "{}"};
  SandboxEventFeed feed(hub, changes, world.lookups());
  Received alice;
  ASSERT_TRUE(hub->subscribe(userScope("alice"), "", alice.sink()));
  world.operations["a1"] = {{2, "pending", "{\"id\":2,\"state\":\"pending\"}"},
                            {1, "done", "{\"id\":1,\"state\":\"done\"}"}};
  feed.apply({{"a1", false, true}});
  world.operations["a1"][0] = {2, "done", "{\"id\":2,\"state\":\"done\"}"};
  feed.apply({{"a1", false, true}});
  feed.apply({{"a1", false, true}});  // nothing new
  EXPECT_EQ(alice.summary(),
            (std::vector<std::string>{"reset:={}", "operation:a1={\"id\":1,\"state\":\"done\"}",
                                      "operation:a1={\"id\":2,\"state\":\"pending\"}",
                                      "operation:a1={\"id\":2,\"state\":\"done\"}"}));
}

TEST(SandboxEventFeedTest, TheThreadPublishesWhatTheChangesQueueReports) {
  auto hub = std::make_shared<SandboxEventHub>(SandboxEventHub::Options{64}, "e1");
  auto changes = std::make_shared<SandboxChanges>();
  std::atomic<int> version{1};
  auto current = [&version] {
    return SandboxSnapshot{"a1", "alice", "{\"v\":" + std::to_string(version.load()) + "}"};
  };
  SandboxEventLookups lookups;
  lookups.listAll = [&]() -> StatusOr<std::vector<SandboxSnapshot>> {
    return std::vector<SandboxSnapshot>{current()};
  };
  lookups.get = [&](const std::string& name) -> StatusOr<SandboxSnapshot> {
    if (name != "a1") {
      return notFound("no sandbox " + name);
    }
    return current();
  };
  lookups.operations = [](const std::string&) -> StatusOr<std::vector<OperationSnapshot>> {
    return std::vector<OperationSnapshot>{};
  };
  SandboxEventFeed feed(hub, changes, lookups);
  ASSERT_TRUE(feed.start().isOk());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> seen;
  ASSERT_TRUE(hub->subscribe(adminScope(), "", [&](const SandboxEventPtr& e) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(e->type + ":" + e->name + "=" + e->data);
    cv.notify_all();
    return true;
  }));
  changes->sandboxChanged("gone");  // never known: no event
  changes->sandboxChanged("a1");    // unchanged: no event
  version = 2;
  changes->sandboxChanged("a1");
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen.size() >= 3; });
  }
  feed.stop();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"reset:={}", "sandbox:a1={\"v\":1}",
                                            "sandbox:a1={\"v\":2}"}));
}

TEST(SandboxChangesTest, CoalescesAndNamesTheSandboxOfACachedObject) {
  SandboxChanges changes;
  changes.sandboxChanged("a");
  changes.operationsChanged("a");
  changes.sandboxChanged("b");
  json pod = {{"metadata", {{"name", "a-0"}, {"labels", {{"app", "a"}}}}}};
  changes.objectChanged(resources::pods(), pod, false);
  json sts = {{"metadata", {{"name", "c"}}}};
  changes.objectChanged(resources::statefulSets(), sts, false);
  json unlabelled = {{"metadata", {{"name", "x"}}}};
  changes.objectChanged(resources::pods(), unlabelled, false);
  auto taken = changes.take(std::chrono::milliseconds(0));
  ASSERT_EQ(taken.size(), 3u);
  EXPECT_EQ(taken[0].name, "a");
  EXPECT_TRUE(taken[0].record && taken[0].operations);
  EXPECT_EQ(taken[1].name, "b");
  EXPECT_TRUE(taken[1].record && !taken[1].operations);
  EXPECT_EQ(taken[2].name, "c");
  EXPECT_TRUE(changes.take(std::chrono::milliseconds(0)).empty());
  changes.close();
  changes.sandboxChanged("d");
  EXPECT_TRUE(changes.take(std::chrono::milliseconds(1000)).empty());
}

}  // namespace
}  // namespace sandboxd
