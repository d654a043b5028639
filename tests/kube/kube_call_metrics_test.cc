// withCallMetrics: every call through the decorator is counted once by verb, resource and
// answer code, and the answer passes through unchanged.
#include <gtest/gtest.h>

#include <thread>

#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "kube/sim/memory_cluster.h"
#include "sandboxd/kube/kube_call_metrics.h"

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
  auto text = client->listText(resources::pods(), "ns");  // a list too
  ASSERT_OK(text);
  EXPECT_EQ(json::parse(*text)["kind"], "PodList");
  ASSERT_OK(client->patch(resources::secrets(), "ns", "a", PatchType::Merge,
                          json{{"metadata", {{"labels", {{"x", "y"}}}}}}));
  ASSERT_OK(client->remove(resources::secrets(), "ns", "a"));

  const std::map<KubeCallMetrics::Key, uint64_t> expected = {
      {{"create", "secrets", 201}, 1}, {{"create", "secrets", 409}, 1},
      {{"get", "secrets", 200}, 1},    {{"get", "secrets", 404}, 1},
      {{"list", "pods", 200}, 2},      {{"patch", "secrets", 200}, 1},
      {{"delete", "secrets", 200}, 1},
  };
  EXPECT_EQ(metrics->snapshot(), expected);
}

TEST(KubeCallMetricsTest, TimesEachCallAndKeepsEachThreadsTotal) {
  auto time = std::make_shared<testing::SimulatedTimeSource>();
  auto metrics = std::make_shared<KubeCallMetrics>();
  KubeClientPtr client = withCallMetrics(std::make_shared<MemoryCluster>(time), metrics);

  const auto before = KubeCallMetrics::threadCallTime();
  ASSERT_OK(client->create(resources::secrets(), "ns", aSecret("a")));
  EXPECT_KIND(client->get(resources::secrets(), "ns", "missing"), NotFound);
  ASSERT_OK(client->get(resources::secrets(), "ns", "a"));
  const auto mine = KubeCallMetrics::threadCallTime() - before;

  // Calls on another thread count in the metrics, not in this thread's total.
  std::thread([&] {
    EXPECT_OK(client->list(resources::pods(), "ns"));
  }).join();
  EXPECT_EQ(KubeCallMetrics::threadCallTime() - before, mine);

  const auto timings = metrics->timings();
  ASSERT_EQ(timings.size(), 3u);
  EXPECT_EQ(timings.at({"create", "secrets"}).count, 1u);
  EXPECT_EQ(timings.at({"get", "secrets"}).count, 2u) << "found and not found alike";
  EXPECT_EQ(timings.at({"list", "pods"}).count, 1u);
  // This thread's total is exactly what its calls recorded.
  EXPECT_EQ(mine, timings.at({"create", "secrets"}).total + timings.at({"get", "secrets"}).total);
  EXPECT_GT(mine.count(), 0);
  // Timed calls are counted as before.
  EXPECT_EQ(metrics->snapshot().at({"get", "secrets", 404}), 1u);
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
