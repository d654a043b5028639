// withAccessChecks and the rules review behind it: which RBAC rules grant a permission, what
// ping() says when one is missing, when the review is asked again, and how refusals of
// sandboxd's own identity reach its callers.
#include <gtest/gtest.h>

#include <atomic>

#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "kube/decorators/forwarding_kube_client.h"
#include "kube/sim/memory_cluster.h"
#include "sandboxd/kube/access_check.h"

namespace sandboxd {
namespace {

using namespace std::chrono_literals;

json rule(std::vector<std::string> groups, std::vector<std::string> resources,
          std::vector<std::string> verbs, std::vector<std::string> names = {}) {
  json r = {{"apiGroups", groups}, {"resources", resources}, {"verbs", verbs}};
  if (!names.empty()) {
    r["resourceNames"] = names;
  }
  return r;
}

TEST(RuleGrantsTest, AsTheRbacAuthorizerMatches) {
  const Permission scale{"apps", "statefulsets/scale", "patch"};
  const Permission listPods{"", "pods", "list"};
  struct Case {
    const char* name;
    json rule;
    Permission permission;
    bool granted;
  };
  const std::vector<Case> cases = {
      {"exact", rule({"apps"}, {"statefulsets/scale"}, {"patch"}), scale, true},
      {"other verb", rule({"apps"}, {"statefulsets/scale"}, {"get"}), scale, false},
      {"the resource is not its subresource", rule({"apps"}, {"statefulsets"}, {"patch"}), scale,
       false},
      {"other group", rule({"extensions"}, {"statefulsets/scale"}, {"patch"}), scale, false},
      {"any subresource scale", rule({"apps"}, {"*/scale"}, {"patch"}), scale, true},
      {"any resource", rule({"apps"}, {"*"}, {"patch"}), scale, true},
      {"any verb", rule({"apps"}, {"statefulsets/scale"}, {"*"}), scale, true},
      {"any group", rule({"*"}, {"statefulsets/scale"}, {"patch"}), scale, true},
      {"core group is the empty string", rule({""}, {"pods"}, {"list", "watch"}), listPods,
       true},
      {"a named group is not core", rule({"apps"}, {"pods"}, {"list"}), listPods, false},
      {"named objects only", rule({""}, {"pods"}, {"list"}, {"p1"}), listPods, false},
      {"no verbs", json{{"apiGroups", {""}}, {"resources", {"pods"}}}, listPods, false},
      {"not an object", json::array(), listPods, false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ruleGrants(c.rule, c.permission), c.granted) << c.name;
  }
}

TEST(PermissionTest, ReadsAsTheApiServersForbiddenMessage) {
  EXPECT_EQ((Permission{"apps", "statefulsets/scale", "patch"}).toString(),
            "patch statefulsets/scale in API group \"apps\"");
  EXPECT_EQ((Permission{"", "pods", "list"}).toString(), "list pods in API group \"\"");
}

// The simulated cluster, answering SelfSubjectRulesReviews with `rules` (or `reviewError`).
class RulesReviewCluster : public ForwardingKubeClient {
 public:
  explicit RulesReviewCluster(KubeClientPtr inner) : ForwardingKubeClient(std::move(inner)) {}

  StatusOr<json> create(const ResourceType& type, const std::string& ns, const json& object,
                        const WriteOptions& options) override {
    if (type.plural != "selfsubjectrulesreviews") {
      return ForwardingKubeClient::create(type, ns, object, options);
    }
    ++reviews;
    std::lock_guard<std::mutex> lock(mu);
    lastNamespace = object["spec"].value("namespace", "");
    if (!reviewError.isOk()) {
      return reviewError;
    }
    return json{{"kind", "SelfSubjectRulesReview"},
                {"status", {{"resourceRules", rules}, {"incomplete", incomplete}}}};
  }

  std::atomic<int> reviews{0};
  std::mutex mu;
  json rules = json::array();
  bool incomplete = false;
  Status reviewError;
  std::string lastNamespace;
};

class AccessCheckTest : public ::testing::Test {
 protected:
  const std::vector<Permission> required_ = {{"apps", "statefulsets", "list"},
                                             {"apps", "statefulsets/scale", "patch"},
                                             {"", "pods", "watch"}};

  std::shared_ptr<testing::SimulatedTimeSource> time_ =
      std::make_shared<testing::SimulatedTimeSource>();
  std::shared_ptr<MemoryCluster> memory_ = std::make_shared<MemoryCluster>(time_);
  std::shared_ptr<RulesReviewCluster> cluster_ = std::make_shared<RulesReviewCluster>(memory_);
  KubeClientPtr client_ = withAccessChecks(cluster_, "sandboxes", required_, time_);

