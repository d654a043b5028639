// A hardened sandbox on the real control plane: in a namespace that enforces Pod Security
// "restricted", the API server admits the NetworkPolicy and the StatefulSet controller's pod,
// which reaches RUNNING; deleting the sandbox leaves no NetworkPolicy behind. A pod that the
// namespace refuses (security settings relaxed in the config) shows the refusal as its reason.
#include "integration/cluster_env.h"

namespace sandboxd::integration {
namespace {

class HardenedSandboxTest : public ClusterTest {
 protected:
  void enforceRestricted() {
    json patch = {{"metadata",
                   {{"labels",
                     {{"pod-security.kubernetes.io/enforce", "restricted"},
                      {"pod-security.kubernetes.io/enforce-version", "latest"}}}}}};
    ASSERT_OK(client_->patch(resources::namespaces(), "", ns_, PatchType::Merge, patch));
  }
};

TEST_F(HardenedSandboxTest, ARestrictedNamespaceAdmitsThePodAndTheNetworkPolicy) {
  enforceRestricted();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_OK(service_->create(spec("hard")));

  auto policy = get(resources::networkPolicies(), names::networkPolicy("hard"));
  ASSERT_OK(policy);
  EXPECT_EQ((*policy)["spec"]["podSelector"]["matchLabels"]["app"], "hard");
  EXPECT_EQ((*policy)["spec"]["policyTypes"], json::array({"Ingress"}));
  EXPECT_EQ((*policy)["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]
                     ["kubernetes.io/metadata.name"],
            "ingress-nginx");

  ASSERT_TRUE(waitPhase("hard", Phase::Running));
  auto pod = get(resources::pods(), names::pod("hard"));
  ASSERT_OK(pod);
  const json& podSpec = (*pod)["spec"];
  EXPECT_EQ(podSpec["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(podSpec["securityContext"]["fsGroup"], 1000);
  EXPECT_EQ(podSpec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
  EXPECT_EQ(podSpec["automountServiceAccountToken"], false);
  EXPECT_EQ(podSpec["enableServiceLinks"], false);
  const json& container = podSpec["containers"][0];
  EXPECT_EQ(container["securityContext"]["allowPrivilegeEscalation"], false);
  EXPECT_EQ(container["securityContext"]["capabilities"]["drop"], json::array({"ALL"}));
  EXPECT_EQ(container["resources"]["limits"]["ephemeral-storage"], "10Gi");
  // No service account token is mounted.
  for (const auto& volume : podSpec.value("volumes", json::array())) {
    EXPECT_FALSE(volume.contains("projected")) << volume;
  }

  ASSERT_OK(service_->remove({ns_, "hard"}, true));
  EXPECT_KIND(get(resources::networkPolicies(), names::networkPolicy("hard")), NotFound);
  EXPECT_TRUE(eventually([&] {
    auto gone = service_->isGone({ns_, "hard"}, true);
    return gone.isOk() && *gone;
  }));
}

TEST_F(HardenedSandboxTest, APodTheNamespaceRefusesShowsTheRefusalAsItsStatus) {
  enforceRestricted();
  ASSERT_FALSE(HasFatalFailure());
  config_.sandbox.security.runAsNonRoot = false;
  config_.sandbox.security.runAsUser = 0;
  config_.sandbox.security.allowPrivilegeEscalation = true;
  rebuild();
  ASSERT_OK(service_->create(spec("soft")));

  ObservedStatus last;
  EXPECT_TRUE(eventually([&] {
    auto s = service_->status({ns_, "soft"});
    if (s.isOk()) {
      last = *s;
    }
    return s.isOk() && s->reason == "PodRefused";
  })) << toString(last.phase) << " " << last.reason << ": " << last.message;
  EXPECT_EQ(last.phase, Phase::Error);
  EXPECT_NE(last.message.find("violates PodSecurity"), std::string::npos) << last.message;
  EXPECT_NE(last.message.find("allowPrivilegeEscalation"), std::string::npos) << last.message;
  EXPECT_KIND(get(resources::pods(), names::pod("soft")), NotFound);

  // Listed with the others, the reason is the same.
  auto all = service_->statusAll(ns_);
  ASSERT_OK(all);
  EXPECT_EQ(all->at("soft").reason, "PodRefused");

  ASSERT_OK(service_->remove({ns_, "soft"}, true));
}

}  // namespace
}  // namespace sandboxd::integration
