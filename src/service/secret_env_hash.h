// The pod-template annotation that makes a change of a secret env value roll the pod: the
// values live only in the Secret, which the pod template merely references, so without it a
// patched Secret leaves the running pod with the old value.
//
// The annotation is an HMAC-SHA256 under a key that never leaves sandboxd's process, not a
// plain hash: whoever may read StatefulSets could otherwise test guesses of a short secret
// against it offline. A new key (a restart) changes the annotation of the next secret change
// even when its values are the same: one extra roll, never a missed one.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace sandboxd {

inline constexpr const char* kSecretEnvHashAnnotation = "sandboxd.io/secret-env-hash";

// Lowercase hex HMAC-SHA256 under `key` of a Secret's `data` ({key: base64 value}), taken in
// key order with each key and value ended by a NUL (no two Secrets share the input).
std::string secretEnvHash(const std::string& key, const nlohmann::json& data);

// The `data` the API server keeps for these values (standard base64 of each).
nlohmann::json secretDataOf(const std::map<std::string, std::string>& values);

}  // namespace sandboxd
