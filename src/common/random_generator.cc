#include "sandboxd/common/random_generator.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

namespace sandboxd {
namespace {

std::string toHex(const unsigned char* data, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

std::vector<unsigned char> randomBytes(size_t n) {
  std::vector<unsigned char> buf(n);
  if (n > 0 && RAND_bytes(buf.data(), static_cast<int>(n)) != 1) {
    // No entropy is a condition we cannot continue safely under.
    throw std::runtime_error("RAND_bytes failed");
  }
  return buf;
}

}  // namespace

std::string RandomGeneratorImpl::uuid() {
  auto b = randomBytes(16);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  std::string hex = toHex(b.data(), b.size());
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

std::string RandomGeneratorImpl::secureHex(size_t bytes) {
  auto b = randomBytes(bytes);
  return toHex(b.data(), b.size());
}

std::string sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return toHex(digest, len);
}

bool constantTimeEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) {
    return false;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace sandboxd
