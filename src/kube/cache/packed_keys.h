// PackedKeys: the object keys the watch cache writes as one byte rather than spelled out. Of a
// cached object's MessagePack most bytes were keys, the same in every object: six label keys
// of 3 to 41 bytes on every StatefulSet, pod and claim, "resourceVersion",
// "containerStatuses", "creationTimestamp"... At 100,000 sandboxes (300,000 objects) that was
// about half of the cache's packed bytes.
//
// A coded key is a one-byte MessagePack string holding 0x80 + its code. A lone byte of 0x80 or
// more is never valid UTF-8, and the keys the cache packs come from JSON text the API server
// wrote (valid UTF-8, checked by both parsers), so a coded key never stands for another.
// In-memory only: the codes are never written anywhere that outlives the process.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sandboxd/kube/field_mask.h"

namespace sandboxd {

class PackedKeys {
 public:
  static constexpr size_t kMaxKeys = 128;

  // Codes `keys` in order (repeats once; keys of one byte or none are not worth a code; past
  // kMaxKeys, the rest are spelled out).
  explicit PackedKeys(const std::vector<std::string>& keys);
  PackedKeys(const PackedKeys&) = delete;  // the code map points into keys_
  PackedKeys& operator=(const PackedKeys&) = delete;

  // Every key named anywhere in `masks` and the keys of Kubernetes' object statuses that
  // masks keep whole (a workload's status, a container's state).
  static std::shared_ptr<const PackedKeys> forMasks(const std::vector<const FieldMask*>& masks);

  // The byte that stands for `key`, if it is coded.
  std::optional<char> codeOf(std::string_view key) const;
  // The key a one-byte string stands for; null when `s` is not a code.
  const std::string* keyOf(std::string_view s) const;

 private:
  std::vector<std::string> keys_;  // by code
  std::unordered_map<std::string_view, uint8_t> codes_;
};

using PackedKeysPtr = std::shared_ptr<const PackedKeys>;

}  // namespace sandboxd
