#include "api/list_token.h"

#include <exception>
#include <optional>
#include <vector>

#include <cpprest/asyncrt_utils.h>

#include "sandboxd/common/random_generator.h"

namespace sandboxd::api {
namespace {

constexpr char kVersion[] = "1";
constexpr size_t kCheckChars = 16;     // of the SHA-256 hex: 64 bits
constexpr size_t kMaxTokenChars = 512;  // a name is at most 253 characters

// What a token's check covers: its version, the name, and the filters of the list.
std::string checkOf(const std::string& after, const ListQuery& query) {
  std::string covered = "sandboxd list continue\n";
  covered += kVersion;
  covered += '\n' + after + '\n';
  covered += query.user ? "user=" + *query.user : std::string("all users");
  covered += '\n';
  covered += query.status ? toString(*query.status) : "any status";
  covered += "\nprefix=" + query.namePrefix;
  return sha256Hex(covered).substr(0, kCheckChars);
}

std::string toBase64Url(const std::string& bytes) {
  std::string text =
      utility::conversions::to_base64(std::vector<unsigned char>(bytes.begin(), bytes.end()));
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '+') {
      out += '-';
    } else if (c == '/') {
      out += '_';
    } else if (c != '=') {
      out += c;
    }
  }
  return out;
}

// nullopt when `text` is not base64url without padding.
std::optional<std::string> fromBase64Url(const std::string& text) {
  std::string standard;
  standard.reserve(text.size() + 3);
  for (char c : text) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (plain) {
      standard += c;
    } else if (c == '-') {
      standard += '+';
    } else if (c == '_') {
      standard += '/';
    } else {
      return std::nullopt;
    }
  }
  if (standard.size() % 4 == 1) {
    return std::nullopt;
  }
  while (standard.size() % 4 != 0) {
    standard += '=';
  }
  try {
    const std::vector<unsigned char> bytes = utility::conversions::from_base64(standard);
    return std::string(bytes.begin(), bytes.end());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Status badToken() {
  return invalidArgument(
      "query parameter \"continue\" is not a token this list gave (it is damaged, or its "
      "filters user, status and q differ from this request's): start again without it");
}

}  // namespace

std::string encodeContinueToken(const std::string& after, const ListQuery& query) {
  return toBase64Url(std::string(kVersion) + '\n' + after + '\n' + checkOf(after, query));
}

StatusOr<std::string> decodeContinueToken(const std::string& token, const ListQuery& query) {
  if (token.empty() || token.size() > kMaxTokenChars) {
    return badToken();
  }
  const std::optional<std::string> payload = fromBase64Url(token);
  if (!payload) {
    return badToken();
  }
  // version '\n' name '\n' check
  const size_t first = payload->find('\n');
  const size_t last = payload->rfind('\n');
  if (first == std::string::npos || last == first ||
      payload->compare(0, first, kVersion) != 0) {
    return badToken();
  }
  std::string after = payload->substr(first + 1, last - first - 1);
  if (after.empty() || payload->substr(last + 1) != checkOf(after, query)) {
    return badToken();
  }
  return after;
}

}  // namespace sandboxd::api
