// `sandboxd migrate` against the real control plane: legacy Deployment sandboxes (seed 004's
// shape) become StatefulSet sandboxes; dry-run changes nothing; re-runs are no-ops; an
// interrupted run (step-limited, and a real kill -9 of the CLI) finishes on the next run;
// rollback restores the Deployment and keeps the PVC.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "fakes/manifest_lookup.h"
#include "integration/cluster_env.h"
#include "support/legacy_objects.h"
#include "sandboxd/migrate/migrator.h"
#include "sandboxd/registry/registry.h"

namespace sandboxd::integration {
namespace {

using ::sandboxd::testing::findEnv;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

using ::sandboxd::testing::clusterIpService;
using ::sandboxd::testing::ingress;
using ::sandboxd::testing::legacyDeployment;

class MigrateTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    tmp_ = makeWorkDir("sandboxd-migrate");
    ASSERT_FALSE(tmp_.empty());
    db_ = tmp_ + "/sandboxd.db";
    configPath_ = tmp_ + "/config.yaml";
    std::ofstream(configPath_) << "sandbox:\n  namespace: " << ns_ << "\n";
    auto registry = openSqliteRegistry(db_, std::make_shared<RealTimeSource>());
    ASSERT_OK(registry);
    registry_ = *registry;
  }

  void TearDown() override {
    registry_.reset();
    ClusterTest::TearDown();  // removes the work dir
  }

  // A legacy sandbox: Deployment + ClusterIP Service (named `serviceName`) + Ingress.
  void makeLegacy(const std::string& name, int replicas, const std::string& serviceName) {
    ASSERT_OK(client_->create(resources::deployments(), ns_, legacyDeployment(name, replicas)));
    ASSERT_OK(client_->create(resources::services(), ns_, clusterIpService(serviceName, name)));
    ASSERT_OK(client_->create(resources::ingresses(), ns_, ingress(name, serviceName)));
  }

