// MemoryCluster's watch: events for every change (the simulated controllers' too), resume from
// a resourceVersion, 410 Gone for an expired one, label selectors, bookmarks, stream ends.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "kube/kube_test_objects.h"
#include "kube/sim/memory_cluster.h"
#include "sandboxd/common/heap.h"

namespace sandboxd {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::sandboxStatefulSet;

// Runs one watch on a thread and collects its events.
class WatchRunner {
 public:
  WatchRunner(MemoryCluster& cluster, const ResourceType& type, std::string ns,
              WatchOptions options) {
    thread_ = std::thread([this, &cluster, type, ns, options] {
      Status st = cluster.watch(
          type, ns, options,
          [this](const WatchEvent& e) {
            std::lock_guard<std::mutex> lock(mu_);
            events_.push_back(e);
          },
          &cancel_);
      std::lock_guard<std::mutex> lock(mu_);
      result_ = st;
      done_ = true;
    });
  }
  ~WatchRunner() { stop(); }

  void stop() {
    cancel_.cancel();
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  std::vector<WatchEvent> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  bool done() {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }
  Status result() {
    std::lock_guard<std::mutex> lock(mu_);
    return result_;
  }
  bool hasEvent(WatchEventType type, const std::string& name) {
    for (const auto& e : events()) {
      if (e.type == type && e.object["metadata"].value("name", "") == name) {
        return true;
      }
    }
    return false;
  }

 private:
  WatchCancellation cancel_;
  std::mutex mu_;
  std::vector<WatchEvent> events_;
  Status result_;
  bool done_ = false;
  std::thread thread_;
};

class MemoryClusterWatchTest : public ::testing::Test {
 protected:
  MemoryClusterWatchTest() {
    time_ = std::make_shared<testing::SimulatedTimeSource>();
    MemoryClusterOptions options;
    options.readyDelay = 1500ms;
    options.watchPollInterval = 10ms;
    cluster_ = std::make_shared<MemoryCluster>(time_, options);
  }

  std::string listRv(const ResourceType& type) {
    auto list = cluster_->list(type, "ns1");
    EXPECT_OK(list);
    return list.isOk() ? (*list)["metadata"]["resourceVersion"].get<std::string>() : "";
  }

