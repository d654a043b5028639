#include "service/secret_env_hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace sandboxd {

using json = nlohmann::json;

std::string secretEnvHash(const std::string& key, const json& data) {
  std::string input;
  if (data.is_object()) {
    for (const auto& [name, value] : data.items()) {  // nlohmann's objects are key-ordered
      input.append(name).push_back('\0');
      input.append(value.is_string() ? value.get<std::string>() : value.dump()).push_back('\0');
    }
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0xf]);
  }
  return out;
}

json secretDataOf(const std::map<std::string, std::string>& values) {
  json data = json::object();
  for (const auto& [name, value] : values) {
    std::string encoded(4 * ((value.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                  reinterpret_cast<const unsigned char*>(value.data()),
                                  static_cast<int>(value.size()));
    encoded.resize(n > 0 ? static_cast<size_t>(n) : 0);
    data[name] = std::move(encoded);
  }
  return data;
}

}  // namespace sandboxd
