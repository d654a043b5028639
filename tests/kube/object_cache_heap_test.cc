// The watch cache's objects are made in the long-lived objects' heap arena (common/heap.h),
// listed or watched: at 100,000 sandboxes they are half of serve's heap, and among the parse's
// garbage they pinned its pages.
#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "kube/cache/object_cache.h"
#include "kube/kube_test_objects.h"
#include "kube/sim/memory_cluster.h"
#include "sandboxd/common/heap.h"

namespace sandboxd {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::kManagedBy;
using testing::sandboxStatefulSet;

const std::string kNs = "ns1";
constexpr int kObjects = 200;

TEST(ObjectCacheHeapTest, CachedObjectsLiveInTheLongLivedArena) {
  auto time = std::make_shared<testing::SimulatedTimeSource>();
  MemoryClusterOptions clusterOptions;
  clusterOptions.watchPollInterval = 10ms;
  auto cluster = std::make_shared<MemoryCluster>(time, clusterOptions);
  ObjectCacheOptions options;
  options.types = {resources::statefulSets()};
  options.nameSpace = kNs;
  options.labelSelector = std::string(kManagedBy) + "=sandboxd";
  const auto name = [](const char* prefix, int i) { return prefix + std::to_string(i); };
  for (int i = 0; i < kObjects; ++i) {
    ASSERT_OK(cluster->create(resources::statefulSets(), kNs,
                              sandboxStatefulSet(name("listed-sandbox-", i))));
  }
  const bool arenas = heapStats().has_value();
  if (!arenas) {  // built without jemalloc (sanitizers): no arena; the cache works as ever
    EXPECT_EQ(longLivedHeapArena(), -1);
  }
  const auto longLived = [] { return heapStats()->longLivedAllocated; };
  // Each object: its packed bytes, its name and its map node, well over 100 bytes.
  const size_t atLeast = kObjects * 100;

  const size_t beforeList = arenas ? longLived() : 0;
  ObjectCache cache(cluster, options, time);
  cache.start();
  ASSERT_TRUE(cache.waitForSync(5s));
  ASSERT_TRUE(eventually([&] { return cluster->openWatchesForTest() == 1; }));
  ASSERT_TRUE(cache.get(resources::statefulSets(), kNs, name("listed-sandbox-", 7)));
  if (arenas) {
    EXPECT_GE(longLived(), beforeList + atLeast) << "objects a list brought";
  }

  const size_t beforeEvents = arenas ? longLived() : 0;
  for (int i = 0; i < kObjects; ++i) {
    ASSERT_OK(cluster->create(resources::statefulSets(), kNs,
                              sandboxStatefulSet(name("watched-sandbox-", i))));
  }
  ASSERT_TRUE(eventually([&] {
    return cache.names(resources::statefulSets(), kNs).size() == 2 * kObjects;
  }));
  const auto watched = cache.get(resources::statefulSets(), kNs, name("watched-sandbox-", 9));
  ASSERT_TRUE(watched);
  EXPECT_EQ((*watched)["metadata"]["name"], name("watched-sandbox-", 9));
  if (arenas) {
    EXPECT_GE(longLived(), beforeEvents + atLeast) << "objects watch events brought";
  }

  const size_t beforeDeletes = arenas ? longLived() : 0;
  for (int i = 0; i < kObjects; ++i) {
    ASSERT_OK(cluster->remove(resources::statefulSets(), kNs, name("watched-sandbox-", i)));
  }
  ASSERT_TRUE(
      eventually([&] { return cache.names(resources::statefulSets(), kNs).size() == kObjects; }));
  if (arenas) {
    EXPECT_LE(longLived() + atLeast, beforeDeletes) << "deleted objects are freed from it";
  }
  cache.stop();
}

}  // namespace
}  // namespace sandboxd
