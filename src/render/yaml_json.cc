// YAML <-> JSON conversion for manifests: parse templates with YAML typing, and emit
// multi-document YAML whose strings can never be read back as another type.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <regex>

#include "sandboxd/render/manifest_renderer.h"

namespace sandboxd {
namespace {

json plainScalar(const std::string& s) {
  static const std::regex kInt("^[-+]?[0-9]+$");
  static const std::regex kFloat("^[-+]?([0-9]+\\.[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?$");
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    return nullptr;
  }
  if (s == "true" || s == "True" || s == "TRUE") {
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    return false;
  }
  if (std::regex_match(s, kInt) && s.size() < 19) {
    return std::stoll(s);
  }
  if (std::regex_match(s, kFloat)) {
    return std::stod(s);
  }
  return s;
}

json toJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      // "!" is the non-specific tag of quoted scalars: always strings.
      return node.Tag() == "!" ? json(node.Scalar()) : plainScalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) {
        out.push_back(toJson(item));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) {
        out[kv.first.Scalar()] = toJson(kv.second);
      }
      return out;
    }
  }
  return nullptr;
}

// A string may be written plain only when it reads back as the same string.
bool canBePlain(const std::string& s) {
  if (s.empty() || s.size() > 200) {
    return false;
  }
  if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '/' || s[0] == '_')) {
    return false;
  }
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/' ||
          c == '-')) {
      return false;
    }
  }
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static const char* kWords[] = {"true", "false", "yes", "no", "on", "off", "y", "n", "null"};
  for (const char* w : kWords) {
    if (lower == w) {
      return false;
    }
  }
  return true;
}

void emit(YAML::Emitter& out, const json& value) {
  switch (value.type()) {
    case json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [key, item] : value.items()) {
        out << YAML::Key;
        emit(out, json(key));
        out << YAML::Value;
        emit(out, item);
      }
      out << YAML::EndMap;
      return;
    case json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& item : value) {
        emit(out, item);
      }
      out << YAML::EndSeq;
      return;
    case json::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      if (canBePlain(s)) {
        out << s;
      } else {
        out << YAML::DoubleQuoted << s;
      }
      return;
    }
    case json::value_t::boolean:
      out << (value.get<bool>() ? "true" : "false");
      return;
    case json::value_t::null:
      out << YAML::Null;
      return;
    default:
      out << value.dump();
      return;
  }
}

}  // namespace

StatusOr<json> yamlToJson(const std::string& yamlText, const std::string& sourceName) {
  try {
    return toJson(YAML::Load(yamlText));
  } catch (const YAML::Exception& e) {
    return invalidArgument(sourceName + ": invalid YAML: " + e.what());
  }
}

std::string toYamlDocuments(const std::vector<json>& objects) {
  std::string out;
  for (const auto& object : objects) {
    YAML::Emitter emitter;
    emitter.SetIndent(2);
    emitter.SetSeqFormat(YAML::Block);
    emit(emitter, object);
    out += "---\n";
    out += emitter.c_str();
    out += "\n";
  }
  return out;
}

}  // namespace sandboxd
