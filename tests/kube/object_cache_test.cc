// ObjectCache against MemoryCluster: the initial list, events, relist after 410 Gone, resume
// after a stream ends, bookmarks, failures and health, stop().
#include <atomic>
#include <chrono>
#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "kube/cache/object_cache.h"
#include "kube/kube_test_objects.h"
#include "kube/sim/memory_cluster.h"

namespace sandboxd {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::GatedKubeClient;
using testing::kManagedBy;
using testing::sandboxStatefulSet;

const std::string kNs = "ns1";

class ObjectCacheTest : public ::testing::Test {
 protected:
  ObjectCacheTest() {
    time_ = std::make_shared<testing::SimulatedTimeSource>();
    MemoryClusterOptions clusterOptions;
    clusterOptions.readyDelay = 1500ms;
    clusterOptions.watchPollInterval = 10ms;
    cluster_ = std::make_shared<MemoryCluster>(time_, clusterOptions);
    gate_ = std::make_shared<GatedKubeClient>(cluster_);
    options_.types = {resources::statefulSets(), resources::pods(),
                      resources::persistentVolumeClaims()};
    options_.nameSpace = kNs;
    options_.labelSelector = std::string(kManagedBy) + "=sandboxd";
    options_.labelSelectorFor["persistentvolumeclaims"] = "app";
    options_.minBackoff = 5ms;
    options_.maxBackoff = 20ms;
  }

  std::unique_ptr<ObjectCache> startCache() {
    auto cache = std::make_unique<ObjectCache>(gate_, options_, time_);
    cache->start();
    EXPECT_TRUE(cache->waitForSync(5s));
    // Every type's watch is open, so what follows arrives as events.
    EXPECT_TRUE(eventually([&] { return cluster_->openWatchesForTest() == 3; }));
    return cache;
  }

  void createSandbox(const std::string& name, bool managed = true) {
    ASSERT_OK(cluster_->create(resources::statefulSets(), kNs, sandboxStatefulSet(name, managed)));
  }

  // Opens a gap: every watch stream ends and the resumes wait at the gate until openGap()'s
  // caller releases it.
  void openGap() {
    gate_->hold();
    cluster_->endWatchesForTest();
    ASSERT_TRUE(gate_->waitForHeldWatches(3));
  }

