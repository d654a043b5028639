// FieldMask: which fields of a Kubernetes object a reader keeps, as a tree of keys (a key with
// no children keeps its whole value). One mask serves twice: applied to an object already
// parsed (applyFieldMask), and while parsing a list answer (parseListKeeping), so that the
// fields nobody reads are never built: at 10,000 sandboxes a list of pods is ~50 MB of JSON,
// most of it spec and managedFields.
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

// Parses a list answer ({"apiVersion", "kind", "metadata", "items": [...]}), keeping of each
// item only the fields of `item` (what applyFieldMask would keep) and of the list everything
// but the items' other fields. Discarded (is_discarded()) when `text` is not valid JSON, also
// where the mask drops it. Parsed with simdjson (a 45 MB list of 10,000 pods: ~0.25 s against
// ~0.75 s for nlohmann's parser with a callback).
json parseListKeeping(const std::string& text, const FieldMask& item);

// Parses one watch event line ({"type", "object"}), keeping of its object only the fields of
// `object` and dropping anything else beside type and object; an ERROR event's object (a
// Status) is kept whole. Discarded when `text` is not valid JSON. simdjson, with one parser
// per thread reused from event to event; nlohmann's parser where simdjson refuses the text.
json parseWatchEventKeeping(const std::string& text, const FieldMask& object);

// The same with nlohmann's parser only: for a caller whose own simdjson parse refused the text
// (numbers beyond 64 bits, which it reads as floats; invalid text: discarded).
json parseListKeepingWithNlohmann(const std::string& text, const FieldMask& item);

}  // namespace sandboxd
