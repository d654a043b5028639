#include "sandboxd/config/image_allowlist.h"

#include <fnmatch.h>

namespace sandboxd {
namespace {

bool isBoundary(char c) { return c == '/' || c == ':' || c == '@'; }

bool matches(const std::string& image, const std::string& pattern) {
  if (pattern.empty()) {
    return false;
  }
  if (pattern.find_first_of("*?[") != std::string::npos) {
    return fnmatch(pattern.c_str(), image.c_str(), 0) == 0;
  }
  if (image.compare(0, pattern.size(), pattern) != 0) {
    return false;
  }
  return image.size() == pattern.size() || isBoundary(pattern.back()) ||
         isBoundary(image[pattern.size()]);
}

// Docker's normalisation: a first path component without "." or ":" (and not "localhost") is
// not a registry, so the image is on docker.io; a single-component name is in library/.
std::string fullReference(const std::string& image) {
  const auto slash = image.find('/');
  const std::string first = image.substr(0, slash);
  const bool hasRegistry = slash != std::string::npos &&
                           (first.find_first_of(".:") != std::string::npos ||
                            first == "localhost");
  if (hasRegistry) {
    return image;
  }
  return slash == std::string::npos ? "docker.io/library/" + image : "docker.io/" + image;
}

}  // namespace

bool imageAllowed(const std::string& image, const std::vector<std::string>& patterns) {
  if (patterns.empty()) {
    return true;
  }
  const std::string full = fullReference(image);
  for (const auto& pattern : patterns) {
    if (matches(image, pattern) || matches(full, pattern)) {
      return true;
    }
  }
  return false;
}

}  // namespace sandboxd
