#include "sandboxd/validation/token_ttl.h"

#include <cstdint>

namespace sandboxd {

StatusOr<std::chrono::seconds> parseTokenTtl(const std::string& text) {
  const auto bad = [&](const std::string& why) {
    return invalidArgument("ttl: \"" + text.substr(0, 32) + "\" is invalid: " + why +
                           "; expected a positive whole number and a unit s, m, h or d "
                           "(e.g. 12h, 30d), at most 3660d");
  };
  if (text.size() < 2) {
    return bad("too short");
  }
  int64_t unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return bad("unknown unit");
  }
  int64_t count = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') {
      return bad("not a whole number");
    }
    count = count * 10 + (c - '0');
    if (count * unit > kMaxTokenTtl.count()) {
      return bad("too long");
    }
  }
  if (count == 0) {
    return bad("must be more than zero");
  }
  return std::chrono::seconds(count * unit);
}

}  // namespace sandboxd
