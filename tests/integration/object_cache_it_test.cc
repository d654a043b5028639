// ObjectCache against the real API server: a sandbox created through the client shows up in
// the cache and its status follows the controllers (PVC bound, pod Running, StatefulSet ready),
// with short watch timeouts so that the streams end and resume several times meanwhile.
#include <chrono>
#include <memory>

#include "integration/cluster_env.h"
#include "kube/cache/object_cache.h"

namespace sandboxd::integration {
namespace {

using namespace std::chrono_literals;

class ObjectCacheIt : public ClusterTest {
 protected:
  std::unique_ptr<ObjectCache> makeCache() {
    ObjectCacheOptions options;
    options.types = {resources::statefulSets(), resources::pods(),
                     resources::persistentVolumeClaims()};
    options.nameSpace = ns_;
    options.labelSelector = labels::managedSelector();
    // The StatefulSet controller labels claims only with the selector's labels (app=NAME).
    options.labelSelectorFor["persistentvolumeclaims"] = labels::kApp;
    options.watchTimeoutSeconds = 3;  // the server ends each stream after 3 s
    options.minBackoff = 100ms;
    options.maxBackoff = 1000ms;
    return std::make_unique<ObjectCache>(client_, options, std::make_shared<RealTimeSource>());
  }
};

TEST_F(ObjectCacheIt, FollowsASandboxThroughItsLifecycle) {
  auto cache = makeCache();
  cache->start();
  ASSERT_TRUE(cache->waitForSync(30s)) << cache->health().lastError;
  EXPECT_TRUE(cache->list(resources::statefulSets(), ns_).empty());

  ASSERT_OK(service_->create(spec("cached")));
  ASSERT_TRUE(eventually([&] {
    auto sts = cache->get(resources::statefulSets(), ns_, "cached");
    auto pod = cache->get(resources::pods(), ns_, "cached-0");
    auto pvc = cache->get(resources::persistentVolumeClaims(), ns_, "vn-homevn-agent-cached-0");
    return sts && (*sts)["status"].value("readyReplicas", 0) == 1 && pod &&
           (*pod)["status"].value("phase", "") == "Running" && pvc &&
           (*pvc)["status"].value("phase", "") == "Bound";
  })) << "the cache did not see the sandbox become ready; last error: "
      << cache->health().lastError;

  // What the cache holds is what the API server has.
  ASSERT_TRUE(eventually([&] {
    auto live = get(resources::statefulSets(), "cached");
    auto cached = cache->get(resources::statefulSets(), ns_, "cached");
    return live.isOk() && cached &&
           (*live)["metadata"]["resourceVersion"] == (*cached)["metadata"]["resourceVersion"];
  }, 30s));
  const auto pods = cache->list(resources::pods(), ns_, {{labels::kApp, "cached"}});
  ASSERT_EQ(pods.size(), 1u);

  // Stop: the pod leaves the cache, the claim stays.
  ASSERT_OK(client_->patch(resources::statefulSets(), ns_, "cached", PatchType::Merge,
                           {{"spec", {{"replicas", 0}}}}));
  ASSERT_TRUE(eventually([&] { return !cache->get(resources::pods(), ns_, "cached-0"); }));
  EXPECT_TRUE(cache->get(resources::persistentVolumeClaims(), ns_, "vn-homevn-agent-cached-0"));

  // Let the 3 s streams end and resume at least once more, then delete.
  std::this_thread::sleep_for(4s);
  ASSERT_OK(client_->remove(resources::statefulSets(), ns_, "cached"));
  ASSERT_TRUE(eventually([&] { return !cache->get(resources::statefulSets(), ns_, "cached"); }));

  const ObjectCacheHealth health = cache->health();
  EXPECT_TRUE(health.healthy) << health.lastError;
  EXPECT_GE(health.watches, 6u) << "every type's stream should have been resumed";
  EXPECT_EQ(health.lists, 3u) << "resuming needs no relist";
  const auto start = std::chrono::steady_clock::now();
  cache->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
}  // namespace sandboxd::integration
