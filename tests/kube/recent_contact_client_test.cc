// withRecentContactPing: ping() is answered from other calls' answers within the window, and
// asks the API server otherwise; only answers from the server count.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "kube/decorators/forwarding_kube_client.h"
#include "kube/sim/memory_cluster.h"
#include "sandboxd/kube/recent_contact_client.h"

namespace sandboxd {
namespace {

class RecentContactClientTest : public ::testing::Test {
 protected:
  int pings() const { return cluster_->callCountsForTest()["ping"]; }

  std::shared_ptr<testing::SimulatedTimeSource> time_ =
      std::make_shared<testing::SimulatedTimeSource>();
  std::shared_ptr<MemoryCluster> cluster_ = std::make_shared<MemoryCluster>(time_);
  KubeClientPtr client_ = withRecentContactPing(cluster_, time_, std::chrono::seconds(5));
};

TEST_F(RecentContactClientTest, AsksTheServerWhenNothingWasHeard) {
  EXPECT_OK(client_->ping());
  EXPECT_EQ(pings(), 1);
}

TEST_F(RecentContactClientTest, AnAnswerWithinTheWindowStandsInForThePing) {
  ASSERT_OK(client_->list(resources::pods(), "ns"));
  time_->advance(std::chrono::seconds(5));
  EXPECT_OK(client_->ping());
  EXPECT_EQ(pings(), 0);

  time_->advance(std::chrono::milliseconds(5001));  // the window has passed
  EXPECT_OK(client_->ping());
  EXPECT_EQ(pings(), 1);
  EXPECT_OK(client_->ping());  // the ping's own answer counts
  EXPECT_EQ(pings(), 1);
}

// An inner client whose list text is its own, not list()'s answer serialized.
class OwnTextClient : public ForwardingKubeClient {
 public:
  using ForwardingKubeClient::ForwardingKubeClient;
  StatusOr<std::string> listText(const ResourceType&, const std::string&,
                                 const ListOptions&) override {
    return std::string(R"({"kind":"PodList","metadata":{"resourceVersion":"7"},"items":[]})");
  }
};

TEST_F(RecentContactClientTest, ListTextIsTheInnerClientsTextAndAnAnswer) {
  KubeClientPtr client =
      withRecentContactPing(std::make_shared<OwnTextClient>(cluster_), time_);
  auto text = client->listText(resources::pods(), "ns");
  ASSERT_OK(text);
  EXPECT_EQ(json::parse(*text)["metadata"]["resourceVersion"], "7");
  EXPECT_OK(client->ping());
  EXPECT_EQ(pings(), 0);
}

TEST_F(RecentContactClientTest, ErrorsTheServerAnsweredCountAndOthersDoNot) {
  EXPECT_KIND(client_->get(resources::secrets(), "ns", "missing"), NotFound);
  EXPECT_OK(client_->ping());
  EXPECT_EQ(pings(), 0);

  for (const Status& noAnswer :
       {unavailable("connection refused"), unauthenticated("401"), permissionDenied("403"),
        resourceExhausted("429")}) {
    time_->advance(std::chrono::seconds(6));
    cluster_->failNextForTest("get", "*", noAnswer);
    EXPECT_FALSE(client_->get(resources::secrets(), "ns", "missing").isOk());
    const int before = pings();
    EXPECT_OK(client_->ping());
    EXPECT_EQ(pings(), before + 1) << noAnswer.toString() << " is not an answer";
  }
}

TEST_F(RecentContactClientTest, AFailedPingIsReportedAndNotRemembered) {
  cluster_->failNextForTest("ping", "*", unavailable("down"));
  EXPECT_KIND(client_->ping(), Unavailable);
  EXPECT_OK(client_->ping());  // asks again
  EXPECT_EQ(pings(), 2);
}

TEST_F(RecentContactClientTest, WatchEventsAreAnswers) {
  WatchCancellation cancel;
  std::atomic<int> events{0};
  std::thread watcher([&] {
    WatchOptions options;
    EXPECT_OK(client_->watch(
        resources::secrets(), "ns", options,
        [&](const WatchEvent&) {
          ++events;
          cancel.cancel();
        },
        &cancel));
  });
  json secret = {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "s"}}}};
  ASSERT_OK(cluster_->create(resources::secrets(), "ns", secret));  // not through the decorator
  watcher.join();
  ASSERT_EQ(events.load(), 1);
  EXPECT_OK(client_->ping());
  EXPECT_EQ(pings(), 0);
}

}  // namespace
}  // namespace sandboxd