  std::shared_ptr<testing::SimulatedTimeSource> time_;
  std::shared_ptr<MemoryCluster> cluster_;
  std::shared_ptr<GatedKubeClient> gate_;
  ObjectCacheOptions options_;
};

TEST_F(ObjectCacheTest, InitialListFillsTheCache) {
  createSandbox("alpha");
  createSandbox("beta");
  createSandbox("stranger", /*managed=*/false);
  auto cache = startCache();
  EXPECT_TRUE(cache->synced());
  const auto sts = cache->get(resources::statefulSets(), kNs, "alpha");
  ASSERT_TRUE(sts.has_value());
  EXPECT_EQ((*sts)["metadata"]["name"], "alpha");
  EXPECT_FALSE(cache->get(resources::statefulSets(), kNs, "stranger").has_value())
      << "objects without sandboxd's label are not cached";
  EXPECT_FALSE(cache->get(resources::statefulSets(), "other-ns", "alpha").has_value());
  EXPECT_TRUE(cache->get(resources::pods(), kNs, "beta-0").has_value());
  EXPECT_TRUE(
      cache->get(resources::persistentVolumeClaims(), kNs, "vn-homevn-agent-beta-0").has_value());
  EXPECT_EQ(cache->list(resources::statefulSets(), kNs).size(), 2u);
  const auto betaPods = cache->list(resources::pods(), kNs, {{"sandboxd.io/sandbox", "beta"}});
  ASSERT_EQ(betaPods.size(), 1u);
  EXPECT_EQ(betaPods[0]["metadata"]["name"], "beta-0");
  EXPECT_TRUE(cache->list(resources::pods(), kNs, {{"sandboxd.io/sandbox", "nope"}}).empty());
  EXPECT_TRUE(cache->list(resources::services(), kNs).empty()) << "a type the cache does not hold";

  const ObjectCacheHealth h = cache->health();
  EXPECT_TRUE(h.running);
  EXPECT_TRUE(h.synced);
  EXPECT_TRUE(h.healthy);
  EXPECT_EQ(h.lists, 3u);
  ASSERT_TRUE(h.sinceLastEvent.has_value());
  EXPECT_EQ(h.lastError, "");
}

TEST_F(ObjectCacheTest, CreateModifyAndDeleteAppear) {
  auto cache = startCache();
  const int getsBefore = cluster_->callCountsForTest()["get"];
  createSandbox("demo");
  ASSERT_TRUE(eventually([&] {
    return cache->get(resources::statefulSets(), kNs, "demo") &&
           cache->get(resources::pods(), kNs, "demo-0") &&
           cache->get(resources::persistentVolumeClaims(), kNs, "vn-homevn-agent-demo-0");
  }));

  // The pod turns Ready as the clock moves; the cache follows without any GET.
  time_->advance(2s);
  ASSERT_TRUE(eventually([&] {
    auto sts = cache->get(resources::statefulSets(), kNs, "demo");
    auto pod = cache->get(resources::pods(), kNs, "demo-0");
    return sts && (*sts)["status"].value("readyReplicas", 0) == 1 && pod &&
           (*pod)["status"].value("phase", "") == "Running";
  }));

  ASSERT_OK(cluster_->patch(resources::statefulSets(), kNs, "demo", PatchType::Merge,
                            {{"metadata", {{"annotations", {{"note", "hello"}}}}}}));
  ASSERT_TRUE(eventually([&] {
    auto sts = cache->get(resources::statefulSets(), kNs, "demo");
    return sts && (*sts)["metadata"].value("annotations", json::object()).value("note", "") ==
                      "hello";
  }));

  // Stop: the pod goes, the home volume stays.
  ASSERT_OK(cluster_->patch(resources::statefulSets(), kNs, "demo", PatchType::Merge,
                            {{"spec", {{"replicas", 0}}}}));
  ASSERT_TRUE(eventually([&] { return !cache->get(resources::pods(), kNs, "demo-0"); }));
  EXPECT_TRUE(cache->get(resources::persistentVolumeClaims(), kNs, "vn-homevn-agent-demo-0"));

  ASSERT_OK(cluster_->remove(resources::statefulSets(), kNs, "demo"));
  ASSERT_TRUE(eventually([&] { return !cache->get(resources::statefulSets(), kNs, "demo"); }));
  EXPECT_EQ(cluster_->callCountsForTest()["get"], getsBefore) << "the cache never GETs";
  EXPECT_EQ(cluster_->callCountsForTest()["list"], 3) << "no relist was needed";
  EXPECT_GT(cache->health().events, 0u);
}

TEST_F(ObjectCacheTest, GoneOnResumeRelistsAndDropsObjectsDeletedInTheGap) {
  createSandbox("keep");
  createSandbox("doomed");
  auto cache = startCache();
  ASSERT_TRUE(cache->get(resources::statefulSets(), kNs, "doomed"));

  openGap();
  ASSERT_OK(cluster_->remove(resources::statefulSets(), kNs, "doomed"));
  createSandbox("newcomer");
  ASSERT_OK(cluster_->patch(resources::statefulSets(), kNs, "keep", PatchType::Merge,
                            {{"metadata", {{"annotations", {{"note", "changed"}}}}}}));
  // The history the resumes need is gone (as after an etcd compaction).
  cluster_->expireWatchHistoryForTest();
  gate_->release();

  ASSERT_TRUE(eventually([&] { return cluster_->callCountsForTest()["list"] == 6; }))
      << "each type lists again after 410 Gone";
  ASSERT_TRUE(eventually([&] {
    return !cache->get(resources::statefulSets(), kNs, "doomed") &&
           !cache->get(resources::pods(), kNs, "doomed-0") &&
           cache->get(resources::statefulSets(), kNs, "newcomer") &&
           cache->get(resources::pods(), kNs, "newcomer-0");
  }));
  // The first lists came from the API server's watch cache (any recent state); a relist must
  // not go back in time, so it reads the latest.
  EXPECT_EQ(gate_->listedAt("statefulsets"), (std::vector<std::string>{"0", ""}));
  EXPECT_EQ(gate_->listedAt("pods"), (std::vector<std::string>{"0", ""}));
  auto keep = cache->get(resources::statefulSets(), kNs, "keep");
  ASSERT_TRUE(keep.has_value());
  EXPECT_EQ((*keep)["metadata"]["annotations"]["note"], "changed");
  EXPECT_TRUE(cache->get(resources::persistentVolumeClaims(), kNs, "vn-homevn-agent-doomed-0"))
      << "deleting a StatefulSet keeps its volume";

  // And the cache keeps following changes after the relist.
  ASSERT_TRUE(eventually([&] { return cluster_->openWatchesForTest() == 3; }));
  ASSERT_OK(cluster_->remove(resources::statefulSets(), kNs, "newcomer"));
  EXPECT_TRUE(eventually([&] { return !cache->get(resources::statefulSets(), kNs, "newcomer"); }));
  EXPECT_TRUE(cache->health().healthy);
}

// Answers lists in pages of `limit` as an API server without a watch cache does, and as it
// does refuses a continue token with a resourceVersion.
class PagingKubeClient : public ForwardingKubeClient {
 public:
  using ForwardingKubeClient::ForwardingKubeClient;
  StatusOr<json> list(const ResourceType& type, const std::string& ns,
                      const ListOptions& options) override {
    if (!options.continueToken.empty() && !options.resourceVersion.empty()) {
      return invalidArgument("specifying resource version is not allowed when using continue");
    }
    ListOptions all = options;  // the pages are this fake's own
    all.limit = 0;
    all.continueToken.clear();
    ASSIGN_OR_RETURN(json whole, inner()->list(type, ns, all));
    const size_t from = options.continueToken.empty() ? 0 : std::stoul(options.continueToken);
    const size_t size = whole["items"].size();
    const size_t to = options.limit > 0 ? std::min(size, from + options.limit) : size;
    json page = json::array();
    for (size_t i = from; i < to; ++i) {
      page.push_back(whole["items"][i]);
    }
    whole["items"] = std::move(page);
    if (to < size) {
      whole["metadata"]["continue"] = std::to_string(to);
    }
    pages_++;
    return whole;
  }
  std::atomic<int> pages_{0};
};

TEST_F(ObjectCacheTest, AFirstListInPagesCarriesItsResourceVersionOnlyOnTheFirstPage) {
  for (int i = 0; i < 1100; ++i) {  // three pages of 500
    ASSERT_OK(cluster_->create(resources::persistentVolumeClaims(), kNs,
                               {{"apiVersion", "v1"},
                                {"kind", "PersistentVolumeClaim"},
                                {"metadata", {{"name", "claim-" + std::to_string(i)},
                                              {"labels", {{"app", "a" + std::to_string(i)}}}}}}));
  }
  auto paging = std::make_shared<PagingKubeClient>(cluster_);
  options_.types = {resources::persistentVolumeClaims()};
  ObjectCache cache(paging, options_, time_);
  cache.start();
  ASSERT_TRUE(cache.waitForSync(5s));
  EXPECT_EQ(paging->pages_.load(), 3);
  EXPECT_EQ(cache.names(resources::persistentVolumeClaims(), kNs).size(), 1100u);
  EXPECT_TRUE(cache.get(resources::persistentVolumeClaims(), kNs, "claim-1099").has_value());
  EXPECT_EQ(cache.health().lastError, "");
}

// What the listener hears: watch changes, and what a relist after 410 Gone found changed or
// gone; never the initial list, never bookmarks, nothing once it is removed.
TEST_F(ObjectCacheTest, TheListenerHearsChangesIncludingWhatARelistFound) {
  createSandbox("keep");
  createSandbox("doomed");
  std::mutex mu;
  std::vector<std::string> heard;  // "plural/name" or "plural/name deleted"
  auto cache = std::make_unique<ObjectCache>(gate_, options_, time_);
  cache->setListener([&](const ResourceType& type, const json& object, bool deleted) {
    std::lock_guard<std::mutex> lock(mu);
    heard.push_back(type.plural + "/" + object["metadata"].value("name", "") +
                    (deleted ? " deleted" : ""));
  });
  auto count = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    return std::count(heard.begin(), heard.end(), what);
  };
  cache->start();
  ASSERT_TRUE(cache->waitForSync(5s));
  ASSERT_TRUE(eventually([&] { return cluster_->openWatchesForTest() == 3; }));
  cluster_->sendWatchBookmarksForTest();
  ASSERT_OK(cluster_->patch(resources::statefulSets(), kNs, "keep", PatchType::Merge,
                            {{"metadata", {{"annotations", {{"note", "hello"}}}}}}));
  ASSERT_TRUE(eventually([&] { return count("statefulsets/keep") == 1; }));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(heard, std::vector<std::string>{"statefulsets/keep"})
        << "the initial list and bookmarks are not changes";
  }

  openGap();
  ASSERT_OK(cluster_->remove(resources::statefulSets(), kNs, "doomed"));
  createSandbox("newcomer");
  cluster_->expireWatchHistoryForTest();
  gate_->release();
  ASSERT_TRUE(eventually([&] {
    return count("statefulsets/doomed deleted") == 1 && count("statefulsets/newcomer") == 1;
  })) << "the relist reports what changed while the watch was down";
  ASSERT_TRUE(eventually([&] { return cluster_->openWatchesForTest() == 3; }));
  EXPECT_EQ(count("statefulsets/keep"), 1) << "an object the relist found unchanged is not news";

  cache->setListener(nullptr);
  const size_t before = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return heard.size();
  }();
  ASSERT_OK(cluster_->remove(resources::statefulSets(), kNs, "keep"));
  ASSERT_TRUE(eventually([&] { return !cache->get(resources::statefulSets(), kNs, "keep"); }));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(heard.size(), before) << "a removed listener hears nothing";
}

