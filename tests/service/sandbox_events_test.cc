// The event hub: what a subscription starts with (reset + the current state read at that
// moment, or a replay after a Last-Event-ID), which events reach which scope, the wire text
// formatted once and shared, the bounded buffer, and a sink that refuses being dropped. And the
// feed: changes turned into events through the lookups, dedup of unchanged states, deletions,
// operation state changes, the watch cache's apply time carried to the event.
#include "sandboxd/service/sandbox_events.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
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

// What the hub reads as a new subscription's current state: here, a map.
struct State {
  std::map<std::string, SandboxSnapshot> sandboxes;
  int reads = 0;
  SandboxEventHub::Snapshot snapshot() {
    return [this](const EventScope& scope) -> StatusOr<std::vector<SandboxSnapshot>> {
      ++reads;
      std::vector<SandboxSnapshot> out;
      for (const auto& entry : sandboxes) {
        if (scope.covers(entry.second.user, entry.second.name)) {
          out.push_back(entry.second);
        }
      }
      return out;
    };
  }
  void set(const std::string& name, const std::string& user, const std::string& json) {
    sandboxes[name] = SandboxSnapshot{name, user, json};
  }
};

std::optional<uint64_t> subscribed(SandboxEventHub& hub, const EventScope& scope,
                                   const std::string& lastEventId, SandboxEventHub::Sink sink) {
  auto s = hub.subscribe(scope, lastEventId, std::move(sink));
  EXPECT_TRUE(s.isOk()) << s.status().toString();
  return s.isOk() ? *s : std::nullopt;
}

TEST(SandboxEventHubTest, FreshSubscriptionGetsResetThenCurrentStateOfItsOwnSandboxesOnly) {
  State state;
  SandboxEventHub hub({16}, "e1", state.snapshot());
  state.set("a1", "alice", "{\"v\":1}");
  state.set("b1", "bob", "{\"v\":2}");
  state.set("a2", "alice", "{\"v\":3}");
  hub.publishSandbox("a1", "alice", "{\"v\":1}");
  hub.publishSandbox("b1", "bob", "{\"v\":2}");
  hub.publishSandbox("a2", "alice", "{\"v\":3}");
  Received alice;
  ASSERT_TRUE(subscribed(hub, userScope("alice"), "", alice.sink()));
  EXPECT_EQ(alice.summary(), (std::vector<std::string>{"reset:={}", "sandbox:a1={\"v\":1}",
                                                       "sandbox:a2={\"v\":3}"}));
  // All but the last of the start are partial; the last names the position.
  EXPECT_EQ(alice.events[0].id, "e1.3.p");
  EXPECT_EQ(alice.events[1].id, "e1.3.p");
  EXPECT_EQ(alice.events[2].id, "e1.3");
  Received admin;
  ASSERT_TRUE(subscribed(hub, adminScope(), "", admin.sink()));
  EXPECT_EQ(admin.events.size(), 4u);
  // Nothing at all: the reset alone names the position.
  Received carol;
  ASSERT_TRUE(subscribed(hub, userScope("carol"), "", carol.sink()));
  ASSERT_EQ(carol.summary(), (std::vector<std::string>{"reset:={}"}));
  EXPECT_EQ(carol.events[0].id, "e1.3");
}

TEST(SandboxEventHubTest, TheCurrentStateIsReadWhenAStreamStartsAndNotKept) {
  State state;
  SandboxEventHub hub({2}, "e1", state.snapshot());
  for (int i = 0; i < 50; ++i) {
    hub.publishSandbox("s" + std::to_string(i), "alice", "{\"v\":1}");
  }
  // Only the bounded buffer holds event bytes; the current state comes from the read.
  EXPECT_EQ(hub.buffered(), 2u);
  EXPECT_EQ(state.reads, 0);
  state.set("s7", "alice", "{\"v\":9}");
  Received alice;
  ASSERT_TRUE(subscribed(hub, userScope("alice"), "", alice.sink()));
  EXPECT_EQ(alice.summary(), (std::vector<std::string>{"reset:={}", "sandbox:s7={\"v\":9}"}));
  EXPECT_EQ(state.reads, 1);
  // A resume from the buffer reads nothing.
  Received resumed;
  ASSERT_TRUE(subscribed(hub, userScope("alice"), "e1.49", resumed.sink()));
  EXPECT_EQ(resumed.summary(), (std::vector<std::string>{"sandbox:s49={\"v\":1}"}));
  EXPECT_EQ(state.reads, 1);
}

