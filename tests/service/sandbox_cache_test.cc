// What serve's watch cache keeps (sandboxCacheOptions: trimmed objects, indexed by `app`) and
// the StatusIndex kept from it are enough: status read through the cache, and status answered
// by the index, equal status read from the cluster's whole objects, in every state a sandbox
// goes through; for one sandbox and for all of them.
#include "sandboxd/service/sandbox_cache.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "fakes/status_matchers.h"
#include "kube/cache/object_cache.h"
#include "kube/kube_test_objects.h"
#include "sandboxd/kube/cached_read_client.h"
#include "sandboxd/model/naming.h"
#include "sandboxd/service/status_index.h"
#include "service_fixture.h"

namespace sandboxd {
namespace {

using namespace std::chrono_literals;

std::string describeStatus(const ObservedStatus& s) {
  return std::string(toString(s.phase)) + "/" + s.reason + " \"" + s.message + "\" " +
         std::to_string(s.readyReplicas) + "/" + std::to_string(s.desiredReplicas) +
         (s.exists ? " exists" : " missing");
}

class SandboxCacheTest : public testing::ServiceFixture {
 protected:
  void SetUp() override {
    ServiceFixture::SetUp();
    ObjectCacheOptions options = sandboxCacheOptions("default");
    cache_ = std::make_shared<ObjectCache>(cluster_, options, time_);
    cache_->start();
    ASSERT_TRUE(cache_->waitForSync(5s));
    KubeClientPtr reads = withCachedReads(cluster_, cache_, options);
    cached_ = makeKubernetesService(reads, renderer_, config_.sandbox);
    index_ = std::make_shared<StatusIndex>(cache_, "default");
    cache_->setListener([this](const ResourceType& type, const json& object, bool deleted) {
      index_->objectChanged(type, object, deleted);
    });
    ASSERT_TRUE(index_->rebuild());
    indexed_ = makeKubernetesService(reads, renderer_, config_.sandbox, index_);
  }
  void TearDown() override { cache_->stop(); }

  // The status through the cache and from the index become the status from the cluster (the
  // cache follows by watch, so it may lag for a moment); for this sandbox and for all.
  void expectSameStatus(const std::string& name, const std::string& when) {
    std::string direct;
    std::string viaCache;
    std::string viaIndex;
    const bool same = testing::eventually([&] {
      auto a = service_->status({"default", name});
      auto b = cached_->status({"default", name});
      auto c = indexed_->status({"default", name});
      if (!a.isOk() || !b.isOk() || !c.isOk()) {
        return false;
      }
      direct = describeStatus(*a);
      viaCache = describeStatus(*b);
      viaIndex = describeStatus(*c);
      return direct == viaCache && direct == viaIndex;
    });
    EXPECT_TRUE(same) << when << ": from the cluster " << direct << ", through the cache "
                      << viaCache << ", from the index " << viaIndex;
    std::string allDirect;
    std::string allIndexed;
    EXPECT_TRUE(testing::eventually([&] {
      auto a = service_->statusAll("default");
      auto c = indexed_->statusAll("default");
      if (!a.isOk() || !c.isOk()) {
        return false;
      }
      allDirect.clear();
      allIndexed.clear();
      for (const auto& [n, st] : *a) {
        allDirect += n + "=" + describeStatus(st) + "\n";
      }
      for (const auto& [n, st] : *c) {
        allIndexed += n + "=" + describeStatus(st) + "\n";
      }
      return allDirect == allIndexed;
    })) << when << ": statusAll from the cluster\n"
        << allDirect << "from the index\n"
        << allIndexed;
    // statusOf: every sandbox, this one and a name no sandbox has, sorted (as a list asks) and
    // reversed; each as statusAll from the cluster has it, through the index and without.
    std::string want;
    std::string got;
    EXPECT_TRUE(testing::eventually([&] {
      auto all = service_->statusAll("default");
      if (!all.isOk()) {
        return false;
      }
      std::set<std::string> wanted = {name, "zz-none"};
      for (const auto& [n, st] : *all) {
        wanted.insert(n);
      }
      const std::vector<std::string> sorted(wanted.begin(), wanted.end());
      const std::vector<std::string> reversed(wanted.rbegin(), wanted.rend());
      want.clear();
      got.clear();
      for (const auto* names : {&sorted, &reversed}) {
        for (const auto& service : {service_, indexed_}) {
          auto some = service->statusOf("default", *names);
          if (!some.isOk() || some->size() != names->size()) {
            return false;
          }
          for (size_t i = 0; i < names->size(); ++i) {
            const auto it = all->find((*names)[i]);
            want += (*names)[i] + "=" + (it == all->end() ? "none" : describeStatus(it->second)) +
                    "\n";
            got += (*names)[i] + "=" + ((*some)[i] ? describeStatus(*(*some)[i]) : "none") + "\n";
          }
        }
      }
      return want == got;
    })) << when << ": statusOf, as statusAll has them\n"
        << want << "answered\n"
        << got;
  }