// keepFieldsFor: the cache holds only the kept fields, of listed objects and of watched ones
// alike, and packs both the same way (a relist finds an object changed by a watch event equal).
TEST_F(ObjectCacheTest, OnlyTheKeptFieldsAreCachedWhetherListedOrWatched) {
  options_.keepFieldsFor["statefulsets"] = std::make_shared<const FieldMask>(FieldMask{
      {"metadata", FieldMask::keys({"name", "namespace", "resourceVersion", "labels"})},
      {"spec", FieldMask::keys({"replicas"})}});
  createSandbox("listed");
  std::atomic<int> heard{0};
  auto cache = std::make_unique<ObjectCache>(gate_, options_, time_);
  cache->setListener([&](const ResourceType& type, const json&, bool) {
    if (type.plural == "statefulsets") {
      ++heard;
    }
  });
  cache->start();
  ASSERT_TRUE(cache->waitForSync(5s));
  ASSERT_TRUE(eventually([&] { return cluster_->openWatchesForTest() == 3; }));
  const auto expectTrimmed = [&](const std::string& name) {
    const auto cached = cache->get(resources::statefulSets(), kNs, name);
    ASSERT_TRUE(cached.has_value()) << name;
    const auto whole = cluster_->get(resources::statefulSets(), kNs, name);
    ASSERT_OK(whole);
    json expected = *whole;
    applyFieldMask(expected, *options_.keepFieldsFor["statefulsets"]);
    EXPECT_EQ(*cached, expected) << name;
    EXPECT_FALSE(cached->contains("status")) << name;
    EXPECT_FALSE((*cached)["spec"].contains("template")) << name;
  };
  expectTrimmed("listed");
  createSandbox("watched");
  ASSERT_OK(cluster_->patch(resources::statefulSets(), kNs, "listed", PatchType::Merge,
                            {{"spec", {{"replicas", 0}}}}));
  ASSERT_TRUE(eventually([&] {
    auto listed = cache->get(resources::statefulSets(), kNs, "listed");
    return listed && (*listed)["spec"]["replicas"] == 0;
  }));
  ASSERT_TRUE(eventually(
      [&] { return cache->get(resources::statefulSets(), kNs, "watched").has_value(); }));
  expectTrimmed("listed");
  expectTrimmed("watched");
  const int before = heard;

  // A relist after 410 Gone packs from the list's text what the watch events packed from
  // their objects: only what changed in the gap is news.
  openGap();
  ASSERT_OK(cluster_->patch(resources::statefulSets(), kNs, "watched", PatchType::Merge,
                            {{"spec", {{"replicas", 0}}}}));
  cluster_->expireWatchHistoryForTest();
  gate_->release();
  ASSERT_TRUE(eventually([&] { return cluster_->callCountsForTest()["list"] == 6; }));
  ASSERT_TRUE(eventually([&] { return cluster_->openWatchesForTest() == 3; }));
  EXPECT_EQ(heard, before + 1) << "the relist reports the changed object, not the unchanged";
  expectTrimmed("listed");
  expectTrimmed("watched");
}

