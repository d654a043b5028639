// Files compiled into the binary (yaml/sandbox templates, migrations, the default config),
// so that `sandboxd` works from any directory with no files beside it.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace sandboxd {

// Repository-relative path (e.g. "migrations/0001_init.sql") → contents.
const std::map<std::string, std::string>& embeddedFiles();

// Contents of one embedded file, or nullopt.
std::optional<std::string> embeddedFile(const std::string& path);

// Embedded files whose path starts with `prefix` (e.g. "migrations/"), sorted by path.
std::map<std::string, std::string> embeddedFilesUnder(const std::string& prefix);

}  // namespace sandboxd
