#include "sandboxd/kube/label_selector.h"

#include <sstream>

namespace sandboxd {

std::optional<LabelSelector> LabelSelector::parse(const std::string& text) {
  LabelSelector selector;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    Term term;
    const auto ne = part.find("!=");
    const auto eq = part.find('=');
    if (ne != std::string::npos) {
      term = {part.substr(0, ne), Op::NotEquals, part.substr(ne + 2)};
    } else if (eq != std::string::npos) {
      term = {part.substr(0, eq), Op::Equals,
              part.substr(part.compare(eq, 2, "==") == 0 ? eq + 2 : eq + 1)};
    } else {
      term = {part, Op::Exists, ""};
    }
    if (term.key.empty() || term.key.find_first_of("!=() ") != std::string::npos ||
        term.value.find_first_of("!=() ") != std::string::npos) {
      return std::nullopt;
    }
    selector.terms.push_back(std::move(term));
  }
  return selector;
}

bool LabelSelector::matches(const json& object) const {
  if (terms.empty()) {
    return true;
  }
  static const json kNoLabels = json::object();
  const json* labels = &kNoLabels;
  const auto meta = object.find("metadata");
  if (meta != object.end() && meta->is_object()) {
    const auto found = meta->find("labels");
    if (found != meta->end() && found->is_object()) {
      labels = &*found;
    }
  }
  for (const Term& t : terms) {
    const auto label = labels->find(t.key);
    const bool has = label != labels->end();
    switch (t.op) {
      case Op::Equals:
        if (!has || *label != t.value) {
          return false;
        }
        break;
      case Op::NotEquals:
        if (has && *label == t.value) {
          return false;
        }
        break;
      case Op::Exists:
        if (!has) {
          return false;
        }
        break;
    }
  }
  return true;
}

}  // namespace sandboxd