TEST(SandboxEventHubTest, AFailedReadOfTheCurrentStateIsAnErrorAndNoSubscription) {
  SandboxEventHub hub({16}, "e1", [](const EventScope&) -> StatusOr<std::vector<SandboxSnapshot>> {
    return unavailable("database is locked");
  });
  auto s = hub.subscribe(adminScope(), "", [](const SandboxEventPtr&) { return true; });
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.status().kind(), ErrorKind::Unavailable);
  EXPECT_EQ(hub.subscriptions(), 0u);
}

TEST(SandboxEventHubTest, AnEventsWireTextIsFormattedOnceAndSharedByEveryStream) {
  State state;
  SandboxEventHub::Options options{16};
  options.applyStamps = true;
  SandboxEventHub hub(options, "e1", state.snapshot());
  std::vector<SandboxEventPtr> one, two;
  ASSERT_TRUE(subscribed(hub, adminScope(), "", [&](const SandboxEventPtr& e) {
    one.push_back(e);
    return true;
  }));
  ASSERT_TRUE(subscribed(hub, userScope("alice"), "", [&](const SandboxEventPtr& e) {
    two.push_back(e);
    return true;
  }));
  hub.publishSandbox("a1", "alice", "{\"v\":1}", 123456789);
  hub.publishOperation("a1", "alice", "{\"id\":1}");
  ASSERT_EQ(one.size(), 3u);
  ASSERT_EQ(two.size(), 3u);
  EXPECT_EQ(one[1]->wire.get(), two[1]->wire.get());  // the same bytes, not a copy
  EXPECT_EQ(*one[1]->wire, ": applied 123456789\nevent: sandbox\nid: e1.1\ndata: {\"v\":1}\n\n");
  // No stamp where no watch-cache change caused it.
  EXPECT_EQ(*one[2]->wire, "event: operation\nid: e1.2\ndata: {\"id\":1}\n\n");
  // Without the diagnostics option, no stamp at all.
  SandboxEventHub plain({16}, "e2", state.snapshot());
  std::vector<SandboxEventPtr> got;
  ASSERT_TRUE(subscribed(plain, adminScope(), "", [&](const SandboxEventPtr& e) {
    got.push_back(e);
    return true;
  }));
  plain.publishSandbox("a1", "alice", "{}", 123456789);
  EXPECT_EQ(*got.back()->wire, "event: sandbox\nid: e2.1\ndata: {}\n\n");
}

