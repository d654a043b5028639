// Process-wide logging set-up: text or JSON lines on stderr (stdout carries command output).
#pragma once

#include <string>

#include "sandboxd/common/status.h"

namespace sandboxd::cli {

// format: "text" | "json"; level: trace|debug|info|warn|error|off.
Status setupLogging(const std::string& format, const std::string& level);

}  // namespace sandboxd::cli
