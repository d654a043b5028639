#include "sandboxd/service/sse_format.h"

namespace sandboxd {
namespace {

// A field value ends at the first line break: keep what a field can hold.
std::string oneLine(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n' || c == '\r') {
      break;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string formatSseEvent(const std::string& type, const std::string& id,
                           const std::string& data) {
  std::string out;
  out.reserve(data.size() + type.size() + id.size() + 24);
  out += "event: " + oneLine(type) + "\n";
  out += "id: " + oneLine(id) + "\n";
  size_t start = 0;
  while (true) {
    size_t end = data.find_first_of("\r\n", start);
    out += "data: ";
    out.append(data, start, end == std::string::npos ? std::string::npos : end - start);
    out += "\n";
    if (end == std::string::npos) {
      break;
    }
    start = end + ((data[end] == '\r' && end + 1 < data.size() && data[end + 1] == '\n') ? 2 : 1);
  }
  out += "\n";
  return out;
}

std::string formatSseComment(const std::string& text) { return ": " + oneLine(text) + "\n\n"; }

}  // namespace sandboxd
