// packListItems: each item's bytes are exactly json::to_msgpack of the item parsed whole by
// nlohmann and trimmed by applyFieldMask (the watch cache compares packed bytes to tell what a
// relist changed, and packs watch events that way).
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "kube/cache/packed_keys.h"
#include "kube/cache/packed_list.h"

namespace sandboxd {
namespace {

// What the cache stored before: parse whole, mask, pack.
std::vector<std::string> packedByNlohmann(const std::string& text, const FieldMask* keep) {
  json list = json::parse(text);
  std::vector<std::string> out;
  for (json item : list["items"]) {
    if (keep != nullptr) {
      applyFieldMask(item, *keep);
    }
    std::string packed;
    json::to_msgpack(item, packed);
    out.push_back(std::move(packed));
  }
  return out;
}

// Keys coded in the tests: some the documents use, at one level or several ("metadata" and
// "status" are also values), some they never use, and two too short to be worth a code.
const PackedKeys& testKeys() {
  static const PackedKeys keys({"metadata", "status", "", "a", "labels", "phase", "unused"});
  return keys;
}

// With coded keys, both ways of packing give the same bytes for the same object (the cache
// compares them), never more than plain MessagePack, and they unpack to the object itself.
void expectSameCodedBytes(const std::string& text, const FieldMask* keep) {
  const json items = json::parse(text)["items"];
  const std::vector<std::string> plain = packedByNlohmann(text, keep);
  auto coded = packListItems(text, keep, "app", &testKeys());
  ASSERT_TRUE(coded.isOk()) << coded.status().toString() << "\n" << text;
  ASSERT_EQ(coded->items.size(), plain.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(packKeeping(items[i], keep, &testKeys()), coded->items[i].packed)
        << "packKeeping, item " << i;
    EXPECT_LE(coded->items[i].packed.size(), plain[i].size()) << "item " << i;
    EXPECT_EQ(unpackKeeping(coded->items[i].packed, &testKeys()), json::from_msgpack(plain[i]))
        << "item " << i << "\n" << text;
  }
}

// Also packKeeping, item by item from the parsed list (as a watch event's object is packed),
// and both with coded keys.
void expectSameBytes(const std::string& text, const FieldMask* keep) {
  expectSameCodedBytes(text, keep);
  const json items = json::parse(text)["items"];
  const std::vector<std::string> fromNlohmann = packedByNlohmann(text, keep);
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(packKeeping(items[i], keep), fromNlohmann[i]) << "packKeeping, item " << i;
  }
  auto packed = packListItems(text, keep, "app");
  ASSERT_TRUE(packed.isOk()) << packed.status().toString() << "\n" << text;
  const std::vector<std::string> want = packedByNlohmann(text, keep);
  ASSERT_EQ(packed->items.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(packed->items[i].packed, want[i])
        << "item " << i << ": " << json::from_msgpack(packed->items[i].packed).dump() << " vs "
        << json::from_msgpack(want[i]).dump() << "\n" << text;
  }
}

FieldMask podMask() {
  return FieldMask{{"apiVersion", {}},
                   {"kind", {}},
                   {"metadata", FieldMask::keys({"name", "namespace", "labels"})},
                   {"spec", FieldMask::keys({"nodeName"})},
                   {"status", FieldMask{{"phase", {}},
                                        {"conditions", FieldMask::keys({"type", "status"})},
                                        {"containerStatuses", {}}}}};
}

// A pod as the API server writes it (field order of the Go structs, not sorted).
const char* kPodList = R"({"kind":"PodList","apiVersion":"v1",
 "metadata":{"resourceVersion":"8812","continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"},
 "items":[{"metadata":{"name":"sb-alice-0","generateName":"sb-alice-","namespace":"sandboxes",
  "uid":"6f7c0f6e-2c1b-4d7e-9a55-1c2d3e4f5a6b","resourceVersion":"8790",
  "creationTimestamp":"2026-11-30T10:00:00Z",
  "labels":{"app":"sb-alice","controller-revision-hash":"sb-alice-7d9f","statefulset.kubernetes.io/pod-name":"sb-alice-0"},
  "ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"sb-alice","uid":"u","controller":true,"blockOwnerDeletion":true}],
  "managedFields":[{"manager":"kube-controller-manager","operation":"Update","apiVersion":"v1","time":"2026-11-30T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{}}}}}]},
  "spec":{"volumes":[{"name":"home","persistentVolumeClaim":{"claimName":"home-sb-alice-0"}}],
   "containers":[{"name":"agent","image":"ghcr.io/x/agent:1","ports":[{"containerPort":8080,"protocol":"TCP"}],
    "env":[{"name":"A","value":"1"}],"resources":{"limits":{"cpu":"2","memory":"4Gi"}},
    "terminationMessagePath":"/dev/termination-log","imagePullPolicy":"IfNotPresent"}],
   "restartPolicy":"Always","terminationGracePeriodSeconds":30,"nodeName":"node-1","priority":0},
  "status":{"phase":"Running","conditions":[{"type":"Initialized","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-30T10:00:00Z"},
   {"type":"Ready","status":"False","lastProbeTime":null,"lastTransitionTime":"2026-11-30T10:00:01Z","reason":"ContainersNotReady","message":"containers with unready status: [agent]"}],
   "hostIP":"10.0.0.1","podIP":"10.244.0.5","startTime":"2026-11-30T10:00:00Z",
   "containerStatuses":[{"name":"agent","state":{"waiting":{"reason":"ContainerCreating"}},"lastState":{},"ready":false,"restartCount":0,"image":"ghcr.io/x/agent:1","imageID":"","started":false}],
   "qosClass":"Burstable"}},
  {"metadata":{"name":"sb-bob-0","namespace":"sandboxes","labels":{"other":"x"}},"status":{"phase":"Pending"}},
  {"metadata":{"name":"sb-carol-0","namespace":"sandboxes","labels":{"app":17}}},
  {}]})";

TEST(PackedListTest, AnApiServerListPacksAsParsingWholeAndMaskingDoes) {
  const FieldMask mask = podMask();
  expectSameBytes(kPodList, &mask);
  expectSameBytes(kPodList, nullptr);

  auto packed = packListItems(kPodList, &mask, "app");
  ASSERT_TRUE(packed.isOk());
  EXPECT_EQ(packed->resourceVersion, "8812");
  EXPECT_EQ(packed->continueToken, "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ");
  ASSERT_EQ(packed->items.size(), 4u);
  EXPECT_EQ(packed->items[0].nameSpace, "sandboxes");
  EXPECT_EQ(packed->items[0].name, "sb-alice-0");
  EXPECT_EQ(packed->items[0].label, "sb-alice");
  EXPECT_EQ(packed->items[1].label, std::nullopt) << "no app label";
  EXPECT_EQ(packed->items[2].label, std::nullopt) << "not a string";
  EXPECT_EQ(packed->items[3].name, "");
  // What the first pod keeps, spelled out.
  const json pod = json::from_msgpack(packed->items[0].packed);
  EXPECT_EQ(pod["spec"], (json{{"nodeName", "node-1"}}));
  EXPECT_EQ(pod["status"]["conditions"][1],
            (json{{"type", "Ready"}, {"status", "False"}}));
  EXPECT_FALSE(pod["metadata"].contains("managedFields"));
}

TEST(PackedListTest, EveryEncodingMatches) {
  // Each boundary of MessagePack's integer, float, string, array and map encodings.
  std::string items;
  for (const char* n :
       {"0", "-0", "1", "127", "128", "255", "256", "65535", "65536", "4294967295", "4294967296",
        "9223372036854775807", "9223372036854775808", "18446744073709551615", "-1", "-32", "-33",
        "-128", "-129", "-32768", "-32769", "-2147483648", "-2147483649",
        "-9223372036854775808", "0.5", "-0.0", "0.1", "1.0", "1e3", "1E-7", "3.4028234663852886e38",
        "3.4028235677973366e38", "-3.4028234663852886e38", "1e308", "2.2250738585072014e-308",
        "5e-324", "16777217", "16777217.0", "123456789.125"}) {
    items += std::string(items.empty() ? "" : ",") + "{\"v\":" + n + "}";
  }
  for (size_t len : {0, 1, 31, 32, 255, 256, 65535, 65536}) {
    items += ",{\"s\":\"" + std::string(len, 'x') + "\"}";
  }
  for (size_t count : {0, 15, 16, 65535, 65536}) {
    std::string array = "[";
    std::string object = "{";
    for (size_t i = 0; i < count; ++i) {
      array += std::string(i ? "," : "") + "null";
      object += std::string(i ? "," : "") + "\"k" + std::to_string(i) + "\":true";
    }
    items += ",{\"a\":" + array + "],\"o\":" + object + "}}";
  }
  items += R"(,{"u":"caf\u00e9 \"q\" \n\t\\ \/ \ud83d\ude00 \u0000 \u001f","b":[true,false,null]})";
  const std::string text = "{\"items\":[" + items + "]}";
  expectSameBytes(text, nullptr);
}