  void grantAll() {
    cluster_->rules = json::array({rule({"apps"}, {"statefulsets"}, {"list", "watch"}),
                                   rule({"apps"}, {"statefulsets/scale"}, {"patch"}),
                                   rule({""}, {"pods"}, {"list", "watch"})});
  }
};

TEST_F(AccessCheckTest, ReviewListsWhatNoRuleGrants) {
  cluster_->rules = json::array({rule({"apps"}, {"statefulsets"}, {"list"})});
  auto review = reviewPermissions(*cluster_, "sandboxes", required_);
  ASSERT_OK(review);
  EXPECT_EQ(cluster_->lastNamespace, "sandboxes");
  EXPECT_FALSE(review->incomplete);
  EXPECT_EQ(review->missing, (std::vector<Permission>{{"apps", "statefulsets/scale", "patch"},
                                                      {"", "pods", "watch"}}));
}

TEST_F(AccessCheckTest, PingNamesEveryMissingPermissionAndTheNamespace) {
  cluster_->rules = json::array({rule({"apps"}, {"statefulsets"}, {"list"})});
  Status ping = client_->ping();
  EXPECT_KIND(ping, Unavailable);
  EXPECT_NE(ping.message().find("namespace sandboxes"), std::string::npos) << ping.message();
  EXPECT_NE(ping.message().find("patch statefulsets/scale in API group \"apps\""),
            std::string::npos)
      << ping.message();
  EXPECT_NE(ping.message().find("watch pods in API group \"\""), std::string::npos)
      << ping.message();
  EXPECT_EQ(ping.message().find("list statefulsets"), std::string::npos)
      << "granted, so not named: " << ping.message();
}

TEST_F(AccessCheckTest, AllGrantedIsReadyAndReviewedAgainOnlyAfterTheInterval) {
  grantAll();
  EXPECT_OK(client_->ping());
  EXPECT_OK(client_->ping());
  EXPECT_EQ(cluster_->reviews, 1);
  time_->advance(59s);
  EXPECT_OK(client_->ping());
  EXPECT_EQ(cluster_->reviews, 1);
  time_->advance(1s);
  cluster_->rules = json::array();  // the Role was emptied meanwhile
  EXPECT_KIND(client_->ping(), Unavailable);
  EXPECT_EQ(cluster_->reviews, 2);
}

TEST_F(AccessCheckTest, AMissingPermissionIsReviewedSoonSoAFixedRoleIsSeen) {
  cluster_->rules = json::array();
  EXPECT_KIND(client_->ping(), Unavailable);
  grantAll();
  time_->advance(4s);
  EXPECT_KIND(client_->ping(), Unavailable) << "the last verdict, until the next review";
  time_->advance(1s);
  EXPECT_OK(client_->ping());
  EXPECT_EQ(cluster_->reviews, 2);
}

TEST_F(AccessCheckTest, ARefusedCallMakesTheNextPingReviewAgain) {
  grantAll();
  EXPECT_OK(client_->ping());
  cluster_->rules = json::array({rule({"apps"}, {"statefulsets"}, {"list"})});
  memory_->failNextForTest("patch", "StatefulSet",
                           Status(ErrorKind::PermissionDenied, "statefulsets.apps is forbidden"));
  time_->advance(5s);  // long before the 60 s of a granted verdict
  EXPECT_FALSE(client_->patch(resources::statefulSets(), "sandboxes", "a", PatchType::Merge,
                              json::object(), {}, "scale")
                   .isOk());
  EXPECT_KIND(client_->ping(), Unavailable);
  EXPECT_EQ(cluster_->reviews, 2);
}

TEST_F(AccessCheckTest, AnIncompleteOrFailedReviewDoesNotMakeItUnready) {
  cluster_->rules = json::array();
  cluster_->incomplete = true;  // e.g. a webhook authorizer may grant what is not listed
  EXPECT_OK(client_->ping());
  time_->advance(5s);
  cluster_->reviewError = Status(ErrorKind::PermissionDenied, "no reviews here");
  EXPECT_OK(client_->ping());
  EXPECT_EQ(cluster_->reviews, 2);
}

TEST_F(AccessCheckTest, RefusalsOfSandboxdsIdentityReachCallersAsUnavailable) {
  memory_->failNextForTest(
      "create", "Ingress",
      Status(ErrorKind::PermissionDenied,
             "ingresses.networking.k8s.io is forbidden: cannot create resource \"ingresses\""));
  auto created = client_->create(resources::ingresses(), "sandboxes",
                                 json{{"metadata", {{"name", "a"}}}}, {});
  EXPECT_KIND(created, Unavailable);
  EXPECT_NE(created.status().message().find("cannot create resource \"ingresses\""),
            std::string::npos)
      << created.status().message();
  EXPECT_NE(created.status().message().find("sandboxd's own identity"), std::string::npos)
      << created.status().message();

  memory_->failNextForTest("list", "Pod", Status(ErrorKind::Unauthenticated, "Unauthorized"));
  auto listed = client_->list(resources::pods(), "sandboxes", {});
  EXPECT_KIND(listed, Unavailable);
  EXPECT_NE(listed.status().message().find("sandboxd's own credentials"), std::string::npos)
      << listed.status().message();

  // Other errors pass unchanged.
  EXPECT_KIND(client_->get(resources::pods(), "sandboxes", "missing"), NotFound);
}

}  // namespace
}  // namespace sandboxd
