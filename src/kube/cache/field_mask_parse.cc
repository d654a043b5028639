#include "kube/cache/field_mask_parse.h"

#include <simdjson.h>

#include <optional>
#include <string_view>
#include <vector>

namespace sandboxd {

namespace {

// The list's own fields are kept whole, its items masked.
FieldMask listMask(const FieldMask& item) {
  FieldMask root;
  root.fields.emplace("apiVersion", FieldMask{});
  root.fields.emplace("kind", FieldMask{});
  root.fields.emplace("metadata", FieldMask{});
  root.fields.emplace("items", item);
  return root;
}

// nlohmann's parser with a callback that skips what `mask` drops: the fallback for what
// simdjson cannot take (numbers beyond 64 bits) and the judge of invalid text.
json parseMaskedWithNlohmann(const std::string& text, const FieldMask& root) {
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

// `element` as nlohmann json, keeping only what `mask` keeps (null: everything).
json toJson(simdjson::dom::element element, const FieldMask* mask) {
  using simdjson::dom::element_type;
  switch (element.type()) {
    case element_type::OBJECT: {
      json out = json::object();
      for (const auto [key, value] : simdjson::dom::object(element)) {
        const FieldMask* child = nullptr;
        if (mask != nullptr) {
          const auto kept = mask->fields.find(key);
          if (kept == mask->fields.end()) {
            continue;
          }
          child = kept->second.fields.empty() ? nullptr : &kept->second;
        }
        out[std::string(key)] = toJson(value, child);
      }
      return out;
    }
    case element_type::ARRAY: {
      json out = json::array();
      for (const auto value : simdjson::dom::array(element)) {
        out.push_back(toJson(value, mask));
      }
      return out;
    }
    case element_type::STRING:
      return std::string(std::string_view(element));
    case element_type::INT64: {
      // As nlohmann stores them: integers >= 0 unsigned, negative ones signed.
      const int64_t n = int64_t(element);
      return n >= 0 ? json(static_cast<uint64_t>(n)) : json(n);
    }
    case element_type::UINT64:
      return json(uint64_t(element));
    case element_type::DOUBLE:
      return json(double(element));
    case element_type::BOOL:
      return json(bool(element));
    case element_type::NULL_VALUE:
      return json(nullptr);
  }
  return json(nullptr);
}

}  // namespace

json parseListKeeping(const std::string& text, const FieldMask& item) {
  const FieldMask root = listMask(item);
  // simdjson validates the whole text (with the CPU's vector instructions, chosen at run time)
  // several times faster than nlohmann's parser; only the kept fields are then built. What it
  // rejects goes to nlohmann's parser, which answers the same where the text is valid (numbers
  // beyond 64 bits) and with the discarded value where it is not.
  try {
    simdjson::dom::parser parser;
    const simdjson::dom::element document = parser.parse(text);
    if (document.type() == simdjson::dom::element_type::OBJECT) {
      return toJson(document, &root);
    }
  } catch (const simdjson::simdjson_error&) {
  }
  return parseMaskedWithNlohmann(text, root);
}

json parseWatchEventKeeping(const std::string& text, const FieldMask& object) {
  try {
    // Each watch stream reads its events one at a time on its own thread.
    thread_local simdjson::dom::parser parser;
    const simdjson::dom::element document = parser.parse(text);
    if (document.type() == simdjson::dom::element_type::OBJECT) {
      // Only type and object are built (the last of a repeated key, as nlohmann takes it).
      std::optional<simdjson::dom::element> type;
      std::optional<simdjson::dom::element> body;
      for (const auto [key, value] : simdjson::dom::object(document)) {
        if (key == "type") {
          type = value;
        } else if (key == "object") {
          body = value;
        }
      }
      const bool error = type && type->is_string() && std::string_view(*type) == "ERROR";
      json event = json::object();
      if (type) {
        event["type"] = toJson(*type, nullptr);
      }
      if (body) {
        event["object"] = toJson(*body, error || object.fields.empty() ? nullptr : &object);
      }
      return event;
    }
  } catch (const simdjson::simdjson_error&) {
  }
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  const auto type = parsed.is_object() ? parsed.find("type") : parsed.end();
  if (parsed.is_object() && !(type != parsed.end() && type->is_string() && *type == "ERROR")) {
    FieldMask root;
    root.fields.emplace("type", FieldMask{});
    root.fields.emplace("object", object);
    applyFieldMask(parsed, root);
  }
  return parsed;
}

json parseListKeepingWithNlohmann(const std::string& text, const FieldMask& item) {
  return parseMaskedWithNlohmann(text, listMask(item));
}

}  // namespace sandboxd