TEST(PackedListTest, RepeatedKeysKeepTheLastAndKeysComeInByteOrder) {
  const std::string text =
      R"({"items":[{"b":1,"a":2,"b":3,"\u00e9":4,"Z":5,"a":{"x":1},"":6,"aa":7,"a ":8}]})";
  expectSameBytes(text, nullptr);
  const FieldMask mask = FieldMask::keys({"a", "b", ""});
  expectSameBytes(text, &mask);
  const json item = json::from_msgpack(packListItems(text, &mask, "")->items[0].packed);
  EXPECT_EQ(item, (json{{"", 6}, {"a", {{"x", 1}}}, {"b", 3}}));
}

// Random documents: objects with random (also repeated) keys, arrays, every kind of scalar,
// and random masks over them.
class RandomJson {
 public:
  explicit RandomJson(uint32_t seed) : rng_(seed) {}

  std::string value(int depth) {
    switch (pick(depth > 3 ? 6 : 8)) {
      case 0: return "null";
      case 1: return pick(2) ? "true" : "false";
      case 2: {
        const auto bits = static_cast<int64_t>(static_cast<uint64_t>(rng_()) << 32 | rng_());
        return std::to_string(bits >> pick(63));  // both signs, every magnitude
      }
      case 3: return std::to_string(static_cast<double>(rng_()) / (1 + pick(1000)));
      case 4: return "\"" + key() + "\"";
      case 5: return std::to_string(static_cast<uint64_t>(rng_()) << 32 | rng_());
      case 6: {
        std::string out = "[";
        for (int i = pick(5); i > 0; --i) {
          out += value(depth + 1) + (i > 1 ? "," : "");
        }
        return out + "]";
      }
      default: {
        std::string out = "{";
        for (int i = pick(7); i > 0; --i) {
          out += "\"" + key() + "\":" + value(depth + 1) + (i > 1 ? "," : "");
        }
        return out + "}";
      }
    }
  }

