// Exit codes of the local commands, and their one-line error report (DESIGN §4).
#pragma once

#include <cstdio>

#include "sandboxd/common/status.h"

namespace sandboxd::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// Prints "error: MESSAGE" on stderr; exit 2 for invalid input, else 1.
inline int fail(const Status& status) {
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  return status.kind() == ErrorKind::InvalidArgument ? kExitUsage : kExitFailed;
}

}  // namespace sandboxd::cli
