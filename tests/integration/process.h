// Running the sandboxd binary as a child process in tests.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

namespace sandboxd::integration {

struct ProcessResult {
  int exitCode = -1;
  std::string out;
  std::string err;
};

inline std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

// Runs argv (no shell interpretation of arguments) and captures stdout and stderr.
inline ProcessResult runProcess(const std::vector<std::string>& argv) {
  char errPath[] = "/tmp/sandboxd-test-stderr-XXXXXX";
  int fd = mkstemp(errPath);
  if (fd >= 0) {
    close(fd);
  }
  std::string command;
  for (const auto& a : argv) {
    command += shellQuote(a) + " ";
  }
  command += "2>" + shellQuote(errPath);
  ProcessResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return result;
  }
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) {
    result.out.append(buf.data(), n);
  }
  int status = pclose(pipe);
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (FILE* err = fopen(errPath, "r")) {
    while ((n = fread(buf.data(), 1, buf.size(), err)) > 0) {
      result.err.append(buf.data(), n);
    }
    fclose(err);
  }
  remove(errPath);
  return result;
}

}  // namespace sandboxd::integration
