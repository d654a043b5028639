// Packing a list answer's items straight from its JSON text into MessagePack, the form the watch
// cache stores them in, keeping only the fields of a FieldMask. No json tree is built: at
// 10,000 pods (45–90 MB of JSON) building the kept fields as trees, packing them and freeing
// the trees cost more than simdjson's parse of the whole text.
//
// The bytes are exactly those of json::to_msgpack(item) after applyFieldMask(item, keep), as
// if the text had been parsed whole with nlohmann (keys in order, the last of repeated keys,
// the same integer and float encodings): the cache compares packed bytes to tell what a relist
// changed, and objects packed from watch events take that path.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sandboxd/common/status.h"
#include "sandboxd/kube/field_mask.h"

namespace sandboxd {

class PackedKeys;

struct PackedListItem {
  std::string nameSpace;  // metadata.namespace ("" if none)
  std::string name;       // metadata.name ("" if none)
  std::string packed;     // MessagePack of the kept fields
  // The value of metadata.labels[label] (the label asked for), when the item has it as a string.
  std::optional<std::string> label;
};

struct PackedList {
  std::string resourceVersion;  // metadata.resourceVersion of the list
  std::string continueToken;    // metadata.continue ("" on the last page)
  std::vector<PackedListItem> items;
};

// Parses a list answer ({"metadata": {...}, "items": [...]}) and packs each item, keeping the
// fields of `keep` (null or empty: the whole item). Internal error when `text` is not valid
// JSON (anywhere, also where the mask drops it) or not a list (an object whose items, if
// present, are an array). Numbers beyond 64 bits go to nlohmann's parser, which reads them as
// floats, as before. With `keys`, the keys it codes are written as their one-byte codes
// (kube/cache/packed_keys.h), in the places of the keys they stand for: still the same bytes
// for the same object whichever way it was packed.
StatusOr<PackedList> packListItems(const std::string& text, const FieldMask* keep,
                                   const std::string& label, const PackedKeys* keys = nullptr);

// The same packing for an object already parsed (a watch event's): what
// json::to_msgpack(value) gives after applyFieldMask(value, keep), without copying `value`
// (with `keys`: coded as packListItems codes them).
std::string packKeeping(const json& value, const FieldMask* keep,
                        const PackedKeys* keys = nullptr);

// The object packed bytes hold, coded keys spelled out (`keys`: those it was packed with).
// Throws nlohmann's parse_error on bytes that are not MessagePack, as json::from_msgpack does.
json unpackKeeping(std::string_view packed, const PackedKeys* keys = nullptr);

}  // namespace sandboxd
