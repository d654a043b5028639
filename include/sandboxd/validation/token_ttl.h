// A token's time to live as typed (`token create --ttl 30d`, the admin API's "ttl").
#pragma once

#include <chrono>
#include <string>

#include "sandboxd/common/status.h"

namespace sandboxd {

// The longest time to live a token may be given: ten years.
inline constexpr std::chrono::seconds kMaxTokenTtl{10LL * 366 * 24 * 3600};

// Parses "<digits><unit>", unit one of s, m, h, d (e.g. "90s", "15m", "12h", "30d"), into a
// positive duration of at most kMaxTokenTtl. InvalidArgument naming the field "ttl" and the
// rule otherwise (empty, no unit, zero, a sign, spaces, too long).
StatusOr<std::chrono::seconds> parseTokenTtl(const std::string& text);

}  // namespace sandboxd
