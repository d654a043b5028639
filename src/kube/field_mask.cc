#include "sandboxd/kube/field_mask.h"

#include <vector>

namespace sandboxd {

FieldMask FieldMask::keys(std::initializer_list<const char*> names) {
  FieldMask mask;
  for (const char* name : names) {
    mask.fields.emplace(name, FieldMask{});
  }
  return mask;
}

void applyFieldMask(json& value, const FieldMask& mask) {
  if (mask.fields.empty()) {
    return;
  }
  if (value.is_array()) {
    for (json& element : value) {
      applyFieldMask(element, mask);
    }
    return;
  }
  if (!value.is_object()) {
    return;
  }
  for (auto it = value.begin(); it != value.end();) {
    const auto kept = mask.fields.find(it.key());
    if (kept == mask.fields.end()) {
      it = value.erase(it);
    } else {
      applyFieldMask(*it, kept->second);
      ++it;
    }
  }
}

json parseListKeeping(const std::string& text, const FieldMask& item) {
  // The list's own fields are kept whole, its items masked.
  FieldMask root;
  root.fields.emplace("apiVersion", FieldMask{});
  root.fields.emplace("kind", FieldMask{});
  root.fields.emplace("metadata", FieldMask{});
  root.fields.emplace("items", item);
  // By depth: the mask of the container there (nullptr: keep everything), and the mask the
  // next container starting there gets (set by its key, or by the array holding it).
  std::vector<const FieldMask*> containers;
  std::vector<const FieldMask*> next(1, &root);
  const auto at = [](std::vector<const FieldMask*>& v, size_t d) -> const FieldMask*& {
    if (v.size() <= d) {
      v.resize(d + 1, nullptr);
    }
    return v[d];
  };
  const auto orAll = [](const FieldMask& m) -> const FieldMask* {
    return m.fields.empty() ? nullptr : &m;
  };
  json::parser_callback_t callback = [&](int depth, json::parse_event_t event, json& parsed) {
    const size_t d = static_cast<size_t>(depth);
    switch (event) {
      case json::parse_event_t::object_start:
        at(containers, d) = at(next, d);
        return true;
      case json::parse_event_t::array_start:
        at(containers, d) = at(next, d);
        at(next, d + 1) = at(containers, d);  // each element gets the array's mask
        return true;
      case json::parse_event_t::key: {
        const FieldMask* parent = d == 0 ? nullptr : at(containers, d - 1);
        if (parent == nullptr) {
          at(next, d) = nullptr;
          return true;
        }
        const auto kept = parent->fields.find(parsed.get_ref<const std::string&>());
        if (kept == parent->fields.end()) {
          return false;  // the key and its value are skipped, nothing of it is built
        }
        at(next, d) = orAll(kept->second);
        return true;
      }
      default:
        return true;
    }
  };
  return json::parse(text, callback, /*allow_exceptions=*/false);
}

}  // namespace sandboxd