  std::shared_ptr<testing::SimulatedTimeSource> time_;
  std::shared_ptr<MemoryCluster> cluster_;
};

json service(const std::string& name, const std::string& app = "x") {
  return {{"metadata", {{"name", name}, {"labels", {{"app", app}}}}},
          {"spec", {{"clusterIP", "None"}}}};
}

TEST_F(MemoryClusterWatchTest, ResumesFromAListAndSeesEveryChange) {
  ASSERT_OK(cluster_->create(resources::services(), "ns1", service("before")));
  WatchOptions options;
  options.resourceVersion = listRv(resources::services());
  WatchRunner w(*cluster_, resources::services(), "ns1", options);
  ASSERT_TRUE(eventually([&] { return cluster_->openWatchesForTest() == 1; }));
  ASSERT_OK(cluster_->create(resources::services(), "ns1", service("s1")));
  ASSERT_OK(cluster_->create(resources::services(), "ns2", service("elsewhere")));
  ASSERT_OK(cluster_->patch(resources::services(), "ns1", "s1", PatchType::Merge,
                            {{"metadata", {{"annotations", {{"a", "b"}}}}}}));
  ASSERT_OK(cluster_->remove(resources::services(), "ns1", "s1"));
  ASSERT_TRUE(eventually([&] { return w.events().size() >= 3; }));
  w.stop();
  EXPECT_OK(w.result());
  const auto events = w.events();
  ASSERT_EQ(events.size(), 3u) << "no event for objects before the list or in other namespaces";
  EXPECT_EQ(events[0].type, WatchEventType::Added);
  EXPECT_EQ(events[1].type, WatchEventType::Modified);
  EXPECT_EQ(events[1].object["metadata"]["annotations"]["a"], "b");
  EXPECT_EQ(events[2].type, WatchEventType::Deleted);
  EXPECT_EQ(events[2].object["metadata"]["name"], "s1");
  const auto rv = [](const WatchEvent& e) {
    return std::stoll(e.object["metadata"]["resourceVersion"].get<std::string>());
  };
  EXPECT_LT(rv(events[0]), rv(events[1]));
  EXPECT_LT(rv(events[1]), rv(events[2]));
  EXPECT_EQ(cluster_->callCountsForTest()["watch"], 1);
}

TEST_F(MemoryClusterWatchTest, WithoutAResourceVersionStartsWithTheCurrentObjects) {
  ASSERT_OK(cluster_->create(resources::services(), "ns1", service("a")));
  ASSERT_OK(cluster_->create(resources::services(), "ns1", service("b", "other")));
  WatchOptions options;
  options.labelSelector = "app=x";
  WatchRunner w(*cluster_, resources::services(), "ns1", options);
  ASSERT_TRUE(eventually([&] { return w.events().size() >= 1; }));
  ASSERT_OK(cluster_->create(resources::services(), "ns1", service("c")));
  ASSERT_TRUE(eventually([&] { return w.events().size() >= 2; }));
  w.stop();
  const auto events = w.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(w.hasEvent(WatchEventType::Added, "a"));
  EXPECT_TRUE(w.hasEvent(WatchEventType::Added, "c"));
  EXPECT_FALSE(w.hasEvent(WatchEventType::Added, "b")) << "filtered by the label selector";
}

TEST_F(MemoryClusterWatchTest, ALabelChangeMovesAnObjectInOrOutOfAFilteredWatch) {
  ASSERT_OK(cluster_->create(resources::services(), "ns1", service("s", "other")));
  WatchOptions options;
  options.labelSelector = "app=x";
  options.resourceVersion = listRv(resources::services());
  WatchRunner w(*cluster_, resources::services(), "ns1", options);
  ASSERT_OK(cluster_->patch(resources::services(), "ns1", "s", PatchType::Merge,
                            {{"metadata", {{"labels", {{"app", "x"}}}}}}));
  ASSERT_OK(cluster_->patch(resources::services(), "ns1", "s", PatchType::Merge,
                            {{"metadata", {{"labels", {{"app", "y"}}}}}}));
  ASSERT_TRUE(eventually([&] { return w.events().size() >= 2; }));
  w.stop();
  EXPECT_EQ(w.events()[0].type, WatchEventType::Added);
  EXPECT_EQ(w.events()[1].type, WatchEventType::Deleted);
}

TEST_F(MemoryClusterWatchTest, StatefulSetControllersProduceEventsAndPodsTurnReady) {
  WatchOptions options;
  options.labelSelector = std::string(testing::kManagedBy) + "=sandboxd";
  options.resourceVersion = listRv(resources::pods());
  WatchRunner pods(*cluster_, resources::pods(), "ns1", options);
  WatchOptions claimOptions = options;
  claimOptions.labelSelector = "app=demo";  // claims carry only the StatefulSet's selector
  WatchRunner pvcs(*cluster_, resources::persistentVolumeClaims(), "ns1", claimOptions);
  ASSERT_OK(cluster_->create(resources::statefulSets(), "ns1", sandboxStatefulSet("demo")));
  ASSERT_TRUE(eventually([&] { return pods.hasEvent(WatchEventType::Added, "demo-0"); }));
  ASSERT_TRUE(eventually(
      [&] { return pvcs.hasEvent(WatchEventType::Added, "vn-homevn-agent-demo-0"); }));
  // No call to the cluster: the open watch runs the controllers as the clock moves.
  time_->advance(2s);
  ASSERT_TRUE(eventually([&] {
    for (const auto& e : pods.events()) {
      if (e.type == WatchEventType::Modified && e.object["status"].value("phase", "") == "Running") {
        return true;
      }
    }
    return false;
  }));
  ASSERT_OK(cluster_->patch(resources::statefulSets(), "ns1", "demo", PatchType::Merge,
                            {{"spec", {{"replicas", 0}}}}));
  ASSERT_TRUE(eventually([&] { return pods.hasEvent(WatchEventType::Deleted, "demo-0"); }));
  EXPECT_FALSE(pvcs.hasEvent(WatchEventType::Deleted, "vn-homevn-agent-demo-0"));
}

TEST_F(MemoryClusterWatchTest, ResumingFromAnExpiredResourceVersionIsGone) {
  const std::string rv = listRv(resources::services());
  ASSERT_OK(cluster_->create(resources::services(), "ns1", service("s1")));
  cluster_->expireWatchHistoryForTest();
  std::vector<WatchEvent> events;
  WatchOptions options;
  options.resourceVersion = rv;
  Status st = cluster_->watch(resources::services(), "ns1", options,
                              [&](const WatchEvent& e) { events.push_back(e); }, nullptr);
  EXPECT_TRUE(isGone(st)) << st.toString();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, WatchEventType::Error);
  EXPECT_EQ(events[0].object["code"], 410);

