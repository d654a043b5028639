// Injected randomness: identifiers and secrets.
#pragma once

#include <memory>
#include <string>

namespace sandboxd {

class RandomGenerator {
 public:
  virtual ~RandomGenerator() = default;
  // A random RFC 4122 version-4 UUID, lowercase.
  virtual std::string uuid() = 0;
  // `bytes` cryptographically random bytes, hex encoded (2*bytes characters).
  virtual std::string secureHex(size_t bytes) = 0;
};

using RandomGeneratorPtr = std::shared_ptr<RandomGenerator>;

// OpenSSL RAND_bytes-backed generator.
class RandomGeneratorImpl : public RandomGenerator {
 public:
  std::string uuid() override;
  std::string secureHex(size_t bytes) override;
};

// A random version-4 UUID from a generator of the calling thread's own, seeded by RAND_bytes:
// as unique as uuid() but not secret, for identifiers made at every request (request ids),
// where RAND_bytes' locking and reseeding cost as much as the rest of a status read's listener
// work. Never for tokens or anything a guess must not find.
std::string fastUuid();

// SHA-256 of `data`, lowercase hex.
std::string sha256Hex(const std::string& data);

// Compares two strings in time independent of where they differ.
bool constantTimeEquals(const std::string& a, const std::string& b);

}  // namespace sandboxd