// listIndexed answers from the label index: it follows additions, label changes, deletions
// and what a relist after 410 Gone found, and agrees with a full scan.
TEST_F(ObjectCacheTest, TheLabelIndexFollowsEventsAndRelists) {
  options_.indexLabel = "app";
  createSandbox("alpha");
  createSandbox("alphabet");  // a name that extends another one is a different value
  auto cache = startCache();
  auto names = [&](const ResourceType& type, const std::string& app) {
    std::vector<std::string> out;
    for (const auto& o : cache->listIndexed(type, kNs, app, [](const json&) { return true; })) {
      out.push_back(o["metadata"]["name"]);
    }
    return out;
  };
  using Names = std::vector<std::string>;
  EXPECT_EQ(names(resources::pods(), "alpha"), Names{"alpha-0"});
  EXPECT_EQ(names(resources::statefulSets(), "alphabet"), Names{"alphabet"});
  EXPECT_EQ(names(resources::persistentVolumeClaims(), "alpha"), Names{"vn-homevn-agent-alpha-0"});
  EXPECT_TRUE(names(resources::pods(), "alph").empty());
  EXPECT_TRUE(cache->listIndexed(resources::pods(), kNs, "alpha", [](const json& o) {
                  return o["metadata"]["name"] != "alpha-0";
                }).empty())
      << "the filter still applies";

  // A label change moves the object from one value to the other.
  ASSERT_OK(cluster_->patch(resources::statefulSets(), kNs, "alphabet", PatchType::Merge,
                            {{"metadata", {{"labels", {{"app", "renamed"}}}}}}));
  ASSERT_TRUE(eventually([&] { return names(resources::statefulSets(), "renamed").size() == 1; }));
  EXPECT_TRUE(names(resources::statefulSets(), "alphabet").empty());

  // Deleted in a gap that ends in 410 Gone: the relist drops it from the index too.
  openGap();
  ASSERT_OK(cluster_->remove(resources::statefulSets(), kNs, "alpha"));
  createSandbox("gamma");
  cluster_->expireWatchHistoryForTest();
  gate_->release();
  ASSERT_TRUE(eventually([&] {
    return names(resources::statefulSets(), "alpha").empty() &&
           names(resources::pods(), "alpha").empty() &&
           names(resources::pods(), "gamma") == Names{"gamma-0"};
  }));
  // Every answer equals the scan over all cached objects.
  for (const std::string app : {"alpha", "alphabet", "renamed", "gamma"}) {
    for (const auto* type : {&resources::statefulSets(), &resources::pods(),
                             &resources::persistentVolumeClaims()}) {
      EXPECT_EQ(cache->listIndexed(*type, kNs, app, [](const json&) { return true; }),
                cache->list(*type, kNs, {{"app", app}}))
          << type->plural << " app=" << app;
    }
  }
}

