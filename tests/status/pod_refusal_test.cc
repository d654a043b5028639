// A refused pod's message from the StatefulSet's FailedCreate event.
#include <gtest/gtest.h>

#include "sandboxd/model/reason.h"
#include "sandboxd/status/pod_refusal.h"

namespace sandboxd {
namespace {

using json = nlohmann::json;

const json kStatefulSet = {{"metadata", {{"name", "box"}, {"uid", "uid-2"}}}};

ObservedStatus podNotCreated() {
  ObservedStatus s;
  s.phase = Phase::Starting;
  s.reason = "PodNotCreated";
  s.message = "no pod has been created yet (0 of 1 replicas ready)";
  s.workload = WorkloadKind::StatefulSet;
  s.exists = true;
  return s;
}

json failedCreate(const std::string& uid, const std::string& when, const std::string& message) {
  return {{"type", "Warning"},
          {"reason", "FailedCreate"},
          {"involvedObject", {{"kind", "StatefulSet"}, {"name", "box"}, {"uid", uid}}},
          {"lastTimestamp", when},
          {"message", message}};
}

const std::string kForbidden =
    "create Pod box-0 in StatefulSet box failed error: pods \"box-0\" is forbidden: violates "
    "PodSecurity \"restricted:latest\": runAsNonRoot != true";

TEST(PodRefusal, TheNewestRefusalOfThisStatefulSetIsTheReason) {
  const json events = json::array(
      {failedCreate("uid-2", "2026-01-01T10:00:00Z", "older: exceeded quota"),
       failedCreate("uid-2", "2026-01-01T10:05:00Z", kForbidden),
       failedCreate("uid-1", "2026-01-01T11:00:00Z", "an earlier StatefulSet box's"),
       json{{"type", "Normal"}, {"reason", "SuccessfulCreate"},
            {"involvedObject", {{"kind", "StatefulSet"}, {"name", "box"}, {"uid", "uid-2"}}},
            {"lastTimestamp", "2026-01-01T12:00:00Z"}, {"message", "create Pod box-0"}}});
  const ObservedStatus got = withPodRefusal(podNotCreated(), kStatefulSet, events);
  EXPECT_EQ(got.phase, Phase::Error);
  EXPECT_EQ(got.reason, "PodRefused");
  EXPECT_EQ(got.message,
            "the API server refused to create the pod of StatefulSet box: " + kForbidden);
  EXPECT_TRUE(got.exists);
}

TEST(PodRefusal, NothingChangesWithoutARefusalOrInAnotherState) {
  const json other = json::array({failedCreate("uid-1", "2026-01-01T10:00:00Z", "x")});
  const ObservedStatus unchanged = withPodRefusal(podNotCreated(), kStatefulSet, other);
  EXPECT_EQ(unchanged.reason, "PodNotCreated");
  EXPECT_EQ(unchanged.phase, Phase::Starting);

  const json mine = json::array({failedCreate("uid-2", "2026-01-01T10:00:00Z", kForbidden)});
  ObservedStatus running = podNotCreated();
  running.phase = Phase::Running;
  running.reason = "Ready";
  EXPECT_EQ(withPodRefusal(running, kStatefulSet, mine).reason, "Ready");
  ObservedStatus legacy = podNotCreated();
  legacy.workload = WorkloadKind::Deployment;
  EXPECT_EQ(withPodRefusal(legacy, kStatefulSet, mine).reason, "PodNotCreated");
  EXPECT_EQ(withPodRefusal(podNotCreated(), kStatefulSet, json::object()).reason,
            "PodNotCreated");
}

TEST(PodRefusal, TheFieldSelectorNamesTheEvents) {
  EXPECT_EQ(podRefusalFieldSelector("box"),
            "involvedObject.kind=StatefulSet,reason=FailedCreate,involvedObject.name=box");
  EXPECT_EQ(podRefusalFieldSelector(), "involvedObject.kind=StatefulSet,reason=FailedCreate");
}

}  // namespace
}  // namespace sandboxd
