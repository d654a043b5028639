// FieldMask: parsing a list keeping only the masked fields of each item gives exactly what
// parsing it whole and applying the mask gives.
#include <gtest/gtest.h>

#include "sandboxd/kube/field_mask.h"

namespace sandboxd {
namespace {

const char* kPodList = R"({
  "apiVersion": "v1", "kind": "PodList",
  "metadata": {"resourceVersion": "42", "continue": "abc"},
  "items": [
    {"apiVersion": "v1", "kind": "Pod",
     "metadata": {"name": "a-0", "namespace": "ns", "labels": {"app": "a", "x": "y"},
                  "annotations": {"big": "value"},
                  "managedFields": [{"manager": "kubelet", "fieldsV1": {"f:status": {}}}]},
     "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i",
              "env": [{"name": "K", "value": "V"}]}], "volumes": []},
     "status": {"phase": "Running", "podIP": "10.0.0.1",
                "conditions": [{"type": "Ready", "status": "True"}, {"type": "PodScheduled"}],
                "containerStatuses": [{"name": "c", "ready": true,
                                       "state": {"running": {"startedAt": "t"}}}]}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b-0"}, "spec": null,
     "status": "odd", "extra": [1, {"metadata": {"name": "not an item"}}]},
    {}
  ]
})";

FieldMask podMask() {
  return FieldMask{{"apiVersion", {}},
                   {"kind", {}},
                   {"metadata", FieldMask::keys({"name", "namespace", "labels"})},
                   {"spec", FieldMask::keys({"nodeName"})},
                   {"status", FieldMask::keys({"phase", "conditions", "containerStatuses"})}};
}

TEST(FieldMaskTest, ParsingAListKeepsWhatApplyingTheMaskKeeps) {
  json whole = json::parse(kPodList);
  json expected = whole;
  applyFieldMask(expected["items"], podMask());
  const json parsed = parseListKeeping(kPodList, podMask());
  EXPECT_EQ(parsed, expected);

  // What that is, spelled out for the first pod.
  const json& pod = parsed["items"][0];
  EXPECT_EQ(pod["metadata"], (json{{"name", "a-0"}, {"namespace", "ns"},
                                   {"labels", {{"app", "a"}, {"x", "y"}}}}));
  EXPECT_EQ(pod["spec"], (json{{"nodeName", "n1"}}));
  EXPECT_EQ(pod["status"]["conditions"].size(), 2u) << "arrays under a kept key stay whole";
  EXPECT_FALSE(pod["status"].contains("podIP"));
  // The list's own fields are kept whole; odd values under kept keys stay as they are.
  EXPECT_EQ(parsed["metadata"]["continue"], "abc");
  EXPECT_TRUE(parsed["items"][1]["spec"].is_null());
  EXPECT_EQ(parsed["items"][1]["status"], "odd");
  EXPECT_FALSE(parsed["items"][1].contains("extra"));
  EXPECT_EQ(parsed["items"][2], json::object());
}

TEST(FieldMaskTest, AnEmptyMaskKeepsEverything) {
  json whole = json::parse(kPodList);
  EXPECT_EQ(parseListKeeping(kPodList, FieldMask{}), whole);
  json copy = whole;
  applyFieldMask(copy, FieldMask{});
  EXPECT_EQ(copy, whole);
}

TEST(FieldMaskTest, InvalidJsonIsDiscarded) {
  EXPECT_TRUE(parseListKeeping(R"({"items": [{"metadata": )", podMask()).is_discarded());
  EXPECT_TRUE(parseListKeeping("", podMask()).is_discarded());
}

}  // namespace
}  // namespace sandboxd
