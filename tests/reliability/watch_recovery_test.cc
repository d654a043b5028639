// The watch cache behind status reads, against the real control plane, with sandboxd's API
// calls going through the fault proxy: watch streams cut mid-event or after a few events, and
// watches that resume from a resourceVersion answered 410 Gone. Statuses read through the HTTP
// API become correct after every lifecycle change (after a cut the cache resumes from its last
// resourceVersion; after a 410 it lists again), a change made while no watch is up reaches the
// API through the relist, and the server never restarts.
#include <signal.h>

#include <iostream>
#include <set>
#include <sstream>

#include "integration/served_cluster.h"
#include "reliability/fault_proxy.h"

namespace sandboxd::integration {
namespace {

// The types the watch cache holds (statefulsets, pods, persistentvolumeclaims).
const std::vector<std::string> kCachedTypes = {"statefulsets", "pods", "persistentvolumeclaims"};

class WatchRecoveryTest : public ServedClusterTest {
 protected:
  void SetUp() override {
    ServedClusterTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    ASSERT_FALSE(stateDir().empty()) << "this test runs against the test control plane";
    ASSERT_TRUE(proxy_.start(dir_, connection_.server)) << proxy_.log();
    // Before the server starts: the proxy decides a watch's fault (and the time limit of a
    // cut) when the watch begins, and the first watches would otherwise stay up for their
    // whole timeout. With every stream cut
    // within seconds, a new fault config reaches every type soon.
    faultWatches(cutEveryWatch());
    if (HasFatalFailure()) {
      return;
    }
    startServe(proxy_.writeKubeconfig());
    if (HasFatalFailure()) {
      return;
    }
    pid_ = serve_.pid();
    initialLists_ = metric("sandboxd_watch_cache_relists_total");
    ASSERT_GE(initialLists_, static_cast<double>(kCachedTypes.size()))
        << "one list per cached type at start";
  }

  void TearDown() override {
    if (serve_.running()) {
      serve_.stop();
    }
    proxy_.stop();
    ServedClusterTest::TearDown();
  }

  // Faults for `faults` (the proxy's config keys) on the cache's list and watch requests only:
  // GETs of the cached collections in the test namespace. Writes and reads of single objects
  // pass untouched.
  void faultWatches(json faults) {
    faults["seed"] = 11;
    faults["methods"] = {"GET"};
    faults["path_regex"] = "^/apis?(/apps)?/v1/namespaces/" + ns_ +
                           "/(statefulsets|pods|persistentvolumeclaims)$";
    ASSERT_TRUE(proxy_.configure(faults)) << proxy_.log();
  }

  // Every watch is cut: after 1-3 events, in the middle of an event, or after 1.5 s without
  // one (so that quiet streams are cut too).
  static json cutEveryWatch() {
    return {{"rate", 1.0}, {"faults", {{"truncate_watch", 1}}}, {"truncate_watch_max_ms", 1500}};
  }

  // True once the proxy has answered a watch of every cached type with 410 since its log had
  // `logOffset` bytes. A type's watches run one after the other, so from then on no watch
  // opened earlier is still up.
  bool everyTypeGotGoneSince(size_t logOffset) {
    std::istringstream log(proxy_.log().substr(logOffset));
    std::set<std::string> seen;
    for (std::string line; std::getline(log, line);) {
      if (line.find("FAULT gone_on_watch_resume GET ") == std::string::npos) {
        continue;
      }
      for (const auto& plural : kCachedTypes) {
        if (line.find("/" + plural + "?") != std::string::npos) {
          seen.insert(plural);
        }
      }
    }
    return seen.size() == kCachedTypes.size();
  }

  std::string podUid(const std::string& name) {
    auto pod = get(resources::pods(), names::pod(name));
    return pod.isOk() ? (*pod)["metadata"].value("uid", "") : "";
  }

  // The same server process throughout, still ready.
  void expectNoRestart() {
    EXPECT_TRUE(serve_.running());
    EXPECT_EQ(serve_.pid(), pid_);
    EXPECT_EQ(::kill(pid_, 0), 0) << "the server process is gone";
    EXPECT_EQ(::sandboxd::testing::httpGetStatus(serve_.port(), "/readyz"), 200)
        << serve_.log();
    EXPECT_EQ(metric("sandboxd_watch_cache_healthy"), 1);
  }

