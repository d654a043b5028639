// withCachedReads: which reads the cache answers (no API call), which go through, and ping()
// following the cache's health.
#include "sandboxd/kube/cached_read_client.h"

#include <gtest/gtest.h>

#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "kube/cache/object_cache.h"
#include "kube/kube_test_objects.h"
#include "kube/sim/memory_cluster.h"

namespace sandboxd {
namespace {

using namespace std::chrono_literals;
using testing::sandboxStatefulSet;

const std::string kNs = "ns1";

class CachedReadClientTest : public ::testing::Test {
 protected:
  CachedReadClientTest() {
    time_ = std::make_shared<testing::SimulatedTimeSource>();
    MemoryClusterOptions clusterOptions;
    clusterOptions.watchPollInterval = 10ms;
    cluster_ = std::make_shared<MemoryCluster>(time_, clusterOptions);
    options_.types = {resources::statefulSets(), resources::pods()};
    options_.nameSpace = kNs;
    options_.labelSelector = std::string(testing::kManagedBy) + "=sandboxd";
    options_.labelSelectorFor["pods"] = "app";
    cache_ = std::make_shared<ObjectCache>(cluster_, options_, time_);
    client_ = withCachedReads(cluster_, cache_, options_);
  }

  void startSynced() {
    cache_->start();
    ASSERT_TRUE(cache_->waitForSync(5s));
  }

  int calls(const std::string& verb) {
    auto counts = cluster_->callCountsForTest();
    return counts.count(verb) ? counts[verb] : 0;
  }

  std::shared_ptr<testing::SimulatedTimeSource> time_;
  std::shared_ptr<MemoryCluster> cluster_;
  ObjectCacheOptions options_;
  std::shared_ptr<ObjectCache> cache_;
  KubeClientPtr client_;
};

TEST_F(CachedReadClientTest, CachedObjectsAreReadWithoutAnApiCall) {
  ASSERT_OK(cluster_->create(resources::statefulSets(), kNs, sandboxStatefulSet("a")));
  startSynced();
  const int gets = calls("get");
  const int lists = calls("list");

  auto sts = client_->get(resources::statefulSets(), kNs, "a", "");
  ASSERT_OK(sts);
  EXPECT_EQ((*sts)["metadata"]["name"], "a");
  auto byLabel = client_->list(resources::statefulSets(), kNs,
                               ListOptions{std::string(testing::kManagedBy) + "=sandboxd,app=a"});
  ASSERT_OK(byLabel);
  EXPECT_EQ((*byLabel)["items"].size(), 1u);
  auto none = client_->list(resources::statefulSets(), kNs,
                            ListOptions{std::string(testing::kManagedBy) + "=sandboxd,app=b"});
  ASSERT_OK(none);
  EXPECT_TRUE((*none)["items"].empty());
  EXPECT_OK(client_->list(resources::pods(), kNs, ListOptions{"app=a"}));

  EXPECT_EQ(calls("get"), gets);
  EXPECT_EQ(calls("list"), lists);
}

// With an index label, a list whose selector names a value of it is answered from the index:
// the same items as the scan of a cache without one, and no API call either way.
TEST_F(CachedReadClientTest, AnIndexedListAnswersWhatAScanWould) {
  for (const std::string name : {"a", "ab", "b"}) {
    ASSERT_OK(cluster_->create(resources::statefulSets(), kNs, sandboxStatefulSet(name)));
  }
  startSynced();
  ObjectCacheOptions indexed = options_;
  indexed.indexLabel = "app";
  auto indexedCache = std::make_shared<ObjectCache>(cluster_, indexed, time_);
  indexedCache->start();
  ASSERT_TRUE(indexedCache->waitForSync(5s));
  KubeClientPtr indexedClient = withCachedReads(cluster_, indexedCache, indexed);
  const int lists = calls("list");
  const std::string managed = std::string(testing::kManagedBy) + "=sandboxd";
  for (const auto& [type, selector] : std::vector<std::pair<const ResourceType*, std::string>>{
           {&resources::pods(), "app=a"},
           {&resources::pods(), "app=ab"},
           {&resources::pods(), "app=zz"},
           {&resources::pods(), "app"},
           {&resources::statefulSets(), managed + ",app=b"},
           {&resources::statefulSets(), managed + ",app=a,sandboxd.io/sandbox=b"}}) {
    auto scan = client_->list(*type, kNs, ListOptions{selector});
    auto byIndex = indexedClient->list(*type, kNs, ListOptions{selector});
    ASSERT_OK(scan);
    ASSERT_OK(byIndex);
    EXPECT_EQ((*byIndex)["items"], (*scan)["items"]) << type->plural << " " << selector;
  }
  auto pods = indexedClient->list(resources::pods(), kNs, ListOptions{"app=ab"});
  ASSERT_OK(pods);
  ASSERT_EQ((*pods)["items"].size(), 1u);
  EXPECT_EQ((*pods)["items"][0]["metadata"]["name"], "ab-0");
  EXPECT_EQ(calls("list"), lists + 0);
  indexedCache->stop();
}

TEST_F(CachedReadClientTest, WhatTheCacheCannotAnswerExactlyGoesToTheApiServer) {
  startSynced();
  int gets = calls("get");
  // A miss: maybe created a moment ago.
  EXPECT_KIND(client_->get(resources::statefulSets(), kNs, "new", ""), NotFound);
  EXPECT_EQ(calls("get"), ++gets);
  // A subresource, another namespace, a type the cache does not hold.
  (void)client_->get(resources::statefulSets(), kNs, "x", "scale");
  (void)client_->get(resources::statefulSets(), "other", "x", "");
  (void)client_->get(resources::services(), kNs, "x", "");
  EXPECT_EQ(calls("get"), gets + 3);

  int lists = calls("list");
  // A selector that does not imply the cache's (StatefulSets without our label are not in it),
  // set-based selectors, paging.
  ASSERT_OK(client_->list(resources::statefulSets(), kNs, ListOptions{"app=a"}));
  ASSERT_OK(client_->list(resources::pods(), kNs, ListOptions{"app!=a"}));
  ListOptions paged{"app=a"};
  paged.limit = 10;
  ASSERT_OK(client_->list(resources::pods(), kNs, paged));
  EXPECT_EQ(calls("list"), lists + 3);
}

TEST_F(CachedReadClientTest, PingFailsUntilTheCacheIsHealthy) {
  EXPECT_KIND(client_->ping(), Unavailable);  // not started: not synced
  startSynced();
  EXPECT_OK(client_->ping());
  cache_->stop();
  EXPECT_KIND(client_->ping(), Unavailable);
}

}  // namespace
}  // namespace sandboxd