  // From the current resourceVersion the watch works again.
  options.resourceVersion = listRv(resources::services());
  WatchRunner w(*cluster_, resources::services(), "ns1", options);
  ASSERT_OK(cluster_->create(resources::services(), "ns1", service("s2")));
  EXPECT_TRUE(eventually([&] { return w.hasEvent(WatchEventType::Added, "s2"); }));
}

TEST_F(MemoryClusterWatchTest, AForcedGoneAppliesToTheNextResumeOnly) {
  cluster_->failNextWatchResumeWithGoneForTest();
  WatchOptions options;
  options.resourceVersion = listRv(resources::services());
  Status st = cluster_->watch(resources::services(), "ns1", options, [](const WatchEvent&) {},
                              nullptr);
  EXPECT_TRUE(isGone(st)) << st.toString();
  WatchRunner w(*cluster_, resources::services(), "ns1", options);
  ASSERT_TRUE(eventually([&] { return cluster_->openWatchesForTest() == 1; }));
  EXPECT_FALSE(w.done());
}

TEST_F(MemoryClusterWatchTest, HistoryRetentionLimitsHowFarBackAWatchCanResume) {
  MemoryClusterOptions small;
  small.watchHistory = 2;
  MemoryCluster cluster(time_, small);
  auto list = cluster.list(resources::services(), "ns1");
  ASSERT_OK(list);
  const std::string rv = (*list)["metadata"]["resourceVersion"];
  for (const char* name : {"a", "b", "c"}) {
    ASSERT_OK(cluster.create(resources::services(), "ns1", service(name)));
  }
  WatchOptions options;
  options.resourceVersion = rv;
  EXPECT_TRUE(isGone(cluster.watch(resources::services(), "ns1", options,
                                   [](const WatchEvent&) {}, nullptr)));
}

TEST_F(MemoryClusterWatchTest, StreamsEndOnTimeoutAndByTheTestHook) {
  WatchOptions options;
  options.resourceVersion = listRv(resources::services());
  options.timeoutSeconds = 30;
  {
    WatchRunner w(*cluster_, resources::services(), "ns1", options);
    ASSERT_TRUE(eventually([&] { return cluster_->openWatchesForTest() == 1; }));
    time_->advance(31s);
    ASSERT_TRUE(eventually([&] { return w.done(); }));
    EXPECT_OK(w.result());
  }
  WatchRunner w(*cluster_, resources::services(), "ns1", options);
  ASSERT_TRUE(eventually([&] { return cluster_->openWatchesForTest() == 1; }));
  cluster_->endWatchesForTest();
  ASSERT_TRUE(eventually([&] { return w.done(); }));
  EXPECT_OK(w.result());
  EXPECT_EQ(cluster_->openWatchesForTest(), 0);
}

TEST_F(MemoryClusterWatchTest, BookmarksCarryTheCurrentResourceVersion) {
  WatchOptions options;
  options.resourceVersion = listRv(resources::services());
  WatchRunner w(*cluster_, resources::services(), "ns1", options);
  ASSERT_TRUE(eventually([&] { return cluster_->openWatchesForTest() == 1; }));
  ASSERT_OK(cluster_->create(resources::services(), "ns2", service("elsewhere")));
  cluster_->sendWatchBookmarksForTest();
  ASSERT_TRUE(eventually([&] { return !w.events().empty(); }));
  const WatchEvent bookmark = w.events()[0];
  EXPECT_EQ(bookmark.type, WatchEventType::Bookmark);
  auto ns2 = cluster_->get(resources::services(), "ns2", "elsewhere");
  ASSERT_OK(ns2);
  EXPECT_EQ(bookmark.object["metadata"]["resourceVersion"], (*ns2)["metadata"]["resourceVersion"]);
  // Bookmarks also come every bookmarkInterval (injected clock).
  time_->advance(61s);
  EXPECT_TRUE(eventually([&] { return w.events().size() >= 2; }));
}

TEST_F(MemoryClusterWatchTest, CancellationEndsAWatchPromptly) {
  WatchOptions options;
  options.resourceVersion = listRv(resources::services());
  WatchRunner w(*cluster_, resources::services(), "ns1", options);
  ASSERT_TRUE(eventually([&] { return cluster_->openWatchesForTest() == 1; }));
  const auto start = std::chrono::steady_clock::now();
  w.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_OK(w.result());
}

TEST_F(MemoryClusterWatchTest, InjectedWatchFailures) {
  cluster_->failNextForTest("watch", "Service", Status(ErrorKind::Unavailable, "down"));
  EXPECT_KIND(cluster_->watch(resources::services(), "ns1", {}, [](const WatchEvent&) {},
                              nullptr),
              Unavailable);
}

}  // namespace
}  // namespace sandboxd

