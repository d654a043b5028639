// withCallMetrics: every call through the decorator is counted once by verb, resource and
// answer code, and the answer passes through unchanged.
#include <gtest/gtest.h>

#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "sandboxd/kube/kube_call_metrics.h"
#include "sandboxd/kube/memory_cluster.h"

namespace sandboxd {
namespace {

json aSecret(const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", name}}},
          {"stringData", {{"k", "v"}}}};
}

TEST(KubeCallMetricsTest, CountsEachCallByVerbResourceAndCode) {
  auto time = std::make_shared<testing::SimulatedTimeSource>();
  auto metrics = std::make_shared<KubeCallMetrics>();
  KubeClientPtr client = withCallMetrics(std::make_shared<MemoryCluster>(time), metrics);

  ASSERT_OK(client->create(resources::secrets(), "ns", aSecret("a")));
  EXPECT_KIND(client->create(resources::secrets(), "ns", aSecret("a")),
              AlreadyExists);
  auto got = client->get(resources::secrets(), "ns", "a");
  ASSERT_OK(got);
  EXPECT_EQ((*got)["metadata"]["name"], "a");  // the answer passes through
  EXPECT_KIND(client->get(resources::secrets(), "ns", "missing"), NotFound);
  ASSERT_OK(client->list(resources::pods(), "ns"));
  ASSERT_OK(client->patch(resources::secrets(), "ns", "a", PatchType::Merge,
                          json{{"metadata", {{"labels", {{"x", "y"}}}}}}));
  ASSERT_OK(client->remove(resources::secrets(), "ns", "a"));

  const std::map<KubeCallMetrics::Key, uint64_t> expected = {
      {{"create", "secrets", 201}, 1}, {{"create", "secrets", 409}, 1},
      {{"get", "secrets", 200}, 1},    {{"get", "secrets", 404}, 1},
      {{"list", "pods", 200}, 1},      {{"patch", "secrets", 200}, 1},
      {{"delete", "secrets", 200}, 1},
  };
  EXPECT_EQ(metrics->snapshot(), expected);
}

TEST(KubeCallMetricsTest, CountsAWatchOnceWhenItEnds) {
  auto time = std::make_shared<testing::SimulatedTimeSource>();
  auto metrics = std::make_shared<KubeCallMetrics>();
  auto cluster = std::make_shared<MemoryCluster>(time);
  KubeClientPtr client = withCallMetrics(cluster, metrics);
  ASSERT_OK(client->create(resources::secrets(), "ns", aSecret("a")));

  // A cancelled watch delivers what it has (ADDED for the existing object), then ends OK.
  WatchCancellation cancel;
  int events = 0;
  EXPECT_OK(client->watch(resources::secrets(), "ns", {}, [&](const WatchEvent& e) {
    ++events;
    EXPECT_EQ(e.type, WatchEventType::Added);
    cancel.cancel();
  }, &cancel));
  EXPECT_EQ(events, 1);
  cluster->failNextWatchResumeWithGoneForTest();
  WatchOptions resume;
  resume.resourceVersion = "100";
  EXPECT_TRUE(isGone(client->watch(resources::secrets(), "ns", resume,
                                   [](const WatchEvent&) {}, nullptr)));

  const auto snapshot = metrics->snapshot();
  EXPECT_EQ(snapshot.at({"watch", "secrets", 200}), 1u);
  EXPECT_EQ(snapshot.at({"watch", "secrets", 409}), 1u) << "410 Gone is Aborted";
}

}  // namespace
}  // namespace sandboxd
