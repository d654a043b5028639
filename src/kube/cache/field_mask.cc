#include "sandboxd/kube/field_mask.h"

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

json maskedCopy(const json& value, const FieldMask& mask) {
  if (mask.fields.empty() || !(value.is_array() || value.is_object())) {
    return value;
  }
  if (value.is_array()) {
    json out = json::array();
    for (const json& element : value) {
      out.push_back(maskedCopy(element, mask));
    }
    return out;
  }
  json out = json::object();
  for (const auto& [key, sub] : mask.fields) {
    const auto it = value.find(key);
    if (it != value.end()) {
      out.emplace(key, maskedCopy(*it, sub));
    }
  }
  return out;
}

}  // namespace sandboxd