TEST(SandboxEventHubTest, LaterEventsReachOnlyTheScopesThatCoverThem) {
  State state;
  SandboxEventHub hub({16}, "e1", state.snapshot());
  Received alice, bob, one, admin;
  ASSERT_TRUE(subscribed(hub, userScope("alice"), "", alice.sink()));
  ASSERT_TRUE(subscribed(hub, userScope("bob"), "", bob.sink()));
  EventScope justA1 = userScope("alice");
  justA1.name = "a1";
  ASSERT_TRUE(subscribed(hub, justA1, "", one.sink()));
  ASSERT_TRUE(subscribed(hub, adminScope(), "", admin.sink()));
  hub.publishSandbox("a1", "alice", "{\"s\":\"CREATING\"}");
  hub.publishSandbox("a2", "alice", "{\"s\":\"CREATING\"}");
  hub.publishSandbox("a1", "alice", "{\"s\":\"RUNNING\"}");
  hub.publishDeleted("a1", "alice");
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

TEST(SandboxEventHubTest, ResumeReplaysWhatCameAfterTheLastEventId) {
  State state;
  SandboxEventHub hub({16}, "e1", state.snapshot());
  hub.publishSandbox("a1", "alice", "{\"v\":1}");  // e1.1
  hub.publishSandbox("b1", "bob", "{\"v\":1}");    // e1.2
  hub.publishSandbox("a1", "alice", "{\"v\":2}");  // e1.3
  hub.publishSandbox("a2", "alice", "{\"v\":1}");  // e1.4
  Received alice;
  ASSERT_TRUE(subscribed(hub, userScope("alice"), "e1.1", alice.sink()));
  EXPECT_EQ(alice.summary(), (std::vector<std::string>{"sandbox:a1={\"v\":2}",
                                                       "sandbox:a2={\"v\":1}"}));
  EXPECT_EQ(alice.events[0].id, "e1.3");
  // Up to date: nothing to replay, and no reset.
  Received current;
  ASSERT_TRUE(subscribed(hub, userScope("alice"), "e1.4", current.sink()));
  EXPECT_TRUE(current.events.empty());
  hub.publishSandbox("a2", "alice", "{\"v\":2}");
  EXPECT_EQ(current.summary(), (std::vector<std::string>{"sandbox:a2={\"v\":2}"}));
}

TEST(SandboxEventHubTest, TooFarBehindOtherEpochsPartialOrBadIdsStartAfresh) {
  State state;
  SandboxEventHub hub({2}, "e1", state.snapshot());
  for (int i = 1; i <= 5; ++i) {
    hub.publishSandbox("a1", "alice", "{\"v\":" + std::to_string(i) + "}");
  }
  state.set("a1", "alice", "{\"v\":5}");
  // Buffer holds e1.4 and e1.5: resuming after e1.3 works, after e1.2 does not.
  Received ok;
  ASSERT_TRUE(subscribed(hub, userScope("alice"), "e1.3", ok.sink()));
  EXPECT_EQ(ok.summary(), (std::vector<std::string>{"sandbox:a1={\"v\":4}",
                                                    "sandbox:a1={\"v\":5}"}));
  for (const std::string id : {"e1.2", "e0.5", "e1.5.p", "e1.99", "e1.", "x", "e1.-1",
                               "e1.99999999999999999999999"}) {
    Received r;
    ASSERT_TRUE(subscribed(hub, userScope("alice"), id, r.sink())) << id;
    EXPECT_EQ(r.summary(), (std::vector<std::string>{"reset:={}", "sandbox:a1={\"v\":5}"}))
        << id;
  }
}

TEST(SandboxEventHubTest, ASinkThatRefusesIsDropped) {
  State state;
  SandboxEventHub hub({16}, "e1", state.snapshot());
  int taken = 0;
  ASSERT_TRUE(subscribed(hub, adminScope(), "", [&](const SandboxEventPtr&) {
    return ++taken < 3;  // takes the reset, one event, refuses the next
  }));
  EXPECT_EQ(hub.subscriptions(), 1u);
  hub.publishSandbox("a1", "alice", "{}");
  hub.publishSandbox("a2", "alice", "{}");
  EXPECT_EQ(hub.subscriptions(), 0u);
  hub.publishSandbox("a3", "alice", "{}");
  EXPECT_EQ(taken, 3);
  // One that refuses its start is not subscribed at all.
  EXPECT_FALSE(subscribed(hub, adminScope(), "", [](const SandboxEventPtr&) { return false; }));
  EXPECT_EQ(hub.subscriptions(), 0u);
}

// --- the feed -------------------------------------------------------------------------------

// The State, its operations, and a hub and a changes queue over it.
struct FakeWorld : State {
  std::map<std::string, std::vector<OperationSnapshot>> operations;
  std::shared_ptr<SandboxEventHub> hub =
      std::make_shared<SandboxEventHub>(SandboxEventHub::Options{64}, "e1", snapshot());
  std::shared_ptr<SandboxChanges> changes = std::make_shared<SandboxChanges>();
  SandboxEventLookups lookups() {
    SandboxEventLookups l;
    l.owners = [this]() -> StatusOr<std::vector<SandboxOwner>> {
      std::vector<SandboxOwner> out;
      for (const auto& e : sandboxes) {
        out.push_back({e.second.name, e.second.user});
      }
      return out;
    };
    l.inScope = snapshot();
    l.get = [this](const std::string& name) -> StatusOr<SandboxSnapshot> {
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
  FakeWorld world;
  auto& hub = world.hub;
  auto& changes = world.changes;
  world.sandboxes["a1"] = {"a1", "alice", "{\"status\":\"RUNNING\"}"};
  SandboxEventFeed feed(hub, changes, world.lookups());
  // Not started (no thread): apply() by hand.
  Received alice;
  world.sandboxes["a2"] = {"a2", "alice", "{\"status\":\"CREATING\"}"};
  ASSERT_TRUE(subscribed(*hub, userScope("alice"), "", alice.sink()));
  feed.apply({{"a1", true, false}, {"a2", true, false}});
  world.sandboxes["a2"].json = "{\"status\":\"RUNNING\"}";
  world.sandboxes.erase("a1");
  feed.apply({{"a1", true, false}, {"a2", true, false}});
  EXPECT_EQ(alice.summary(),
            (std::vector<std::string>{"reset:={}", "sandbox:a1={\"status\":\"RUNNING\"}",
                                      "sandbox:a2={\"status\":\"CREATING\"}",
                                      "sandbox:a1={\"status\":\"RUNNING\"}",
                                      "sandbox:a2={\"status\":\"CREATING\"}",
                                      "deleted:a1={\"name\":\"a1\"}",
                                      "sandbox:a2={\"status\":\"RUNNING\"}"}));
}

TEST(SandboxEventFeedTest, UnchangedStateIsNoEventAndUnknownDeletionIsNone) {
  FakeWorld world;
  auto& hub = world.hub;
  auto& changes = world.changes;
  world.sandboxes["a1"] = {"a1", "alice", "{\"v\":1}"};
  SandboxEventFeed feed(hub, changes, world.lookups());
  feed.apply({{"a1", true, false}});
  feed.apply({{"a1", true, false}});
  feed.apply({{"never", true, false}});
  EXPECT_EQ(hub->lastSeq(), 1u);
  world.sandboxes.erase("a1");
  feed.apply({{"a1", true, false}});
  feed.apply({{"a1", true, false}});
  EXPECT_EQ(hub->lastSeq(), 2u);
  EXPECT_EQ(feed.sandboxesKnown(), 0u);
}

TEST(SandboxEventFeedTest, ASandboxKnownAtStartIsDeletedToItsOwnersStreams) {
  FakeWorld world;
  auto& hub = world.hub;
  auto& changes = world.changes;
  world.sandboxes["b1"] = {"b1", "bob", "{}"};
  SandboxEventFeed feed(hub, changes, world.lookups());
  ASSERT_TRUE(feed.start().isOk());
  feed.stop();  // the owners are learnt; the rest by hand
  Received bob, alice;
  ASSERT_TRUE(subscribed(*hub, userScope("bob"), "", bob.sink()));
  ASSERT_TRUE(subscribed(*hub, userScope("alice"), "", alice.sink()));
  world.sandboxes.erase("b1");
  feed.apply({{"b1", true, false}});
  EXPECT_EQ(bob.summary(), (std::vector<std::string>{"reset:={}", "sandbox:b1={}",
                                                     "deleted:b1={\"name\":\"b1\"}"}));
  EXPECT_EQ(alice.summary(), (std::vector<std::string>{"reset:={}"}));
}

TEST(SandboxEventFeedTest, AWatchCacheChangesApplyTimeTravelsWithItsEvent) {
  FakeWorld world;
  auto& hub = world.hub;
  auto& changes = world.changes;
  world.sandboxes["a1"] = {"a1", "alice", "{\"v\":1}"};
  SandboxEventFeed feed(hub, changes, world.lookups());
  Received admin;
  ASSERT_TRUE(subscribed(*hub, adminScope(), "", admin.sink()));
  const auto t0 = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(5000));
  json pod = {{"metadata", {{"name", "a1-0"}, {"labels", {{"app", "a1"}}}}}};
  changes->objectChanged(resources::pods(), pod, false, t0 + std::chrono::nanoseconds(20));
  changes->objectChanged(resources::pods(), pod, false, t0);  // the earliest is kept
  changes->sandboxChanged("a1");
  feed.apply(changes->take(std::chrono::milliseconds(0)));
  ASSERT_EQ(admin.events.size(), 3u);
  EXPECT_EQ(admin.events[2].appliedNs, 5000);
  // A registry change alone carries none.
  world.sandboxes["a1"].json = "{\"v\":2}";
  changes->sandboxChanged("a1");
  feed.apply(changes->take(std::chrono::milliseconds(0)));
  ASSERT_EQ(admin.events.size(), 4u);
  EXPECT_EQ(admin.events[3].appliedNs, 0);
}

TEST(SandboxEventFeedTest, OperationStateChangesAreEventsOnce) {
  FakeWorld world;
  auto& hub = world.hub;
  auto& changes = world.changes;
  world.sandboxes["a1"] = {"a1", "alice", "{}"};
  SandboxEventFeed feed(hub, changes, world.lookups());
  Received alice;
  ASSERT_TRUE(subscribed(*hub, userScope("alice"), "", alice.sink()));
  world.operations["a1"] = {{2, "pending", "{\"id\":2,\"state\":\"pending\"}"},
                            {1, "done", "{\"id\":1,\"state\":\"done\"}"}};
  feed.apply({{"a1", false, true}});
  world.operations["a1"][0] = {2, "done", "{\"id\":2,\"state\":\"done\"}"};
  feed.apply({{"a1", false, true}});
  feed.apply({{"a1", false, true}});  // nothing new
  EXPECT_EQ(alice.summary(),
            (std::vector<std::string>{"reset:={}", "sandbox:a1={}",
                                      "operation:a1={\"id\":1,\"state\":\"done\"}",
                                      "operation:a1={\"id\":2,\"state\":\"pending\"}",
                                      "operation:a1={\"id\":2,\"state\":\"done\"}"}));
}

TEST(SandboxEventFeedTest, TheThreadPublishesWhatTheChangesQueueReports) {
  std::atomic<int> version{1};
  auto current = [&version] {
    return SandboxSnapshot{"a1", "alice", "{\"v\":" + std::to_string(version.load()) + "}"};
  };
  SandboxEventLookups lookups;
  lookups.owners = [&]() -> StatusOr<std::vector<SandboxOwner>> {
    return std::vector<SandboxOwner>{{"a1", "alice"}};
  };
  lookups.inScope = [&](const EventScope&) -> StatusOr<std::vector<SandboxSnapshot>> {
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
  auto hub = std::make_shared<SandboxEventHub>(SandboxEventHub::Options{64}, "e1",
                                               lookups.inScope);
  auto changes = std::make_shared<SandboxChanges>();
  SandboxEventFeed feed(hub, changes, lookups);
  ASSERT_TRUE(feed.start().isOk());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> seen;
  ASSERT_TRUE(subscribed(*hub, adminScope(), "", [&](const SandboxEventPtr& e) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(e->type + ":" + e->name + "=" + e->data);
    cv.notify_all();
    return true;
  }));
  changes->sandboxChanged("gone");  // never known: no event
  changes->sandboxChanged("a1");    // the first change after start: published once
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen.size() >= 3; });
  }
  changes->sandboxChanged("a1");    // unchanged: no event
  version = 2;
  changes->sandboxChanged("a1");
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen.size() >= 4; });
  }
  feed.stop();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"reset:={}", "sandbox:a1={\"v\":1}",
                                            "sandbox:a1={\"v\":1}", "sandbox:a1={\"v\":2}"}));
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