  FieldMask mask(int depth) {
    FieldMask m;
    for (int i = pick(4); i > 0; --i) {
      m.fields.emplace(key(), depth < 3 && pick(2) ? mask(depth + 1) : FieldMask{});
    }
    return m;
  }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }
  std::string key() {
    static const char* keys[] = {"a", "b", "c", "metadata", "status", "x y", "\\u00e9", ""};
    return keys[pick(8)];
  }
  std::mt19937 rng_;
};

TEST(PackedListTest, RandomDocumentsAndMasksPackAsNlohmannDoes) {
  RandomJson random(20261201);
  for (int round = 0; round < 300; ++round) {
    std::string items;
    for (int i = 0; i < 5; ++i) {
      items += (i ? "," : "") + random.value(0);
    }
    const std::string text = "{\"items\":[" + items + "]}";
    const FieldMask mask = random.mask(0);
    expectSameBytes(text, &mask);
    if (HasFailure()) {
      return;
    }
  }
}

TEST(PackedListTest, CodedKeysAreOneByteEachAndOnlyWhereTheyAreKeys) {
  const std::string text =
      R"({"items":[{"metadata":{"name":"status","labels":{"a":"metadata"}},"status":{"phase":"a"},"other":{"":1}}]})";
  auto coded = packListItems(text, nullptr, "", &testKeys());
  auto plain = packListItems(text, nullptr, "");
  ASSERT_TRUE(coded.isOk() && plain.isOk());
  // metadata, labels, status and phase coded (2 bytes each); the keys "a" and "" are not (a
  // code would save nothing), nor the values "status", "metadata" and "a" or the key "other".
  EXPECT_FALSE(testKeys().codeOf("a").has_value());
  EXPECT_FALSE(testKeys().codeOf("").has_value());
  const size_t saved = (1 + 8 - 2) + (1 + 6 - 2) + (1 + 6 - 2) + (1 + 5 - 2);
  EXPECT_EQ(coded->items[0].packed.size(), plain->items[0].packed.size() - saved);
  const json object = unpackKeeping(coded->items[0].packed, &testKeys());
  EXPECT_EQ(object["metadata"]["name"], "status");
  EXPECT_EQ(object["metadata"]["labels"]["a"], "metadata");
  EXPECT_EQ(object["status"]["phase"], "a");
  EXPECT_EQ(object["other"][""], 1);
}

