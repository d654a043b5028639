#include "sandboxd/common/random_generator.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdint>
#include <cstring>
#include <random>
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

// 16 random bytes as an RFC 4122 version-4 UUID, lowercase.
std::string formatUuid(unsigned char* b) {
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  std::string hex = toHex(b, 16);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

}  // namespace

std::string RandomGeneratorImpl::uuid() {
  auto b = randomBytes(16);
  return formatUuid(b.data());
}

std::string fastUuid() {
  thread_local std::mt19937_64 generator = [] {
    auto seed = randomBytes(sizeof(uint64_t) * 4);
    std::seed_seq seq(seed.begin(), seed.end());
    return std::mt19937_64(seq);
  }();
  unsigned char b[16];
  const uint64_t high = generator();
  const uint64_t low = generator();
  std::memcpy(b, &high, 8);
  std::memcpy(b + 8, &low, 8);
  return formatUuid(b);
}

std::string RandomGeneratorImpl::secureHex(size_t bytes) {
  auto b = randomBytes(bytes);
  return toHex(b.data(), b.size());
}

std::string sha256Hex(const std::string& data) {
  // Fetched once: EVP_sha256() makes every digest look the algorithm up again, under a lock
  // of OpenSSL's (a quarter of a token check's time, most of it in the kernel). Kept for the
  // life of the process.
  static EVP_MD* const fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  const EVP_MD* md = fetched != nullptr ? fetched : EVP_sha256();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, md, nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return toHex(digest, len);
}

bool constantTimeEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) {
    return false;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace sandboxd
