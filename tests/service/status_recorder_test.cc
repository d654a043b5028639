// The status a read observes is recorded off the read's path (StatusRecorder): stored a moment
// later, in batches, and at shutdown; a write made meanwhile wins; lists by status show the live
// status before it is recorded, and the recorded one once the cluster is out of reach.
#include "sandboxd/service/status_recorder.h"

#include <thread>

#include "sandboxd/registry/registry.h"
#include "service/service_fixture.h"
#include "support/test_dir.h"

namespace sandboxd {
namespace {

using testing::ManagerFixture;

class StatusRecorderTest : public ManagerFixture {
 protected:
  CreateRequest request(const std::string& name) {
    CreateRequest r;
    r.name = name;
    return r;
  }

  std::vector<std::string> namesListed(std::optional<Phase> status) {
    ListQuery query;
    query.status = status;
    auto page = manager_->listPage(alice_, query);
    EXPECT_OK(page);
    std::vector<std::string> names;
    if (page.isOk()) {
      for (const auto& view : page->items) {
        names.push_back(view.record->name);
      }
    }
    return names;
  }
};

TEST_F(StatusRecorderTest, AReadAnswersAtOnceAndItsStatusIsStoredByTheNextFlush) {
  ASSERT_OK(manager_->create(alice_, request("demo")));
  waitReady();
  const SandboxRecord before = *registry_->getSandbox("demo");
  auto read = manager_->get(alice_, "demo");
  ASSERT_OK(read);
  EXPECT_EQ(read->observed.phase, Phase::Running);
  EXPECT_EQ(read->record->version, before.version) << "the answer shows the row as read";
  EXPECT_EQ(registry_->getSandbox("demo")->version, before.version) << "no write on the read";
  EXPECT_EQ(recorder_->pending(), 1u);

  EXPECT_EQ(recorder_->flush(), 1u);
  const SandboxRecord after = *registry_->getSandbox("demo");
  EXPECT_EQ(after.phase, Phase::Running);
  EXPECT_EQ(after.reason, read->observed.reason);
  EXPECT_EQ(after.message, read->observed.message);
  EXPECT_EQ(after.version, before.version + 1);
  EXPECT_EQ(recorder_->pending(), 0u);

  ASSERT_OK(manager_->get(alice_, "demo"));
  EXPECT_EQ(recorder_->pending(), 0u) << "an unchanged status is not recorded again";
}

TEST_F(StatusRecorderTest, ReadsOfOneSandboxAreCoalescedAndTheNewestIsStored) {
  ASSERT_OK(manager_->create(alice_, request("demo")));
  auto early = manager_->get(alice_, "demo");
  ASSERT_OK(early);
  ASSERT_NE(early->observed.phase, Phase::Running);
  waitReady();
  ASSERT_OK(manager_->get(alice_, "demo"));
  ASSERT_OK(manager_->get(alice_, "demo"));
  EXPECT_EQ(recorder_->pending(), 1u);
  EXPECT_EQ(recorder_->flush(), 1u) << "one row written for three reads";
  EXPECT_EQ(registry_->getSandbox("demo")->phase, Phase::Running);
}

TEST_F(StatusRecorderTest, AWriteBetweenTheReadAndTheFlushIsKept) {
  ASSERT_OK(manager_->create(alice_, request("demo")));
  waitReady();
  ASSERT_OK(manager_->get(alice_, "demo"));  // queues RUNNING on the row as read
  ASSERT_OK(manager_->stop(alice_, "demo"));
  const SandboxRecord stopped = *registry_->getSandbox("demo");
  EXPECT_EQ(recorder_->flush(), 0u) << "the queued status was read from an older row";
  const SandboxRecord after = *registry_->getSandbox("demo");
  EXPECT_EQ(after.desired, DesiredState::Stopped);
  EXPECT_EQ(after.version, stopped.version);
  EXPECT_EQ(after.phase, stopped.phase);

  waitReady();
  auto read = manager_->get(alice_, "demo");  // the next read records again
  ASSERT_OK(read);
  EXPECT_EQ(recorder_->flush(), 1u);
  EXPECT_EQ(registry_->getSandbox("demo")->phase, read->observed.phase);
  EXPECT_EQ(registry_->getSandbox("demo")->desired, DesiredState::Stopped);
}

TEST_F(StatusRecorderTest, AQueuedStatusOfADeletedSandboxIsDropped) {
  ASSERT_OK(manager_->create(alice_, request("demo")));
  waitReady();
  ASSERT_OK(manager_->get(alice_, "demo"));
  ASSERT_OK(manager_->remove(alice_, "demo", true));
  EXPECT_EQ(recorder_->flush(), 0u);
  auto row = registry_->getSandbox("demo");
  if (row.isOk()) {
    EXPECT_EQ(row->desired, DesiredState::Deleted);
  } else {
    EXPECT_KIND(row, NotFound);
  }
}

TEST_F(StatusRecorderTest, ListsByStatusShowTheLiveStatusAndTheRecordedOneWhenTheClusterIsDown) {
  ASSERT_OK(manager_->create(alice_, request("a-ready")));
  waitReady();
  ASSERT_OK(manager_->create(alice_, request("b-new")));
  ASSERT_OK(manager_->get(alice_, "a-ready"));  // queued, not stored
  EXPECT_EQ(namesListed(Phase::Running), std::vector<std::string>{"a-ready"})
      << "the live status, whether recorded or not";
  EXPECT_EQ(namesListed(std::nullopt), (std::vector<std::string>{"a-ready", "b-new"}));

  // Out of reach, a list shows each sandbox's recorded status: stored by the flush.
  cluster_->failNextForTest("list", "*", unavailable("down"));
  EXPECT_TRUE(namesListed(Phase::Running).empty()) << "not recorded yet: CREATING";
  recorder_->flush();
  cluster_->failNextForTest("list", "*", unavailable("down"));
  EXPECT_EQ(namesListed(Phase::Running), std::vector<std::string>{"a-ready"});
}

TEST_F(StatusRecorderTest, StoredInTheBackground) {
  StatusRecorderOptions options;
  options.interval = std::chrono::milliseconds(5);
  auto recorder = std::make_shared<StatusRecorder>(registry_, locks_, options);
  auto manager = makeSandboxManager(registry_, service_, cluster_, config_, time_, locks_,
                                    recorder);
  ASSERT_OK(manager->create(alice_, request("demo")));
  waitReady();
  ASSERT_OK(manager->get(alice_, "demo"));
  // Waits for the recorder's own thread (no flush here); gives up after a minute.
  for (int i = 0; i < 6000 && registry_->getSandbox("demo")->phase != Phase::Running; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(registry_->getSandbox("demo")->phase, Phase::Running);
  EXPECT_EQ(recorder->pending(), 0u);
}

// serve stops the recorder at shutdown: what is queued is in the file for the next process.
TEST_F(StatusRecorderTest, StopStoresWhatIsQueuedAndLaterRecordsAtOnce) {
  testing::TestDir dir{"sandboxd-status-recorder-test"};
  const std::string path = (dir / "sandboxd.db").string();
  auto file = openSqliteRegistry(path, time_);
  ASSERT_OK(file);
  StatusRecorderOptions options;
  options.interval = std::chrono::hours(1);  // only stop() stores it
  auto recorder = std::make_shared<StatusRecorder>(*file, locks_, options);
  auto manager = makeSandboxManager(*file, service_, cluster_, config_, time_, locks_, recorder);
  ASSERT_OK(manager->create(alice_, request("demo")));
  ASSERT_OK(manager->create(alice_, request("late")));
  waitReady();
  ASSERT_OK(manager->get(alice_, "demo"));
  EXPECT_EQ(recorder->pending(), 1u);
  recorder->stop();
  auto next = openSqliteRegistry(path, time_);  // as the next process would
  ASSERT_OK(next);
  EXPECT_EQ((*next)->getSandbox("demo")->phase, Phase::Running);

  ASSERT_OK(manager->get(alice_, "late"));  // a request finishing after shutdown began
  EXPECT_EQ(recorder->pending(), 0u);
  EXPECT_EQ((*next)->getSandbox("late")->phase, Phase::Running);
}

}  // namespace
}  // namespace sandboxd