TEST(PackedKeysTest, CodesAreTheKeysInOrderUpToTheLimit) {
  std::vector<std::string> many;
  for (size_t i = 0; i < PackedKeys::kMaxKeys + 10; ++i) {
    many.push_back("k" + std::to_string(i % (PackedKeys::kMaxKeys + 5)));  // some repeated
  }
  const PackedKeys keys(many);
  ASSERT_TRUE(keys.codeOf("k0").has_value());
  EXPECT_EQ(static_cast<uint8_t>(*keys.codeOf("k0")), 0x80);
  const std::optional<char> last = keys.codeOf("k" + std::to_string(PackedKeys::kMaxKeys - 1));
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(static_cast<uint8_t>(*last), 0xFF);
  EXPECT_FALSE(keys.codeOf("k" + std::to_string(PackedKeys::kMaxKeys)).has_value());
  EXPECT_FALSE(keys.codeOf("x").has_value());
  EXPECT_EQ(*keys.keyOf(std::string(1, *last)), "k" + std::to_string(PackedKeys::kMaxKeys - 1));
  EXPECT_EQ(keys.keyOf("a"), nullptr) << "ASCII is never a code";
  EXPECT_EQ(keys.keyOf(std::string(1, '\x80') + "x"), nullptr) << "codes are one byte";

  const FieldMask mask{{"metadata", FieldMask::keys({"name", "cloud.sealos.io/owner"})},
                       {"status", {}}};
  const PackedKeysPtr forMasks = PackedKeys::forMasks({&mask, nullptr});
  for (const char* key : {"metadata", "name", "cloud.sealos.io/owner", "status",
                          "observedGeneration", "containerID"}) {
    EXPECT_TRUE(forMasks->codeOf(key).has_value()) << key;
  }
  EXPECT_FALSE(forMasks->codeOf("spec").has_value());
}

TEST(PackedListTest, NumbersBeyondSixtyFourBitsPackAsNlohmannReadsThem) {
  // simdjson refuses them; the nlohmann fallback makes them doubles, as parsing whole did.
  const std::string text =
      R"({"metadata":{"resourceVersion":"3"},"items":[{"metadata":{"name":"n","labels":{"app":"a"}},"big":123456789012345678901234567890}]})";
  expectSameBytes(text, nullptr);
  auto packed = packListItems(text, nullptr, "app");
  ASSERT_TRUE(packed.isOk());
  EXPECT_EQ(packed->resourceVersion, "3");
  EXPECT_EQ(packed->items[0].name, "n");
  EXPECT_EQ(packed->items[0].label, "a");
}

TEST(PackedListTest, WhatIsNotAListIsAnError) {
  for (const char* text :
       {"", "[]", "\"x\"", R"({"items": {}})", R"({"items": [{"metadata": )",
        R"({"items": []} {"items": []})", "{\"items\": [{\"name\": \"\xff\"}]}",
        R"({"items": [{"spec": {"x": tru}}]})"}) {
    auto packed = packListItems(text, nullptr, "app");
    EXPECT_FALSE(packed.isOk()) << text;
  }
  auto empty = packListItems(R"({"metadata": {"resourceVersion": "5"}, "items": null})",
                             nullptr, "app");
  ASSERT_TRUE(empty.isOk());
  EXPECT_EQ(empty->resourceVersion, "5");
  EXPECT_TRUE(empty->items.empty());
}

}  // namespace
}  // namespace sandboxd
