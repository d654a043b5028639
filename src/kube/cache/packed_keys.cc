#include "kube/cache/packed_keys.h"

#include <set>

namespace sandboxd {
namespace {

constexpr uint8_t kFirstCode = 0x80;

// Keys inside values that masks keep whole: a StatefulSet's or Deployment's status and its
// conditions, a pod's container states, a selector.
constexpr const char* kStatusKeys[] = {
    "observedGeneration", "replicas",        "readyReplicas",      "currentReplicas",
    "updatedReplicas",    "availableReplicas", "unavailableReplicas", "currentRevision",
    "updateRevision",     "collisionCount",  "conditions",         "type",
    "status",             "reason",          "message",            "lastTransitionTime",
    "lastUpdateTime",     "lastProbeTime",   "running",            "waiting",
    "terminated",         "startedAt",       "finishedAt",         "exitCode",
    "containerID",        "signal",          "matchLabels",        "matchExpressions",
    "key",                "operator",        "values"};

void collect(const FieldMask& mask, std::vector<std::string>& keys, std::set<std::string>& seen) {
  for (const auto& [key, child] : mask.fields) {
    if (seen.insert(key).second) {
      keys.push_back(key);
    }
    collect(child, keys, seen);
  }
}

}  // namespace

PackedKeys::PackedKeys(const std::vector<std::string>& keys) {
  keys_.reserve(std::min(keys.size(), kMaxKeys));
  for (const std::string& key : keys) {
    if (keys_.size() == kMaxKeys) {
      break;
    }
    if (key.size() > 1 && codes_.count(key) == 0) {  // a code is as long as "x"
      keys_.push_back(key);
      codes_.emplace(keys_.back(), static_cast<uint8_t>(keys_.size() - 1));
    }
  }
  // codes_ views keys_'s strings; keys_ never grows past its reserve, so they stay put.
}

PackedKeysPtr PackedKeys::forMasks(const std::vector<const FieldMask*>& masks) {
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const FieldMask* mask : masks) {
    if (mask != nullptr) {
      collect(*mask, keys, seen);
    }
  }
  for (const char* key : kStatusKeys) {
    if (seen.insert(key).second) {
      keys.push_back(key);
    }
  }
  return std::make_shared<const PackedKeys>(keys);
}

std::optional<char> PackedKeys::codeOf(std::string_view key) const {
  const auto it = codes_.find(key);
  if (it == codes_.end()) {
    return std::nullopt;
  }
  return static_cast<char>(kFirstCode + it->second);
}

const std::string* PackedKeys::keyOf(std::string_view s) const {
  if (s.size() != 1) {
    return nullptr;
  }
  const auto byte = static_cast<uint8_t>(s[0]);
  if (byte < kFirstCode || static_cast<size_t>(byte - kFirstCode) >= keys_.size()) {
    return nullptr;
  }
  return &keys_[byte - kFirstCode];
}

}  // namespace sandboxd
