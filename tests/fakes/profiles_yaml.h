// tests/testdata/profiles.yaml: a config with small and large profiles, shared by the render
// goldens, the service tests and the integration tier.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace sandboxd::testing {

inline std::string profilesYaml() {
  std::ifstream in(std::string(SANDBOXD_SOURCE_DIR) + "/tests/testdata/profiles.yaml");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace sandboxd::testing