  FaultProxy proxy_;
  pid_t pid_ = -1;
  double initialLists_ = 0;
};

TEST_F(WatchRecoveryTest, CutStreamsResumeAndTheServerKeepsWorking) {
  const double events = metric("sandboxd_watch_cache_events_total");
  ASSERT_TRUE(lifecycle("cut", "create"));
  ASSERT_FALSE(waitStatus("cut", "RUNNING").is_null());
  ASSERT_TRUE(lifecycle("cut", "stop"));
  ASSERT_FALSE(waitStatus("cut", "STOPPED").is_null());
  ASSERT_TRUE(lifecycle("cut", "start"));
  ASSERT_FALSE(waitStatus("cut", "RUNNING").is_null());

  // The pod deleted behind sandboxd's back: the StatefulSet controller replaces it.
  const std::string uid = podUid("cut");
  ASSERT_FALSE(uid.empty());
  ASSERT_OK(client_->remove(resources::pods(), ns_, names::pod("cut")));
  std::string last;
  EXPECT_TRUE(eventually(
      [&] {
        auto pod = get(resources::pods(), names::pod("cut"));
        last = pod.isOk() ? pod->dump() : pod.status().toString();
        return pod.isOk() && (*pod)["metadata"].value("uid", "") != uid &&
               (*pod)["status"].value("phase", "") == "Running";
      },
      std::chrono::seconds(60)))
      << "the deleted pod was not replaced: " << last;
  EXPECT_FALSE(waitStatus("cut", "RUNNING", "Ready").is_null());

  const int cuts = proxy_.faults("truncate_watch");
  const int gones = proxy_.faults("gone_on_watch_resume");
  EXPECT_GT(cuts, 0) << "no watch stream was cut\n" << proxy_.log();
  EXPECT_EQ(gones, 0);
  EXPECT_GT(metric("sandboxd_watch_cache_events_total"), events);
  expectNoRestart();
  const double lists = metric("sandboxd_watch_cache_relists_total");
  std::cout << "[ figures  ] watch cuts " << cuts << ", 410s " << gones << ", relists "
            << lists - initialLists_ << " (after " << initialLists_
            << " initial lists), server restarts 0\n";
}

TEST_F(WatchRecoveryTest, GoneOnResumeRelistsAndPicksUpWhatChangedMeanwhile) {
  ASSERT_TRUE(lifecycle("gone", "create"));  // while every watch is cut
  ASSERT_FALSE(waitStatus("gone", "RUNNING").is_null());

  // No watch can be up: every watch is answered 410, so the cache keeps listing (each list
  // delayed 200 ms so that the list-410-list loop does not spin). What changes now reaches the
  // API only through a relist.
  const size_t mark = proxy_.log().size();
  faultWatches({{"rate", 1.0},
                {"faults", {{"latency", 1}}},
                {"latency_ms", {200, 200}},
                {"gone_on_watch_resume", true}});
  ASSERT_TRUE(eventually([&] { return everyTypeGotGoneSince(mark); }, std::chrono::seconds(60)))
      << proxy_.log().substr(mark)
      << "^ the proxy's log since 410s were switched on: not every cached type got one in 60 s";
  ASSERT_TRUE(lifecycle("gone", "stop"));
  ASSERT_FALSE(waitStatus("gone", "STOPPED").is_null());
  ASSERT_TRUE(lifecycle("gone", "start"));
  ASSERT_FALSE(waitStatus("gone", "RUNNING").is_null());
  // The pod deleted behind sandboxd's back while no watch is up.
  const std::string uid = podUid("gone");
  ASSERT_FALSE(uid.empty());
  ASSERT_OK(client_->remove(resources::pods(), ns_, names::pod("gone")));
  EXPECT_TRUE(eventually([&] {
    const std::string now = podUid("gone");
    return !now.empty() && now != uid;
  }, std::chrono::seconds(60)));
  EXPECT_FALSE(waitStatus("gone", "RUNNING", "Ready").is_null());
  const double listsWhileDown = metric("sandboxd_watch_cache_relists_total");
  EXPECT_GT(listsWhileDown, initialLists_) << "the cache did not list again after 410s";
  const int gonesWhileDown = proxy_.faults("gone_on_watch_resume");

  // Streams cut, and the next resumed watches answered 410: the cache lists again and goes
  // back to watching.
  faultWatches([] {
    json faults = cutEveryWatch();
    faults["gone_on_watch_resume"] = 6;
    return faults;
  }());
  ASSERT_TRUE(lifecycle("gone", "stop"));
  ASSERT_FALSE(waitStatus("gone", "STOPPED").is_null());
  ASSERT_TRUE(lifecycle("gone", "start"));
  ASSERT_FALSE(waitStatus("gone", "RUNNING").is_null());
  EXPECT_TRUE(eventually([&] { return proxy_.faults("truncate_watch") > 0; },
                         std::chrono::seconds(30)))
      << "no watch stream was cut\n" << proxy_.log();
  EXPECT_TRUE(eventually([&] { return proxy_.faults("gone_on_watch_resume") > gonesWhileDown; },
                         std::chrono::seconds(30)))
      << "no resumed watch was answered 410\n" << proxy_.log();
  EXPECT_TRUE(eventually(
      [&] { return metric("sandboxd_watch_cache_relists_total") > listsWhileDown; },
      std::chrono::seconds(30)))
      << "no list after the 410s of resumed watches";

  const json stats = proxy_.stats();
  const int cuts = stats["faults"].value("truncate_watch", 0);
  const int gones = stats["faults"].value("gone_on_watch_resume", 0);
  const double lists = metric("sandboxd_watch_cache_relists_total");
  expectNoRestart();
  std::cout << "[ figures  ] watch cuts " << cuts << ", 410s " << gones << ", relists "
            << lists - initialLists_ << " (after " << initialLists_
            << " initial lists), server restarts 0\n";
}

}  // namespace
}  // namespace sandboxd::integration