TEST_F(ObjectCacheTest, AForcedGoneOnOneResumeRelistsThatType) {
  createSandbox("a");
  auto cache = startCache();
  cluster_->failNextWatchResumeWithGoneForTest();
  cluster_->endWatchesForTest();
  ASSERT_TRUE(eventually([&] { return cluster_->callCountsForTest()["list"] == 4; }));
  ASSERT_TRUE(eventually([&] { return cluster_->openWatchesForTest() == 3; }));
  createSandbox("b");
  EXPECT_TRUE(eventually([&] {
    return cache->get(resources::pods(), kNs, "b-0").has_value() &&
           cache->list(resources::statefulSets(), kNs).size() == 2u;
  }));
}

TEST_F(ObjectCacheTest, AnEndedStreamResumesWithoutLosingEvents) {
  createSandbox("a");
  auto cache = startCache();
  openGap();
  const std::string stsRv = gate_->resumedFrom("statefulsets");
  EXPECT_FALSE(stsRv.empty()) << "resumes from the last resourceVersion, not from scratch";
  createSandbox("b");
  ASSERT_OK(cluster_->remove(resources::statefulSets(), kNs, "a"));
  gate_->release();
  ASSERT_TRUE(eventually([&] {
    return cache->get(resources::statefulSets(), kNs, "b") &&
           cache->get(resources::pods(), kNs, "b-0") &&
           !cache->get(resources::statefulSets(), kNs, "a") &&
           !cache->get(resources::pods(), kNs, "a-0");
  }));
  EXPECT_EQ(cluster_->callCountsForTest()["list"], 3) << "a resume needs no relist";
  EXPECT_GE(cache->health().watches, 6u);
}

