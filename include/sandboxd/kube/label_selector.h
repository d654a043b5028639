// LabelSelector: the equality-based label selectors sandboxd sends ("k=v", "k==v", "k!=v" and
// bare "k" for exists, comma-separated), parsed once and matched against objects'
// metadata.labels. One parser for every reader that matches objects itself: the simulated
// cluster's lists and watches, and the watch cache answering a list.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sandboxd {

using json = nlohmann::json;

struct LabelSelector {
  enum class Op { Equals, NotEquals, Exists };
  struct Term {
    std::string key;
    Op op = Op::Exists;
    std::string value;  // Equals and NotEquals
  };
  std::vector<Term> terms;  // all must hold; none: everything matches

  // Nullopt for what it does not take: the set-based forms ("in", "notin", "!k"), spaces, an
  // empty term, a value holding "=".
  static std::optional<LabelSelector> parse(const std::string& text);

  // Whether `object`'s metadata.labels satisfy every term (missing or non-object labels: none).
  bool matches(const json& object) const;
};

}  // namespace sandboxd
