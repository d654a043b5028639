// Reading a request's headers (cpprestsdk's http_request) and the text helpers the checks on
// them share: a header's value, whether it is present, case and space folding.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

#include <cpprest/http_msg.h>

namespace sandboxd::api {

inline std::string lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

// True when `s`, folded to lower case, is `lowerText`.
inline bool equalsLowerCase(std::string_view s, std::string_view lowerText) {
  if (s.size() != lowerText.size()) {
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != lowerText[i]) {
      return false;
    }
  }
  return true;
}

// `s` without leading and trailing spaces and tabs.
inline std::string_view trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) {
    return {};
  }
  const size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// The value of header `name`; empty when absent or empty.
inline std::string header(const web::http::http_request& req, const std::string& name) {
  std::string value;
  if (req.headers().match(name, value)) {
    return value;
  }
  // match() fails on an empty value; find() tells present-but-empty apart.
  auto it = req.headers().find(name);
  return it == req.headers().end() ? std::string() : it->second;
}

inline bool hasHeader(const web::http::http_request& req, const std::string& name) {
  return req.headers().find(name) != req.headers().end();
}

}  // namespace sandboxd::api