  std::vector<std::string> cliArgs(std::vector<std::string> extra) const {
    std::vector<std::string> argv = {SANDBOXD_BINARY, "migrate",       "--kube",
                                     kubeconfigPath(), "--db",         db_,
                                     "--config",       configPath_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  ProcessResult cli(std::vector<std::string> extra) { return runProcess(cliArgs(extra)); }

  // kind/name → what a client can change of every object the migration could touch: uid,
  // labels, annotations and spec. Not the resourceVersion: controllers keep writing status.
  std::map<std::string, std::string> snapshot() {
    std::map<std::string, std::string> out;
    for (const ResourceType* type :
         {&resources::deployments(), &resources::statefulSets(), &resources::services(),
          &resources::ingresses(), &resources::secrets(), &resources::persistentVolumeClaims()}) {
      auto list = client_->list(*type, ns_);
      EXPECT_OK(list);
      if (!list.isOk()) {
        continue;
      }
      for (const auto& item : (*list)["items"]) {
        const json& meta = item["metadata"];
        json shape = {{"uid", meta.value("uid", "")},
                      {"labels", meta.value("labels", json::object())},
                      {"annotations", meta.value("annotations", json::object())},
                      {"spec", item.value("spec", json::object())}};
        // The deployment controller's bookkeeping annotation is status, not configuration.
        shape["annotations"].erase("deployment.kubernetes.io/revision");
        out[type->kind + "/" + meta.value("name", "")] = shape.dump();
      }
    }
    return out;
  }

  int countStatefulSets(const std::string& name) {
    auto list = client_->list(resources::statefulSets(), ns_);
    int n = 0;
    if (list.isOk()) {
      for (const auto& item : (*list)["items"]) {
        n += item["metadata"].value("name", "") == name ? 1 : 0;
      }
    }
    return n;
  }

  MigratorPtr migrator() {
    return makeMigrator(client_, registry_, renderer_, config_.sandbox,
                        std::make_shared<RandomGeneratorImpl>());
  }

  MigrateOptions options() const {
    MigrateOptions o;
    o.owner = "alice";
    o.readyTimeout = std::chrono::seconds(120);
    o.pollInterval = std::chrono::milliseconds(200);
    return o;
  }

  void expectMigrated(const std::string& name, int replicas) {
    auto sts = get(resources::statefulSets(), name);
    ASSERT_OK(sts);
    EXPECT_EQ((*sts)["spec"]["replicas"], replicas);
    EXPECT_EQ((*sts)["metadata"]["labels"]["team"], "blue");
    EXPECT_EQ((*sts)["metadata"]["labels"]["sandboxd.io/owner"], "alice");
    EXPECT_EQ((*sts)["metadata"]["annotations"]["example.com/note"], "kept");
    EXPECT_EQ((*sts)["metadata"]["annotations"]["deploy.cloud.sealos.io/resize"], "5Gi");
    const json& podSpec = (*sts)["spec"]["template"]["spec"];
    ASSERT_NE(findEnv(podSpec, "A"), nullptr);
    EXPECT_EQ((*findEnv(podSpec, "A"))["value"], "1");
    EXPECT_EQ((*findEnv(podSpec, "B"))["value"], "two");
    EXPECT_EQ(podSpec["containers"][0]["image"], "registry.example.com/sandbox/runtime:v0");
    EXPECT_TRUE(eventually([&] {
      return get(resources::deployments(), name).status().kind() == ErrorKind::NotFound;
    })) << "Deployment " << name << " is gone";
    auto svc = get(resources::services(), names::service(name));
    ASSERT_OK(svc);
    EXPECT_EQ((*svc)["spec"]["clusterIP"], "None");
    EXPECT_EQ((*svc)["spec"]["selector"]["app"], name);
    auto ing = get(resources::ingresses(), name + "-app-ingress");
    ASSERT_OK(ing) << "the Ingress stays";
    EXPECT_EQ((*ing)["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"],
              names::service(name));
    auto record = registry_->getSandbox(name);
    ASSERT_OK(record);
    EXPECT_EQ(record->workload, WorkloadKind::StatefulSet);
    EXPECT_EQ(record->user, "alice");
    EXPECT_EQ(record->env, (EnvMap{{"A", "1"}, {"B", "two"}}));
  }

  SandboxSpec specFromRegistry(const std::string& name) {
    auto record = registry_->getSandbox(name);
    EXPECT_OK(record);
    SandboxSpec s;
    s.name = name;
    s.nameSpace = ns_;
    s.user = record->user;
    s.sandboxId = record->sandboxId;
    s.image = record->image;
    s.env = record->env;
    return s;
  }

  std::string tmp_;
  std::string db_;
  std::string configPath_;
  RegistryPtr registry_;
};

TEST_F(MigrateTest, DryRunPrintsThePlanAndChangesNothing) {
  makeLegacy("live", 1, "live");             // old Service of another name: delete
  makeLegacy("idle", 0, "idle-service");     // same name: replace
  ASSERT_TRUE(waitPhase("live", Phase::Running));
  auto before = snapshot();

  ProcessResult text = cli({"--dry-run", "--owner", "alice"});
  EXPECT_EQ(text.exitCode, 0) << text.err;
  EXPECT_TRUE(contains(text.out, "sandbox live")) << text.out;
  EXPECT_TRUE(contains(text.out, "create StatefulSet live: replicas 1")) << text.out;
  EXPECT_TRUE(contains(text.out, "create StatefulSet idle: replicas 0")) << text.out;
  EXPECT_TRUE(contains(text.out, "delete Service live: the old ClusterIP Service")) << text.out;
  EXPECT_TRUE(contains(text.out, "replace Service idle-service")) << text.out;
  EXPECT_TRUE(contains(text.out, "cannot become headless in place")) << text.out;
  EXPECT_TRUE(contains(text.out, "keep Ingress live-app-ingress")) << text.out;
  EXPECT_TRUE(contains(text.out, "not carried over spec.strategy.rollingUpdate.maxSurge"))
      << text.out;
  EXPECT_TRUE(contains(text.out, "planned 2, migrated 0")) << text.out;

  ProcessResult yaml = cli({"--dry-run", "-o", "yaml", "--owner", "alice"});
  EXPECT_EQ(yaml.exitCode, 0) << yaml.err;
  EXPECT_TRUE(contains(yaml.out, "kind: StatefulSet")) << yaml.out;
  EXPECT_TRUE(contains(yaml.out, "volumeClaimTemplates:")) << yaml.out;
  EXPECT_TRUE(contains(yaml.out, "clusterIP: None")) << yaml.out;

  ProcessResult noOwner = cli({"--dry-run"});
  EXPECT_EQ(noOwner.exitCode, 0) << noOwner.err;
  EXPECT_TRUE(contains(noOwner.out, "skipped 2")) << noOwner.out;
  EXPECT_TRUE(contains(noOwner.out, "no owner: pass --owner")) << noOwner.out;

  EXPECT_EQ(snapshot(), before) << "dry-run changed the cluster";
  auto records = registry_->listSandboxes();
  ASSERT_OK(records);
  EXPECT_TRUE(records->empty()) << "dry-run imported into the registry";

  ProcessResult usage = cli({"-o", "yaml"});
  EXPECT_EQ(usage.exitCode, 2) << usage.out;
}

TEST_F(MigrateTest, ApplyConvertsBothAndTheyPassTheLifecycle) {
  makeLegacy("live", 1, "live");
  makeLegacy("idle", 0, "idle-service");
  ASSERT_TRUE(waitPhase("live", Phase::Running));

  auto started = std::chrono::steady_clock::now();
  ProcessResult first = cli({"--owner", "alice", "--timeout", "120", "--concurrency", "2"});
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  std::cout << "[ figures  ] migrate of 2 sandboxes (1 running, 1 stopped) via the CLI: "
            << elapsed.count() << " ms\n"
            << first.err;
  ASSERT_EQ(first.exitCode, 0) << first.out << first.err;
  EXPECT_TRUE(contains(first.out, "migrated 2, skipped 0, failed 0")) << first.out;

  expectMigrated("live", 1);
  expectMigrated("idle", 0);
  EXPECT_KIND(get(resources::services(), "live"), NotFound) << "old ClusterIP Service deleted";
  EXPECT_OK(get(resources::persistentVolumeClaims(), names::pvc("live")));
  EXPECT_KIND(get(resources::persistentVolumeClaims(), names::pvc("idle")), NotFound)
      << "a stopped sandbox gets its PVC at the first start";
  EXPECT_EQ(service_->status({ns_, "live"})->workload, WorkloadKind::StatefulSet);

  ProcessResult second = cli({"--owner", "alice"});
  EXPECT_EQ(second.exitCode, 0) << second.err;
  EXPECT_TRUE(contains(second.out, "migrated 0, skipped 0, failed 0")) << second.out;
  EXPECT_EQ(countStatefulSets("live"), 1);

  // The normal lifecycle.
  ASSERT_TRUE(waitPhase("live", Phase::Running));
  ASSERT_TRUE(waitPhase("idle", Phase::Stopped));
  ASSERT_OK(service_->start({ns_, "idle"}));
  ASSERT_TRUE(waitPhase("idle", Phase::Running));
  EXPECT_OK(get(resources::persistentVolumeClaims(), names::pvc("idle")));
  ASSERT_OK(service_->stop({ns_, "live"}));
  ASSERT_TRUE(waitPhase("live", Phase::Stopped));
  ASSERT_OK(service_->start({ns_, "live"}));
  ASSERT_TRUE(waitPhase("live", Phase::Running));
  EnvChange change;
  change.set = {{"C", "3"}};
  change.unset = {"B"};
  ASSERT_OK(service_->updateEnv(specFromRegistry("live"), change));
  auto sts = get(resources::statefulSets(), "live");
  ASSERT_OK(sts);
  const json& podSpec = (*sts)["spec"]["template"]["spec"];
  EXPECT_EQ((*findEnv(podSpec, "A"))["value"], "1");
  EXPECT_EQ((*findEnv(podSpec, "C"))["value"], "3");
  EXPECT_EQ(findEnv(podSpec, "B"), nullptr);
  ASSERT_TRUE(waitPhase("live", Phase::Running));
  for (const char* name : {"live", "idle"}) {
    ASSERT_OK(service_->remove({ns_, name}, false));
    EXPECT_KIND(get(resources::ingresses(), std::string(name) + "-app-ingress"), NotFound);
    waitPhase(name, Phase::Terminated);
  }
}

TEST_F(MigrateTest, InterruptedAfterEveryStepFinishesWithOneStatefulSet) {
  makeLegacy("crash", 1, "crash-service");
  ASSERT_TRUE(waitPhase("crash", Phase::Running));
  auto m = migrator();
  for (MigrationStep step :
       {MigrationStep::Import, MigrationStep::SaveOriginal, MigrationStep::CreateStatefulSet,
        MigrationStep::SwitchService, MigrationStep::WaitReady,
        MigrationStep::DeleteDeployment}) {
    MigrateOptions o = options();
    o.stopAfterStepForTest = step;
    auto report = m->run(o);
    ASSERT_OK(report);
    ASSERT_EQ(report->outcomes.size(), 1u) << "after " << toString(step);
    EXPECT_EQ(report->outcomes[0].result, SandboxOutcome::Result::Failed);
    EXPECT_TRUE(contains(report->outcomes[0].reason, "test hook"))
        << report->outcomes[0].reason;
    EXPECT_LE(countStatefulSets("crash"), 1) << "after " << toString(step);
  }
  auto record = registry_->getSandbox("crash");
  ASSERT_OK(record);
  EXPECT_EQ(record->workload, WorkloadKind::Deployment) << "not marked before the last step";

  auto report = m->run(options());
  ASSERT_OK(report);
  ASSERT_EQ(report->outcomes.size(), 1u) << "found through the registry, Deployment gone";
  EXPECT_EQ(report->outcomes[0].result, SandboxOutcome::Result::Migrated)
      << report->outcomes[0].reason;
  EXPECT_EQ(countStatefulSets("crash"), 1);
  expectMigrated("crash", 1);

  auto again = m->run(options());
  ASSERT_OK(again);
  EXPECT_EQ(again->count(SandboxOutcome::Result::Migrated), 0);
}

TEST_F(MigrateTest, KillNineOfTheCliMidRunThenRerunFinishes) {
  // Killed as soon as its progress shows the StatefulSet created (so between creating it and
  // deleting the Deployment). The whole run takes ~200 ms, so the log is watched closely; if
  // the CLI still wins the race, another legacy sandbox is tried.
  std::string name;
  bool killedMidRun = false;
  for (int attempt = 1; attempt <= 3 && !killedMidRun; ++attempt) {
    name = "killed" + std::to_string(attempt);
    makeLegacy(name, 1, name);
    ASSERT_TRUE(waitPhase(name, Phase::Running));
    const std::string log = tmp_ + "/first" + std::to_string(attempt) + ".log";
    pid_t pid = ::sandboxd::testing::spawnProcess(
        cliArgs({"--owner", "alice", "--timeout", "120"}), log);
    ASSERT_GT(pid, 0);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline &&
           !contains(readFile(log), "step 3 create-statefulset done") &&
           waitpid(pid, nullptr, WNOHANG) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    killedMidRun = WIFSIGNALED(status);
    std::cout << "[ attempt  ] " << attempt << (killedMidRun ? ": killed" : ": finished first")
              << "; output before the kill:\n" << readFile(log);
  }
  ASSERT_TRUE(killedMidRun) << "the CLI finished before every kill";
  EXPECT_EQ(countStatefulSets(name), 1);

  ProcessResult rerun = cli({"--owner", "alice", "--timeout", "120"});
  EXPECT_EQ(rerun.exitCode, 0) << rerun.out << rerun.err;
  EXPECT_TRUE(contains(rerun.out, "migrated 1, skipped 0, failed 0")) << rerun.out;
  EXPECT_EQ(countStatefulSets(name), 1);
  expectMigrated(name, 1);
}

TEST_F(MigrateTest, RollbackRestoresTheDeploymentAndKeepsThePvc) {
  makeLegacy("back", 1, "back");
  ASSERT_TRUE(waitPhase("back", Phase::Running));
  ProcessResult migrated = cli({"--owner", "alice"});
  ASSERT_EQ(migrated.exitCode, 0) << migrated.out << migrated.err;
  expectMigrated("back", 1);
  EXPECT_OK(get(resources::networkPolicies(), names::networkPolicy("back")))
      << "the migrated sandbox has its NetworkPolicy";
  auto pvc = get(resources::persistentVolumeClaims(), names::pvc("back"));
  ASSERT_OK(pvc);
  const std::string pvcUid = (*pvc)["metadata"].value("uid", "");

  ProcessResult rolled = cli({"--rollback", "back"});
  ASSERT_EQ(rolled.exitCode, 0) << rolled.out << rolled.err;
  EXPECT_TRUE(contains(rolled.out, names::pvc("back"))) << rolled.out;

  auto deployment = get(resources::deployments(), "back");
  ASSERT_OK(deployment);
  const json& podSpec = (*deployment)["spec"]["template"]["spec"];
  EXPECT_EQ((*findEnv(podSpec, "A"))["value"], "1");
  EXPECT_EQ((*findEnv(podSpec, "B"))["value"], "two");
  EXPECT_TRUE(eventually([&] {
    return get(resources::statefulSets(), "back").status().kind() == ErrorKind::NotFound;
  }));
  EXPECT_KIND(get(resources::services(), names::service("back")), NotFound);
  EXPECT_KIND(get(resources::networkPolicies(), names::networkPolicy("back")), NotFound)
      << "the rollback removes the StatefulSet's NetworkPolicy";
  auto svc = get(resources::services(), "back");
  ASSERT_OK(svc) << "the old ClusterIP Service is back";
  EXPECT_NE((*svc)["spec"]["clusterIP"], "None");
  auto ing = get(resources::ingresses(), "back-app-ingress");
  ASSERT_OK(ing);
  EXPECT_EQ((*ing)["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"], "back");
  auto keptPvc = get(resources::persistentVolumeClaims(), names::pvc("back"));
  ASSERT_OK(keptPvc);
  EXPECT_EQ((*keptPvc)["metadata"].value("uid", ""), pvcUid);
  EXPECT_EQ(registry_->getSandbox("back")->workload, WorkloadKind::Deployment);
  ASSERT_TRUE(waitPhase("back", Phase::Running));
  EXPECT_EQ(service_->status({ns_, "back"})->workload, WorkloadKind::Deployment);

  ProcessResult unknown = cli({"--rollback", "nosuch"});
  EXPECT_EQ(unknown.exitCode, 1);

  // Migrating again re-attaches the same home volume.
  ProcessResult again = cli({"--owner", "alice"});
  ASSERT_EQ(again.exitCode, 0) << again.out << again.err;
  EXPECT_TRUE(contains(again.out, "migrated 1")) << again.out;
  auto reattached = get(resources::persistentVolumeClaims(), names::pvc("back"));
  ASSERT_OK(reattached);
  EXPECT_EQ((*reattached)["metadata"].value("uid", ""), pvcUid);
}

}  // namespace
}  // namespace sandboxd::integration