namespace sandboxd {
namespace {

// With its objects in a separate heap arena (serve --kube memory), the cluster's calls allocate
// there, but what a watch's callback allocates (the watch cache's copies) stays the caller's.
// Without jemalloc (sanitizer builds) the same calls work and nothing changes arena.
TEST(MemoryClusterHeapArenaTest, CallsAllocateInItsArenaAndWatchCallbacksInTheCallers) {
  MemoryClusterOptions options;
  options.watchPollInterval = 10ms;
  options.separateHeapArena = true;
  auto time = std::make_shared<testing::SimulatedTimeSource>();
  MemoryCluster cluster(time, options);
  const int own = currentHeapArena();
  ASSERT_OK(cluster.create(resources::services(), "ns1", service("s1")));
  EXPECT_EQ(currentHeapArena(), own) << "a call leaves the caller's thread as it was";

  std::mutex mu;
  std::vector<int> callbackArenas;
  int watcherArena = -2;
  WatchCancellation cancel;
  std::thread watcher([&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      watcherArena = currentHeapArena();
    }
    (void)cluster.watch(resources::services(), "ns1", {}, [&](const WatchEvent&) {
      std::lock_guard<std::mutex> lock(mu);
      callbackArenas.push_back(currentHeapArena());
    }, &cancel);
  });
  ASSERT_TRUE(testing::eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return !callbackArenas.empty();
  }));
  ASSERT_OK(cluster.create(resources::services(), "ns1", service("s2")));
  ASSERT_TRUE(testing::eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return callbackArenas.size() >= 2;
  }));
  cancel.cancel();
  watcher.join();
  for (int arena : callbackArenas) {
    EXPECT_EQ(arena, watcherArena);
    if (separateHeapArena() >= 0) {  // without jemalloc (sanitizers) every arena is -1
      EXPECT_NE(arena, separateHeapArena());
    }
  }
}

}  // namespace
}  // namespace sandboxd
