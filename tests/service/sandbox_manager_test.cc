// The application layer: ownership, name reservation, tombstones, and registry == cluster.
#include "sandboxd/service/sandbox_manager.h"

#include "sandboxd/model/naming.h"
#include "sandboxd/registry/registry.h"
#include "sandboxd/service/deletion_rules.h"
#include "service/service_fixture.h"

namespace sandboxd {
namespace {

using testing::ManagerFixture;

class SandboxManagerTest : public ManagerFixture {
 protected:
  CreateRequest request(const std::string& name) {
    CreateRequest r;
    r.name = name;
    r.env = {{"A", "1"}};
    return r;
  }

};

TEST_F(SandboxManagerTest, CreateRecordsAndShowsTheSandbox) {
  CreateRequest r = request("demo");
  r.secretEnv = {{"TOKEN", "hunter2"}};
  const auto before = cluster_->callCountsForTest();
  auto view = manager_->create(alice_, r);
  ASSERT_OK(view);
  const auto after = cluster_->callCountsForTest();
  auto made = [&](const std::string& verb) {
    auto was = before.find(verb);
    auto is = after.find(verb);
    return (is == after.end() ? 0 : is->second) - (was == before.end() ? 0 : was->second);
  };
  EXPECT_EQ(made("create"), 6)
      << "one write per object: Secret, NetworkPolicy, Service, StatefulSet, 2 Ingresses";
  EXPECT_EQ(made("get") + made("list") + made("patch"), 0) << "no reads around a create";
  EXPECT_EQ(view->observed.phase, Phase::Creating);
  EXPECT_EQ(view->record->user, "alice");
  EXPECT_EQ(view->record->storage, "5Gi");
  EXPECT_EQ(view->record->secretEnvKeys, std::vector<std::string>{"TOKEN"});
  EXPECT_EQ(view->urls.at("app"), "https://demo-app.sandbox.example.com");
  auto stored = registry_->getSandbox("demo");
  ASSERT_OK(stored);
  EXPECT_EQ(stored->env, (EnvMap{{"A", "1"}}));
  waitReady();
  auto got = manager_->get(alice_, "demo");
  ASSERT_OK(got);
  EXPECT_EQ(got->observed.phase, Phase::Running);
  EXPECT_EQ(recorder_->flush(), 1u);
  EXPECT_EQ(registry_->getSandbox("demo")->phase, Phase::Running) << "observed status recorded";
}

TEST_F(SandboxManagerTest, UsersSeeOnlyTheirOwnSandboxes) {
  ASSERT_OK(manager_->create(alice_, request("alice-box")));
  ASSERT_OK(manager_->create(bob_, request("bob-box")));
  EXPECT_KIND(manager_->get(bob_, "alice-box"), NotFound);
  EXPECT_KIND(manager_->stop(bob_, "alice-box"), NotFound);
  EXPECT_KIND(manager_->remove(bob_, "alice-box", true), NotFound);
  EnvChange change;
  change.set = {{"X", "1"}};
  EXPECT_KIND(manager_->updateEnv(bob_, "alice-box", change), NotFound);
  EXPECT_TRUE(exists(resources::statefulSets(), "alice-box"));

  auto bobs = manager_->list(bob_, std::nullopt);
  ASSERT_OK(bobs);
  ASSERT_EQ(bobs->size(), 1u);
  EXPECT_EQ((*bobs)[0].record->name, "bob-box");
  EXPECT_KIND(manager_->list(bob_, std::string("alice")), PermissionDenied);

  EXPECT_EQ(manager_->list(admin_, std::nullopt)->size(), 2u);
  EXPECT_EQ(manager_->list(admin_, std::string("alice"))->size(), 1u);
  EXPECT_OK(manager_->get(admin_, "alice-box"));
}

TEST_F(SandboxManagerTest, ANameIsUniqueAcrossUsersAndTheErrorDoesNotSayWhose) {
  ASSERT_OK(manager_->create(alice_, request("demo")));
  auto taken = manager_->create(bob_, request("demo"));
  EXPECT_KIND(taken, AlreadyExists);
  EXPECT_EQ(taken.status().message().find("alice"), std::string::npos);
  EXPECT_KIND(manager_->create(alice_, request("demo")), AlreadyExists);
}

TEST_F(SandboxManagerTest, InvalidInputChangesNothing) {
  EXPECT_KIND(manager_->create(alice_, request("Bad_Name")), InvalidArgument);
  CreateRequest r = request("demo");
  r.storage = "5000Ti";
  EXPECT_KIND(manager_->create(alice_, r), InvalidArgument);
  r = request("demo");
  r.env = {{"1BAD", "x"}};
  EXPECT_KIND(manager_->create(alice_, r), InvalidArgument);
  EXPECT_TRUE(registry_->listSandboxes()->empty());
  EXPECT_FALSE(exists(resources::statefulSets(), "demo"));
  EXPECT_EQ(cluster_->callCountsForTest()["create"], 0);
}

TEST_F(SandboxManagerTest, AnImageOutsideTheAllowlistIsRefusedAndChangesNothing) {
  config_.sandbox.allowedImages = {"ghcr.io/acme/", "ghcr.io/fullstackagent/"};
  manager_ = makeSandboxManager(registry_, service_, cluster_, config_, time_, locks_);
  CreateRequest r = request("demo");
  r.image = "docker.io/attacker/miner:latest";
  auto refused = manager_->create(alice_, r);
  EXPECT_KIND(refused, InvalidArgument);
  EXPECT_NE(refused.status().message().find("not allowed"), std::string::npos)
      << refused.status().message();
  EXPECT_TRUE(registry_->listSandboxes()->empty());
  EXPECT_EQ(cluster_->callCountsForTest()["create"], 0);

  r.image = "ghcr.io/acme/runtime:v3";
  ASSERT_OK(manager_->create(alice_, r));
  EXPECT_EQ(getObject(resources::statefulSets(), "demo")["spec"]["template"]["spec"]
                     ["containers"][0]["image"],
            "ghcr.io/acme/runtime:v3");
}

TEST_F(SandboxManagerTest, PublicPortsAreThoseTheOperatorAllowsAndAreKept) {
  config_.server.forwardAuth.checkUrl = "http://sandboxd.svc:8080/auth/check";
  config_.server.forwardAuth.signinUrl = "https://auth.example.com/auth/signin";
  auto renderer = makeTemplateRenderer(config_);
  ASSERT_OK(renderer);
  service_ = makeKubernetesService(cluster_, *renderer, config_.sandbox);
  manager_ = makeSandboxManager(registry_, service_, cluster_, config_, time_, locks_);
  CreateRequest r = request("demo");
  for (const auto& refused : std::vector<std::vector<std::string>>{{"ttyd"}, {"nope"}}) {
    r.publicPorts = refused;
    auto created = manager_->create(alice_, r);
    EXPECT_KIND(created, InvalidArgument);
    EXPECT_NE(created.status().message().find(refused[0]), std::string::npos)
        << created.status().message();
  }
  EXPECT_TRUE(registry_->listSandboxes()->empty());
  EXPECT_EQ(cluster_->callCountsForTest()["create"], 0);

  r.publicPorts = {"app", "app"};
  auto view = manager_->create(alice_, r);
  ASSERT_OK(view);
  EXPECT_EQ(view->record->publicPorts, std::vector<std::string>{"app"});
  EXPECT_EQ(registry_->getSandbox("demo")->publicPorts, std::vector<std::string>{"app"});
  const auto annotations = [&](const std::string& port) {
    return getObject(resources::ingresses(), names::ingress("demo", port))["metadata"]
                    ["annotations"];
  };
  EXPECT_FALSE(annotations("app").contains("nginx.ingress.kubernetes.io/auth-url"));
  EXPECT_TRUE(annotations("ttyd").contains("nginx.ingress.kubernetes.io/auth-url"));
}

TEST_F(SandboxManagerTest, OnlyAdminsCreateForOthers) {
  CreateRequest r = request("demo");
  r.user = "bob";
  EXPECT_KIND(manager_->create(alice_, r), PermissionDenied);
  auto view = manager_->create(admin_, r);
  ASSERT_OK(view);
  EXPECT_EQ(view->record->user, "bob");
  EXPECT_OK(manager_->get(bob_, "demo"));
}

TEST_F(SandboxManagerTest, AFailedCreateReleasesTheNameOnceUndone) {
  cluster_->failNextForTest("create", "StatefulSet", unavailable("injected"));
  EXPECT_KIND(manager_->create(alice_, request("demo")), Unavailable);
  // Held as a deletion until it has settled (a late object could still land).
  EXPECT_KIND(manager_->create(bob_, request("demo")), AlreadyExists);
  time_->advance(kPurgeSettleTime);
  EXPECT_KIND(manager_->get(alice_, "demo"), NotFound);
  EXPECT_KIND(registry_->getSandbox("demo"), NotFound);
  EXPECT_OK(manager_->create(bob_, request("demo")));
}

TEST_F(SandboxManagerTest, StopStartRecordDesiredStateAndAreIdempotent) {
  ASSERT_OK(manager_->create(alice_, request("demo")));
  waitReady();
  auto stopped = manager_->stop(alice_, "demo");
  ASSERT_OK(stopped);
  EXPECT_EQ(stopped->observed.phase, Phase::Stopped);
  EXPECT_EQ(registry_->getSandbox("demo")->desired, DesiredState::Stopped);
  EXPECT_OK(manager_->stop(alice_, "demo"));
  auto started = manager_->start(alice_, "demo");
  ASSERT_OK(started);
  EXPECT_EQ(registry_->getSandbox("demo")->desired, DesiredState::Running);
  EXPECT_OK(manager_->start(alice_, "demo"));
}

// A stop's one registry write on its path is its intent (with its operation): the status
// read right after its PATCH is not recorded, and its operation is finished later, yet before
// anything reads operations.
TEST_F(SandboxManagerTest, AStopWritesOnlyItsIntentAndItsOperationEndsDone) {
  ASSERT_OK(manager_->create(alice_, request("demo")));
  waitReady();
  ASSERT_OK(manager_->get(alice_, "demo"));  // records the status it reads
  recorder_->flush();
  const SandboxRecord before = *registry_->getSandbox("demo");
  EXPECT_EQ(before.phase, Phase::Running);

  ASSERT_OK(manager_->stop(alice_, "demo"));
  const SandboxRecord after = *registry_->getSandbox("demo");
  EXPECT_EQ(after.version, before.version + 1) << "one write: the intent";
  EXPECT_EQ(after.desired, DesiredState::Stopped);
  EXPECT_EQ(after.phase, Phase::Running) << "the last status a read recorded";
  auto ops = registry_->listOperations(after.sandboxId, 10);
  ASSERT_OK(ops);
  ASSERT_FALSE(ops->empty());
  EXPECT_EQ(ops->front().kind, OperationKind::Stop);
  EXPECT_EQ(ops->front().state, OperationState::Done);

  auto read = manager_->get(alice_, "demo");  // a read records what it sees
  ASSERT_OK(read);
  recorder_->flush();
  EXPECT_EQ(registry_->getSandbox("demo")->phase, read->observed.phase);
}

TEST_F(SandboxManagerTest, UpdateEnvKeepsSecretValuesOutOfTheRegistry) {
  ASSERT_OK(manager_->create(alice_, request("demo")));
  EnvChange change;
  change.set = {{"B", "2"}};
  change.setSecret = {{"KEY", "s3cret"}};
  auto view = manager_->updateEnv(alice_, "demo", change);
  ASSERT_OK(view);
  EXPECT_EQ(view->record->env, (EnvMap{{"A", "1"}, {"B", "2"}}));
  EXPECT_EQ(view->record->secretEnvKeys, std::vector<std::string>{"KEY"});
  auto stored = registry_->getSandbox("demo");
  EXPECT_EQ(stored->env.count("KEY"), 0u);
  EnvChange unset;
  unset.unset = {"A", "KEY"};
  view = manager_->updateEnv(alice_, "demo", unset);
  ASSERT_OK(view);
  EXPECT_EQ(view->record->env, (EnvMap{{"B", "2"}}));
  EXPECT_TRUE(view->record->secretEnvKeys.empty());
}

TEST_F(SandboxManagerTest, DeleteKeepsTheNameForItsOwnerAndReattachesTheVolume) {
  ASSERT_OK(manager_->create(alice_, request("demo")));
  waitReady();
  json pvcUid = getObject(resources::persistentVolumeClaims(), "vn-homevn-agent-demo-0")
                    ["metadata"]["uid"];
  auto deleted = manager_->remove(alice_, "demo", false);
  ASSERT_OK(deleted);
  EXPECT_TRUE(deleted->observed.phase == Phase::Deleting ||
              deleted->observed.phase == Phase::Terminated);
  EXPECT_OK(manager_->remove(alice_, "demo", false)) << "repeating DELETE is accepted";
  EXPECT_KIND(manager_->stop(alice_, "demo"), FailedPrecondition);
  EXPECT_KIND(manager_->get(alice_, "demo"), NotFound);
  EXPECT_TRUE(manager_->list(alice_, std::nullopt)->empty());

  EXPECT_KIND(manager_->create(bob_, request("demo")), AlreadyExists)
      << "the kept volume holds alice's data: nobody else gets the name";
  auto again = manager_->create(alice_, request("demo"));
  ASSERT_OK(again);
  EXPECT_EQ(getObject(resources::persistentVolumeClaims(), "vn-homevn-agent-demo-0")
                ["metadata"]["uid"],
            pvcUid);
}

TEST_F(SandboxManagerTest, AReCreateTakesTheKeptVolumesSizeAndRefusesAnother) {
  CreateRequest r = request("demo");
  r.storage = "5Gi";
  ASSERT_OK(manager_->create(alice_, r));
  waitReady();
  ASSERT_OK(manager_->remove(alice_, "demo", false));
  waitReady();

  // Another size: 409, and nothing changes (the row stays a tombstone, no object is made).
  const int createsBefore = cluster_->callCountsForTest()["create"];
  r.storage = "10Gi";
  auto bigger = manager_->create(alice_, r);
  EXPECT_KIND(bigger, FailedPrecondition);
  EXPECT_NE(bigger.status().message().find("vn-homevn-agent-demo-0, which is 5Gi"),
            std::string::npos)
      << bigger.status().message();
  r.storage = "1Gi";
  EXPECT_KIND(manager_->create(alice_, r), FailedPrecondition);
  EXPECT_EQ(cluster_->callCountsForTest()["create"], createsBefore);
  EXPECT_EQ(registry_->getSandbox("demo")->desired, DesiredState::Deleted);
  // Nobody else learns about the volume: their answer is the name's.
  EXPECT_KIND(manager_->create(bob_, r), AlreadyExists);

  // No size asked: the kept volume's, as the API reports it.
  auto again = manager_->create(alice_, request("demo"));
  ASSERT_OK(again);
  EXPECT_EQ(again->record->storage, "5Gi");
  EXPECT_EQ(registry_->getSandbox("demo")->storage, "5Gi");
  ASSERT_OK(manager_->remove(alice_, "demo", false));
  waitReady();
  // The same size in other units is that size.
  r.storage = "5120Mi";
  auto same = manager_->create(alice_, r);
  ASSERT_OK(same);
  EXPECT_EQ(same->record->storage, "5Gi");
}

TEST_F(SandboxManagerTest, PurgeRemovesTheVolumeAndFreesTheName) {
  ASSERT_OK(manager_->create(alice_, request("demo")));
  ASSERT_OK(manager_->remove(alice_, "demo", true));
  EXPECT_FALSE(exists(resources::persistentVolumeClaims(), "vn-homevn-agent-demo-0"));
  EXPECT_KIND(manager_->get(alice_, "demo"), NotFound);
  time_->advance(kPurgeSettleTime);
  EXPECT_KIND(manager_->get(alice_, "demo"), NotFound);  // settled: the row goes
  EXPECT_KIND(registry_->getSandbox("demo"), NotFound);
  EXPECT_OK(manager_->create(bob_, request("demo")));
}

TEST_F(SandboxManagerTest, PurgeAfterAPlainDeleteRemovesTheVolume) {
  ASSERT_OK(manager_->create(alice_, request("demo")));
  ASSERT_OK(manager_->remove(alice_, "demo", false));
  EXPECT_TRUE(exists(resources::persistentVolumeClaims(), "vn-homevn-agent-demo-0"));
  ASSERT_OK(manager_->remove(alice_, "demo", true));
  EXPECT_FALSE(exists(resources::persistentVolumeClaims(), "vn-homevn-agent-demo-0"));
}

TEST_F(SandboxManagerTest, ListShowsLastKnownStatusWhenTheClusterIsDown) {
  ASSERT_OK(manager_->create(alice_, request("demo")));
  cluster_->failNextForTest("list", "*", unavailable("down"));
  auto list = manager_->list(alice_, std::nullopt);
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].observed.reason, "StatusUnknown");
}

TEST_F(SandboxManagerTest, ReadyReflectsTheCluster) {
  EXPECT_OK(manager_->ready());
  cluster_->failNextForTest("ping", "*", unavailable("down"));
  EXPECT_KIND(manager_->ready(), Unavailable);
}

}  // namespace
}  // namespace sandboxd