  std::shared_ptr<ObjectCache> cache_;
  KubernetesServicePtr cached_;
  std::shared_ptr<StatusIndex> index_;
  KubernetesServicePtr indexed_;
};

TEST_F(SandboxCacheTest, StatusThroughTheTrimmedCacheEqualsStatusFromWholeObjects) {
  ASSERT_OK(service_->create(spec("demo")));
  expectSameStatus("demo", "just created");
  waitReady();
  expectSameStatus("demo", "ready");
  ASSERT_OK(service_->stop({"default", "demo"}));
  expectSameStatus("demo", "stopped");
  ASSERT_OK(service_->start({"default", "demo"}));
  expectSameStatus("demo", "starting again");

  cluster_->setPodFailureForTest("crash", "CrashLoopBackOff");
  ASSERT_OK(service_->create(spec("crash")));
  waitReady();
  expectSameStatus("crash", "crash looping");

  cluster_->setPvcPendingForTest(true);
  ASSERT_OK(service_->create(spec("nodisk")));
  expectSameStatus("nodisk", "claim pending");
  expectSameStatus("nosuch", "never created");

  // A sandbox from before the migration (a Deployment: not in the index) is still answered.
  json legacy = {
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata",
       {{"name", "old"},
        {"labels", {{"app", "old"}, {"cloud.sealos.io/app-deploy-manager", "old"}}}}},
      {"spec",
       {{"replicas", 1},
        {"selector", {{"matchLabels", {{"app", "old"}}}}},
        {"template",
         {{"metadata", {{"labels", {{"app", "old"}}}}},
          {"spec", {{"containers", json::array({{{"name", "old"}, {"image", "nginx"}}})}}}}}}}};
  ASSERT_OK(cluster_->create(resources::deployments(), "default", legacy).status());
  waitReady();
  expectSameStatus("old", "legacy Deployment");

  // Deleted: the index drops it, and the reads that fall back agree.
  ASSERT_OK(service_->remove({"default", "demo"}, /*purge=*/true));
  expectSameStatus("demo", "deleted");
  EXPECT_FALSE(index_->get("demo").has_value());
  EXPECT_TRUE(index_->get("crash").has_value());
}

// Before the cache has synced the index does not answer (reads fall back to the objects);
// once it has, rebuild() derives every sandbox that existed before the first list.
TEST_F(SandboxCacheTest, TheIndexAnswersOnlyOnceBuiltFromASyncedCache) {
  ASSERT_OK(service_->create(spec("early")));
  waitReady();
  auto cache = std::make_shared<ObjectCache>(cluster_, sandboxCacheOptions("default"), time_);
  StatusIndex index(cache, "default");
  EXPECT_FALSE(index.rebuild()) << "not started, so not synced";
  EXPECT_FALSE(index.get("early").has_value());
  EXPECT_FALSE(index.all().has_value());
  cache->start();
  ASSERT_TRUE(cache->waitForSync(5s));
  auto got = index.get("early");  // builds on first use
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->phase, Phase::Running);
  ASSERT_TRUE(index.all().has_value());
  EXPECT_EQ(index.all()->size(), 1u);
  cache->stop();
}

// With a thousand sandboxes or more the rebuild is spread over threads; every status still
// equals the one derived from the cluster's whole objects.
TEST_F(SandboxCacheTest, ARebuildOverThousandsOfSandboxesDerivesEachOne) {
  cluster_->setPodFailureForTest("crash-7", "CrashLoopBackOff");
  constexpr int kSandboxes = 1100;
  for (int i = 0; i < kSandboxes; ++i) {
    ASSERT_OK(service_->create(spec((i % 100 == 7 ? "crash-" : "s-") + std::to_string(i))));
  }
  waitReady();
  for (int i = 0; i < kSandboxes; i += 3) {
    if (i % 100 != 7) {
      ASSERT_OK(service_->stop({"default", "s-" + std::to_string(i)}));
    }
  }
  auto cache = std::make_shared<ObjectCache>(cluster_, sandboxCacheOptions("default"), time_);
  cache->start();
  ASSERT_TRUE(cache->waitForSync(5s));
  StatusIndex index(cache, "default");
  ASSERT_TRUE(index.rebuild());
  auto all = index.all();
  ASSERT_TRUE(all.has_value());
  auto direct = service_->statusAll("default");
  ASSERT_OK(direct.status());
  ASSERT_EQ(all->size(), static_cast<size_t>(kSandboxes));
  std::map<std::string, int> phases;
  for (const auto& [name, status] : *direct) {
    const auto it = all->find(name);
    ASSERT_NE(it, all->end()) << name;
    EXPECT_EQ(describeStatus(it->second), describeStatus(status)) << name;
    phases[toString(status.phase)]++;
  }
  EXPECT_GE(phases.size(), 3u) << "running, stopped and failing sandboxes among them";
  cache->stop();
}

