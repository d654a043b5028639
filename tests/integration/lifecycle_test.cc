// The sandbox lifecycle through KubernetesService against a real kube-apiserver,
// kube-controller-manager (StatefulSet, GC, PVC protection, PV binder), scheduler and KWOK.
#include "fakes/manifest_lookup.h"
#include "integration/cluster_env.h"

namespace sandboxd::integration {
namespace {

using testing::findEnv;

std::string pvcUid(ClusterTest& t, KubeClientPtr& client, const std::string& ns,
                   const std::string& name) {
  auto pvc = client->get(resources::persistentVolumeClaims(), ns, names::pvc(name));
  return pvc.isOk() ? (*pvc)["metadata"].value("uid", "") : "";
}

class LifecycleTest : public ClusterTest {};

TEST_F(LifecycleTest, CreateMakesTheExactObjectsAndReachesRunning) {
  SandboxSpec s = spec("demo");
  s.secretEnv = {{"API_KEY", "s3cret"}};
  ASSERT_OK(service_->create(s));

  auto sts = get(resources::statefulSets(), "demo");
  ASSERT_OK(sts);
  const json& spec = (*sts)["spec"];
  EXPECT_EQ(spec["serviceName"], "demo-service");
  EXPECT_EQ(spec["replicas"], 1);
  EXPECT_EQ(spec["updateStrategy"]["type"], "RollingUpdate");
  const json& vct = spec["volumeClaimTemplates"][0];
  EXPECT_EQ(vct["metadata"]["name"], "vn-homevn-agent");
  EXPECT_EQ(vct["metadata"]["annotations"]["path"], "/home/agent");
  EXPECT_EQ(vct["metadata"]["annotations"]["value"], "5");
  EXPECT_EQ(vct["spec"]["accessModes"], json::array({"ReadWriteOnce"}));
  EXPECT_EQ(vct["spec"]["resources"]["requests"]["storage"], "5Gi");
  const json& podSpec = spec["template"]["spec"];
  EXPECT_EQ(podSpec["containers"][0]["volumeMounts"][0]["mountPath"], "/home/agent");
  EXPECT_FALSE(podSpec.contains("volumes"));
  const json& ann = (*sts)["metadata"]["annotations"];
  EXPECT_EQ(ann["originImageName"], s.image);
  EXPECT_EQ(ann["deploy.cloud.sealos.io/minReplicas"], "1");
  EXPECT_EQ(ann["deploy.cloud.sealos.io/maxReplicas"], "1");
  EXPECT_EQ(ann["deploy.cloud.sealos.io/resize"], "5Gi");
  EXPECT_EQ((*sts)["metadata"]["labels"]["cloud.sealos.io/app-deploy-manager"], "demo");

  auto svc = get(resources::services(), "demo-service");
  ASSERT_OK(svc);
  EXPECT_EQ((*svc)["spec"]["clusterIP"], "None");
  EXPECT_EQ((*svc)["spec"]["selector"]["app"], "demo");
  EXPECT_OK(get(resources::ingresses(), "demo-app-ingress"));
  auto secret = get(resources::secrets(), "demo-env");
  ASSERT_OK(secret);
  EXPECT_TRUE((*secret)["data"].contains("API_KEY"));

  // The StatefulSet controller makes the claim from the template; the PV binder binds it.
  ASSERT_TRUE(eventually([&] {
    auto pvc = get(resources::persistentVolumeClaims(), "vn-homevn-agent-demo-0");
    return pvc.isOk() && (*pvc)["status"].value("phase", "") == "Bound";
  })) << "PVC vn-homevn-agent-demo-0 was not created and bound";
  waitPhase("demo", Phase::Running);
  auto pod = get(resources::pods(), "demo-0");
  ASSERT_OK(pod);
  EXPECT_EQ((*pod)["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "vn-homevn-agent-demo-0");
  EXPECT_EQ((*findEnv((*pod)["spec"], "API_KEY"))["valueFrom"]["secretKeyRef"]["name"],
            "demo-env");
}

TEST_F(LifecycleTest, StopKeepsTheVolumeAndStartReattachesTheSameOne) {
  ASSERT_OK(service_->create(spec("box")));
  ASSERT_TRUE(waitPhase("box", Phase::Running));
  std::string uid = pvcUid(*this, client_, ns_, "box");
  ASSERT_FALSE(uid.empty());

  ASSERT_OK(service_->stop({ns_, "box"}));
  EXPECT_EQ((*get(resources::statefulSets(), "box"))["spec"]["replicas"], 0);
  ASSERT_TRUE(waitPhase("box", Phase::Stopped));
  EXPECT_KIND(get(resources::pods(), "box-0"), NotFound);
  EXPECT_EQ(pvcUid(*this, client_, ns_, "box"), uid) << "the home volume survives a stop";
  ASSERT_OK(service_->stop({ns_, "box"}));  // a no-op
  EXPECT_EQ((*get(resources::statefulSets(), "box"))["spec"]["replicas"], 0);

  ASSERT_OK(service_->start({ns_, "box"}));
  ASSERT_TRUE(waitPhase("box", Phase::Running));
  auto pod = get(resources::pods(), "box-0");
  ASSERT_OK(pod);
  EXPECT_EQ((*pod)["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "vn-homevn-agent-box-0");
  EXPECT_EQ(pvcUid(*this, client_, ns_, "box"), uid);
}

TEST_F(LifecycleTest, UpdateEnvRollsThePodAndKeepsSecretsInTheSecret) {
  SandboxSpec s = spec("envbox");
  s.env = {{"KEEP", "kept"}, {"DROP", "gone"}};
  ASSERT_OK(service_->create(s));
  ASSERT_TRUE(waitPhase("envbox", Phase::Running));
  std::string firstPodUid = (*get(resources::pods(), "envbox-0"))["metadata"]["uid"];

  EnvChange change;
  change.set = {{"NEW", "new-value"}};
  change.setSecret = {{"TOKEN", "t0ps3cret"}};
  change.unset = {"DROP"};
  ASSERT_OK(service_->updateEnv(s, change));

  auto sts = get(resources::statefulSets(), "envbox");
  ASSERT_OK(sts);
  const json& podSpec = (*sts)["spec"]["template"]["spec"];
  EXPECT_EQ((*findEnv(podSpec, "KEEP"))["value"], "kept");
  EXPECT_EQ((*findEnv(podSpec, "NEW"))["value"], "new-value");
  EXPECT_EQ(findEnv(podSpec, "DROP"), nullptr);
  EXPECT_EQ((*findEnv(podSpec, "TOKEN"))["valueFrom"]["secretKeyRef"]["key"], "TOKEN");
  EXPECT_EQ(sts->dump().find("t0ps3cret"), std::string::npos);
  auto secret = get(resources::secrets(), "envbox-env");
  ASSERT_OK(secret);
  EXPECT_TRUE((*secret)["data"].contains("TOKEN"));

  // The controller replaces the pod with one from the new template.
  ASSERT_TRUE(eventually([&] {
    auto pod = get(resources::pods(), "envbox-0");
    return pod.isOk() && (*pod)["metadata"]["uid"] != firstPodUid &&
           findEnv((*pod)["spec"], "NEW") != nullptr;
  })) << "the pod was not rolled to the new env";
  waitPhase("envbox", Phase::Running);
}

TEST_F(LifecycleTest, ANewSecretValueRollsThePodAndKeepsTheVolume) {
  SandboxSpec s = spec("rotate");
  s.secretEnv = {{"TOKEN", "first-value"}};
  ASSERT_OK(service_->create(s));
  ASSERT_TRUE(waitPhase("rotate", Phase::Running));
  const std::string firstPod = (*get(resources::pods(), "rotate-0"))["metadata"]["uid"];
  const std::string volume = pvcUid(*this, client_, ns_, "rotate");

  // Only the value changes: the env entry (a secretKeyRef) stays the same.
  EnvChange change;
  change.setSecret = {{"TOKEN", "second-value"}};
  ASSERT_OK(service_->updateEnv(s, change));
  ASSERT_TRUE(eventually([&] {
    auto pod = get(resources::pods(), "rotate-0");
    return pod.isOk() && (*pod)["metadata"]["uid"] != firstPod;
  })) << "a new secret value did not roll the pod";
  ASSERT_TRUE(waitPhase("rotate", Phase::Running));
  EXPECT_EQ(pvcUid(*this, client_, ns_, "rotate"), volume) << "the same home volume";
  auto sts = get(resources::statefulSets(), "rotate");
  ASSERT_OK(sts);
  EXPECT_EQ(sts->dump().find("second-value"), std::string::npos);
  EXPECT_EQ(sts->dump().find("c2Vjb25kLXZhbHVl"), std::string::npos);  // nor its base64
}

TEST_F(LifecycleTest, DeleteKeepsTheVolumeRecreateReattachesPurgeRemoves) {
  ASSERT_OK(service_->create(spec("keep")));
  ASSERT_TRUE(waitPhase("keep", Phase::Running));
  std::string uid = pvcUid(*this, client_, ns_, "keep");

  ASSERT_OK(service_->remove({ns_, "keep"}, false));
  ASSERT_TRUE(eventually([&] {
    auto gone = service_->isGone({ns_, "keep"}, false);
    return gone.isOk() && *gone;
  }));
  EXPECT_KIND(get(resources::services(), "keep-service"), NotFound);
  EXPECT_KIND(get(resources::ingresses(), "keep-app-ingress"), NotFound);
  EXPECT_EQ(pvcUid(*this, client_, ns_, "keep"), uid) << "delete keeps the home volume";
  waitPhase("keep", Phase::Terminated);

  ASSERT_OK(service_->create(spec("keep")));
  ASSERT_TRUE(waitPhase("keep", Phase::Running));
  EXPECT_EQ(pvcUid(*this, client_, ns_, "keep"), uid) << "re-create re-attaches the volume";
  // The pod may be between incarnations for a moment (seen once in CI): read it once it is.
  StatusOr<json> pod = notFound("no pod yet");
  ASSERT_TRUE(eventually([&] {
    pod = get(resources::pods(), "keep-0");
    return pod.isOk();
  })) << pod.status().toString();
  EXPECT_EQ((*pod)["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "vn-homevn-agent-keep-0");

  ASSERT_OK(service_->remove({ns_, "keep"}, true));
  ASSERT_TRUE(eventually([&] {
    return get(resources::persistentVolumeClaims(), "vn-homevn-agent-keep-0").status().kind() ==
           ErrorKind::NotFound;
  })) << "purge removes the PVC once the pod is gone";
  auto gone = service_->isGone({ns_, "keep"}, true);
  ASSERT_OK(gone);
  EXPECT_TRUE(*gone);
}

// The shape of a pre-migration sandbox (seed 004): a Deployment with the platform labels.
json legacyDeployment(const std::string& name, int replicas) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata",
           {{"name", name},
            {"labels", {{"app", name}, {"cloud.sealos.io/app-deploy-manager", name}}},
            {"annotations",
             {{"originImageName", "registry.example.com/sandbox/runtime:v0"},
              {"deploy.cloud.sealos.io/minReplicas", "1"},
              {"deploy.cloud.sealos.io/maxReplicas", "1"}}}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"strategy", {{"type", "RollingUpdate"}}},
            {"template",
             {{"metadata",
               {{"labels", {{"app", name}, {"cloud.sealos.io/app-deploy-manager", name}}}}},
              {"spec",
               {{"containers",
                 json::array({{{"name", name},
                               {"image", "registry.example.com/sandbox/runtime:v0"},
                               {"env", json::array({{{"name", "A"}, {"value", "1"}}})}}})},
                {"volumes", json::array()}}}}}}}};
}

TEST_F(LifecycleTest, LegacyDeploymentAnswersStatusStopStartDelete) {
  ASSERT_OK(client_->create(resources::deployments(), ns_, legacyDeployment("old", 1)));
  json svc = {{"metadata",
               {{"name", "old"},
                {"labels", {{"app", "old"}, {"cloud.sealos.io/app-deploy-manager", "old"}}}}},
              {"spec",
               {{"selector", {{"app", "old"}}},
                {"ports", json::array({{{"port", 3000}, {"targetPort", 3000}}})}}}};
  ASSERT_OK(client_->create(resources::services(), ns_, svc));
  ASSERT_TRUE(waitPhase("old", Phase::Running));
  EXPECT_EQ(service_->status({ns_, "old"})->workload, WorkloadKind::Deployment);

  ASSERT_OK(service_->stop({ns_, "old"}));
  ASSERT_TRUE(waitPhase("old", Phase::Stopped));
  ASSERT_OK(service_->start({ns_, "old"}));
  ASSERT_TRUE(waitPhase("old", Phase::Running));

  ASSERT_OK(service_->remove({ns_, "old"}, false));
  EXPECT_KIND(get(resources::deployments(), "old"), NotFound);
  EXPECT_KIND(get(resources::services(), "old"), NotFound);
  waitPhase("old", Phase::Terminated);
}

TEST_F(LifecycleTest, TheApiServerValidatesWhatWeSend) {
  json bad = {{"apiVersion", "apps/v1"},
              {"kind", "StatefulSet"},
              {"metadata", {{"name", "bad"}}},
              {"spec", {{"replicas", 1}, {"template", json::object()}}}};
  auto created = client_->create(resources::statefulSets(), ns_, bad);
  EXPECT_KIND(created, InvalidArgument);
  EXPECT_NE(created.status().message().find("selector"), std::string::npos)
      << created.status().message();

  ASSERT_OK(service_->create(spec("dup")));
  SandboxSpec other = spec("dup");
  other.sandboxId = "another";
  EXPECT_KIND(service_->create(other), AlreadyExists);
  EXPECT_OK(get(resources::statefulSets(), "dup")) << "the original is untouched";
}

}  // namespace
}  // namespace sandboxd::integration
