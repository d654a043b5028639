#include "sandboxd/common/embedded_files.h"

namespace sandboxd {

// Defined in the generated embedded_data.cc.
const std::map<std::string, std::string>& embeddedFilesData();

const std::map<std::string, std::string>& embeddedFiles() { return embeddedFilesData(); }

std::optional<std::string> embeddedFile(const std::string& path) {
  const auto& files = embeddedFiles();
  auto it = files.find(path);
  if (it == files.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::map<std::string, std::string> embeddedFilesUnder(const std::string& prefix) {
  std::map<std::string, std::string> out;
  for (const auto& [path, contents] : embeddedFiles()) {
    if (path.rfind(prefix, 0) == 0) {
      out.emplace(path, contents);
    }
  }
  return out;
}

}  // namespace sandboxd
