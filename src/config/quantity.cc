// Kubernetes quantities as config and requests write them.
#include "sandboxd/config/quantity.h"

#include <cctype>
#include <limits>
#include <regex>

namespace sandboxd {

std::string quoted(const std::string& s) {
  // Messages echo input, so keep them readable and bounded.
  std::string out;
  for (char c : s.substr(0, 64)) {
    unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (s.size() > 64) {
    out += "...";
  }
  return "\"" + out + "\"";
}

StatusOr<int64_t> parseStorageQuantity(const std::string& quantity) {
  const std::string rule = "must be a whole number with a Mi, Gi or Ti suffix, e.g. \"5Gi\"";
  size_t i = 0;
  while (i < quantity.size() && std::isdigit(static_cast<unsigned char>(quantity[i]))) {
    ++i;
  }
  if (i == 0 || i > 12 || (quantity[0] == '0' && i > 1)) {
    return invalidArgument("storage: " + quoted(quantity) + " is invalid; it " + rule);
  }
  std::string suffix = quantity.substr(i);
  int shift = 0;
  if (suffix == "Mi") {
    shift = 20;
  } else if (suffix == "Gi") {
    shift = 30;
  } else if (suffix == "Ti") {
    shift = 40;
  } else {
    return invalidArgument("storage: " + quoted(quantity) + " is invalid; it " + rule);
  }
  int64_t n = std::stoll(quantity.substr(0, i));
  if (n > (std::numeric_limits<int64_t>::max() >> shift)) {
    return invalidArgument("storage: " + quoted(quantity) + " is too large");
  }
  return n << shift;
}

bool isResourceQuantity(const std::string& quantity) {
  // Kubernetes' quantity grammar (k8s.io/apimachinery/pkg/api/resource): a non-negative
  // decimal number and a binary-SI, decimal-SI or exponent suffix.
  static const std::regex kQuantity(
      R"(\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?)");
  return quantity.size() <= 64 && std::regex_match(quantity, kQuantity);
}

}  // namespace sandboxd
