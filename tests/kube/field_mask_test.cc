// FieldMask: parsing a list keeping only the masked fields of each item gives exactly what
// parsing it whole and applying the mask gives.
#include <gtest/gtest.h>

#include "kube/cache/field_mask_parse.h"
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

TEST(FieldMaskTest, AMaskedCopyIsWhatApplyingTheMaskToACopyLeaves) {
  const json whole = json::parse(kPodList);
  const FieldMask masks[] = {podMask(), FieldMask{}, FieldMask::keys({"metadata"}),
                             FieldMask{{"metadata", FieldMask{{"labels", FieldMask::keys({"x"})}}}}};
  for (const FieldMask& mask : masks) {
    // Each item, the list of items (arrays apply the mask to each element) and scalars.
    for (const json& value : {whole["items"][0], whole["items"][1], whole["items"][2],
                              whole["items"], json("text"), json(nullptr), json(7)}) {
      json expected = value;
      applyFieldMask(expected, mask);
      EXPECT_EQ(maskedCopy(value, mask), expected) << value.dump();
    }
  }
}

TEST(FieldMaskTest, AnEmptyMaskKeepsEverything) {
  json whole = json::parse(kPodList);
  EXPECT_EQ(parseListKeeping(kPodList, FieldMask{}), whole);
  json copy = whole;
  applyFieldMask(copy, FieldMask{});
  EXPECT_EQ(copy, whole);
}

// Every kind of value, and the types nlohmann gives them (the cache packs what it is given, so a
// number that changed type would be a change).
void expectSameTree(const json& got, const json& want, const std::string& at) {
  ASSERT_EQ(got.type(), want.type()) << at;
  if (got.is_object()) {
    ASSERT_EQ(got.size(), want.size()) << at;
    for (auto it = want.begin(); it != want.end(); ++it) {
      ASSERT_TRUE(got.contains(it.key())) << at << "." << it.key();
      expectSameTree(got[it.key()], it.value(), at + "." + it.key());
    }
  } else if (got.is_array()) {
    ASSERT_EQ(got.size(), want.size()) << at;
    for (size_t i = 0; i < got.size(); ++i) {
      expectSameTree(got[i], want[i], at + "[" + std::to_string(i) + "]");
    }
  } else {
    EXPECT_EQ(got, want) << at;
  }
}

TEST(FieldMaskTest, ValuesComeOutAsParsingWholeGivesThem) {
  const std::string list = R"({"kind": "List", "metadata": {"resourceVersion": "7"}, "items": [
    {"metadata": {"name": "caf\u00e9 \"q\" \n\t\\ \ud83d\ude00", "labels": {}},
     "spec": {"nodeName": ""},
     "status": {"phase": "Running", "conditions": [
       {"n": 0, "neg": -12, "max": 18446744073709551615, "min": -9223372036854775808,
        "d": 1.5, "e": 1e3, "z": -0.0, "t": true, "f": false, "nil": null, "a": [[], {}]}]}}],
    "ignored": {"deep": [1, 2, {"x": "y"}]}} )";
  json expected = json::parse(list);
  expected.erase("ignored");
  applyFieldMask(expected["items"], podMask());
  expectSameTree(parseListKeeping(list, podMask()), expected, "$");
}

TEST(FieldMaskTest, NumbersBeyondSixtyFourBitsParseAsWhole) {
  // No 64-bit integer holds them; nlohmann makes them doubles, and so does parseListKeeping.
  const std::string list =
      R"({"items": [{"status": {"phase": "P", "conditions": [{"big": 123456789012345678901234567890}]}}]})";
  json expected = json::parse(list);
  applyFieldMask(expected["items"], podMask());
  expectSameTree(parseListKeeping(list, podMask()), expected, "$");
}

TEST(FieldMaskTest, InvalidJsonIsDiscarded) {
  EXPECT_TRUE(parseListKeeping(R"({"items": [{"metadata": )", podMask()).is_discarded());
  EXPECT_TRUE(parseListKeeping("", podMask()).is_discarded());
  EXPECT_TRUE(parseListKeeping(R"({"items": []} {"items": []})", podMask()).is_discarded());
  EXPECT_TRUE(parseListKeeping(R"({"items": [{"metadata": {"name": "a"}}],})", podMask())
                  .is_discarded());
  EXPECT_TRUE(parseListKeeping("{\"items\": [{\"metadata\": {\"name\": \"\xff\"}}]}", podMask())
                  .is_discarded())
      << "not UTF-8";
  EXPECT_TRUE(parseListKeeping(R"({"items": [{"metadata": {"name": tru}}]})", podMask())
                  .is_discarded());
  // Also where the mask drops the field: the whole text is checked, not only what is kept.
  for (const char* text : {R"({"items": [{"spec": {"containers": tru}}]})",
                           R"({"items": [{"spec": {"x": 1.2.3}}]})",
                           R"({"items": [{"spec": {"x" 1}}]})", R"({"items": [], "x": [}])"}) {
    EXPECT_TRUE(parseListKeeping(text, podMask()).is_discarded()) << text;
  }
}

// A watch event, parsed keeping only the masked fields of its object: what parsing it whole
// and masking the object gives, for every event type but ERROR, whose Status stays whole.
TEST(FieldMaskTest, ParsingAWatchEventKeepsWhatMaskingItsObjectKeeps) {
  const json pod = json::parse(kPodList)["items"][0];
  for (const char* type : {"ADDED", "MODIFIED", "DELETED"}) {
    const std::string text =
        json{{"type", type}, {"object", pod}, {"unexpected", {{"x", 1}}}}.dump();
    json expected = {{"type", type}, {"object", pod}};
    applyFieldMask(expected["object"], podMask());
    expectSameTree(parseWatchEventKeeping(text, podMask()), expected, type);
  }
  const std::string bookmark =
      R"({"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"12","annotations":{"k8s.io/initial-events-end":"true"}}}})";
  expectSameTree(parseWatchEventKeeping(bookmark, podMask()),
                 json::parse(R"({"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1",
                                 "metadata":{}}})"),
                 "bookmark");
  const std::string error =
      R"j({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version: 1 (5)"}})j";
  expectSameTree(parseWatchEventKeeping(error, podMask()), json::parse(error), "error");
}

TEST(FieldMaskTest, AWatchEventSimdjsonRefusesIsParsedByNlohmann) {
  const std::string text =
      R"({"type":"MODIFIED","object":{"metadata":{"name":"a"},"status":{"conditions":[{"big":123456789012345678901234567890}]},"spec":{"x":1}}})";
  json expected = json::parse(text);
  applyFieldMask(expected["object"], podMask());
  expectSameTree(parseWatchEventKeeping(text, podMask()), expected, "$");
  EXPECT_TRUE(parseWatchEventKeeping(R"({"type":"ADDED","object":{"metadata": )", podMask())
                  .is_discarded());
  EXPECT_TRUE(parseWatchEventKeeping("", podMask()).is_discarded());
}

}  // namespace
}  // namespace sandboxd