TEST_F(ObjectCacheTest, BookmarksAdvanceTheResourceVersion) {
  auto cache = startCache();
  // Changes the cache does not watch (another namespace) move the resourceVersion on.
  ASSERT_OK(cluster_->create(resources::statefulSets(), "ns2", sandboxStatefulSet("far")));
  auto far = cluster_->list(resources::statefulSets(), "ns2");
  ASSERT_OK(far);
  const std::string current = (*far)["metadata"]["resourceVersion"];
  time_->advance(1s);
  const auto before = cache->health().sinceLastEvent;
  ASSERT_TRUE(before.has_value());
  EXPECT_GE(*before, 1000ms);
  const uint64_t eventsBefore = cache->health().events;
  cluster_->sendWatchBookmarksForTest();
  ASSERT_TRUE(eventually([&] { return cache->health().events >= eventsBefore + 3; }))
      << "one bookmark per type";
  EXPECT_EQ(cache->health().sinceLastEvent, 0ms) << "a bookmark counts as a sign of life";
  openGap();
  EXPECT_EQ(gate_->resumedFrom("statefulsets"), current);
  EXPECT_EQ(gate_->resumedFrom("pods"), current);
  gate_->release();
}

TEST_F(ObjectCacheTest, ListFailuresAreRetriedWithBackoff) {
  cluster_->failNextForTest("list", "Pod", Status(ErrorKind::Unavailable, "apiserver down"), 3);
  createSandbox("a");
  auto cache = std::make_unique<ObjectCache>(gate_, options_, time_);
  cache->start();
  ASSERT_TRUE(cache->waitForSync(5s));
  EXPECT_TRUE(cache->get(resources::pods(), kNs, "a-0").has_value());
  const ObjectCacheHealth h = cache->health();
  EXPECT_TRUE(h.healthy);
  EXPECT_NE(h.lastError.find("apiserver down"), std::string::npos) << h.lastError;
}

TEST_F(ObjectCacheTest, AWatchThatKeepsFailingMakesTheCacheUnhealthy) {
  options_.unhealthyAfter = 30s;
  auto cache = startCache();
  EXPECT_TRUE(cache->health().healthy);
  cluster_->failNextForTest("watch", "StatefulSet", Status(ErrorKind::Unavailable, "down"),
                            1000000);
  cluster_->endWatchesForTest();
  ASSERT_TRUE(eventually([&] { return !cache->health().lastError.empty(); }));
  EXPECT_TRUE(cache->health().healthy) << "a short failure is tolerated";
  time_->advance(31s);
  EXPECT_FALSE(cache->health().healthy);
  EXPECT_TRUE(cache->health().synced) << "the objects are still there, only stale";
}

TEST_F(ObjectCacheTest, NotSyncedUntilEveryTypeListed) {
  cluster_->failNextForTest("list", "PersistentVolumeClaim",
                            Status(ErrorKind::PermissionDenied, "forbidden"), 1000000);
  auto cache = std::make_unique<ObjectCache>(gate_, options_, time_);
  EXPECT_FALSE(cache->health().running);
  cache->start();
  EXPECT_FALSE(cache->waitForSync(200ms));
  EXPECT_FALSE(cache->synced());
  EXPECT_FALSE(cache->health().healthy);
}

TEST_F(ObjectCacheTest, StopJoinsPromptly) {
  createSandbox("a");
  auto cache = startCache();
  auto start = std::chrono::steady_clock::now();
  cache->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_FALSE(cache->health().running);
  EXPECT_FALSE(cache->health().healthy);
  EXPECT_EQ(cluster_->openWatchesForTest(), 0);
  EXPECT_TRUE(cache->get(resources::statefulSets(), kNs, "a").has_value())
      << "a stopped cache keeps its last state";
  cache->stop();  // idempotent

  // Also while waiting out a long backoff.
  options_.minBackoff = 60s;
  options_.maxBackoff = 60s;
  cluster_->failNextForTest("list", "*", Status(ErrorKind::Unavailable, "down"), 1000000);
  auto failing = std::make_unique<ObjectCache>(gate_, options_, time_);
  failing->start();
  ASSERT_TRUE(eventually([&] { return !failing->health().lastError.empty(); }));
  start = std::chrono::steady_clock::now();
  failing.reset();  // the destructor stops
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(ObjectCacheTest, StopWhileAWatchIsHeldAtTheGate) {
  auto cache = startCache();
  openGap();
  const auto start = std::chrono::steady_clock::now();
  cache->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  gate_->release();
}

}  // namespace
}  // namespace sandboxd