TEST(TrimForStatusTest, KeepsWhatStatusReadsAndDropsTheRest) {
  json sts = testing::sandboxStatefulSet("demo");
  sts["metadata"]["managedFields"] = json::array({{{"manager", "sandboxd"}}});
  sts["metadata"]["annotations"] = {{"kubectl.kubernetes.io/last-applied-configuration", "{}"},
                                    {"sandboxd.io/keep", "yes"}};
  sts["status"] = {{"replicas", 1}, {"readyReplicas", 1}};
  json trimmed = sts;
  trimForStatus(resources::statefulSets(), trimmed);
  EXPECT_FALSE(trimmed["metadata"].contains("managedFields"));
  EXPECT_FALSE(trimmed["metadata"].contains("annotations"));
  json ownLabels = sts["metadata"]["labels"];
  ownLabels.erase("sandboxd.io/sandbox");  // not one of sandboxd's (model/naming.h)
  EXPECT_EQ(trimmed["metadata"]["labels"], ownLabels);
  EXPECT_TRUE(ownLabels.contains(labels::kApp));
  EXPECT_TRUE(ownLabels.contains(labels::kManagedBy));
  EXPECT_EQ(trimmed["metadata"]["name"], "demo");
  EXPECT_EQ(trimmed["spec"], json({{"replicas", 1}, {"selector", sts["spec"]["selector"]}}));
  EXPECT_EQ(trimmed["status"], sts["status"]);
  EXPECT_FALSE(trimmed.contains("kind")) << "as in the API server's list items";
  EXPECT_FALSE(trimmed.contains("apiVersion"));

  json pod = {{"metadata",
               {{"name", "demo-0"},
                {"uid", "0b6f1c9e-6f0a-4c52-9d64-1f2a3b4c5d6e"},
                {"labels",
                 {{"app", "demo"},
                  {"controller-revision-hash", "demo-5d4f8b7c9"},
                  {"statefulset.kubernetes.io/pod-name", "demo-0"},
                  {"apps.kubernetes.io/pod-index", "0"}}},
                {"ownerReferences", json::array({{{"kind", "StatefulSet"}}})},
                {"deletionTimestamp", "2026-01-01T00:00:00Z"}}},
              {"spec", {{"nodeName", "n1"}, {"containers", json::array({{{"name", "x"}}})}}},
              {"status",
               {{"phase", "Running"},
                {"podIP", "10.0.0.1"},
                {"conditions", json::array({{{"type", "Ready"},
                                             {"status", "True"},
                                             {"lastTransitionTime", "2026-01-01T00:00:00Z"}}})},
                {"containerStatuses",
                 json::array({{{"name", "x"},
                               {"ready", false},
                               {"restartCount", 3},
                               {"image", "img:v1"},
                               {"imageID", "sha256:abc"},
                               {"containerID", "containerd://abc"},
                               {"state", {{"waiting", {{"reason", "CrashLoopBackOff"}}}}},
                               {"lastState", {{"terminated", {{"exitCode", 1}}}}}}})}}}};
  trimForStatus(resources::pods(), pod);
  // The uid stays: an env change deletes a stuck pod with it as a precondition.
  EXPECT_EQ(pod["metadata"], json({{"name", "demo-0"},
                                   {"labels", {{"app", "demo"}}},
                                   {"uid", "0b6f1c9e-6f0a-4c52-9d64-1f2a3b4c5d6e"},
                                   {"deletionTimestamp", "2026-01-01T00:00:00Z"}}))
      << "sandboxd's labels, not the controllers'";
  EXPECT_EQ(pod["spec"], json({{"nodeName", "n1"}}));
  EXPECT_EQ(pod["status"],
            json({{"phase", "Running"},
                  {"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})},
                  {"containerStatuses",
                   json::array({{{"name", "x"},
                                 {"ready", false},
                                 {"restartCount", 3},
                                 {"state", {{"waiting", {{"reason", "CrashLoopBackOff"}}}}}}})}}));

  json pvc = {{"metadata", {{"name", "home"}, {"labels", {{"app", "demo"}}}}},
              {"spec",
               {{"storageClassName", "fast"},
                {"volumeName", "pv-1"},
                {"accessModes", json::array({"ReadWriteOnce"})},
                {"resources", {{"requests", {{"storage", "5Gi"}}}}}}},
              {"status", {{"phase", "Bound"}, {"capacity", {{"storage", "5Gi"}}}}}};
  trimForStatus(resources::persistentVolumeClaims(), pvc);
  EXPECT_EQ(pvc, json({{"metadata", {{"name", "home"}, {"labels", {{"app", "demo"}}}}},
                       {"spec", {{"storageClassName", "fast"}}},
                       {"status", {{"phase", "Bound"}}}}))
      << "a claim keeps what derivation reads";
}

}  // namespace
}  // namespace sandboxd
