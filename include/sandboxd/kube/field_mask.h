// FieldMask: which fields of a Kubernetes object a reader keeps, as a tree of keys (a key with
// no children keeps its whole value). One mask serves twice: applied to an object already
// parsed (applyFieldMask), and while parsing a list answer (parseListKeeping, in
// src/kube/cache/field_mask_parse.h), so that the fields nobody reads are never built: at
// 10,000 sandboxes a list of pods is ~50 MB of JSON, most of it spec and managedFields.
#pragma once

#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace sandboxd {

using json = nlohmann::json;

struct FieldMask {
  // Empty: the whole value. Ordered with std::less<> so that a parser's string_view key is
  // looked up without building a string.
  std::map<std::string, FieldMask, std::less<>> fields;

  FieldMask() = default;
  FieldMask(std::initializer_list<std::pair<const std::string, FieldMask>> keep)
      : fields(keep) {}
  // Keys kept whole.
  static FieldMask keys(std::initializer_list<const char*> names);
};

// Keeps, of `value` (an object; anything else is left whole), only the fields in `mask`,
// recursively; arrays apply the mask to each element.
void applyFieldMask(json& value, const FieldMask& mask);

// What applyFieldMask would leave of a copy of `value`, built without copying the rest (an
// in-memory cluster's list of 10,000 objects, of which a reader keeps a few fields each).
json maskedCopy(const json& value, const FieldMask& mask);

}  // namespace sandboxd
