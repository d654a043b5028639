// Validation of everything a user can type, written down once. Each returns InvalidArgument
// with a message that names the field and states the rule.
#pragma once

#include <cstdint>
#include <string>

#include "sandboxd/common/status.h"
#include "sandboxd/config/config.h"
#include "sandboxd/config/quantity.h"
#include "sandboxd/model/sandbox.h"

namespace sandboxd {

// DNS-1123 label, lowercase, starts with a letter, ends alphanumeric, at most 40 characters.
inline constexpr size_t kMaxSandboxNameLength = 40;
Status validateSandboxName(const std::string& name);

// A user name as stored on tokens and in the owner label: 1-63 chars of [a-z0-9._-],
// starting and ending alphanumeric.
Status validateUserName(const std::string& user);

// C identifier [A-Za-z_][A-Za-z0-9_]*, at most 256 characters.
Status validateEnvName(const std::string& name);

// Env maps: names valid, not reserved, count and value sizes within config limits; a key may
// not be both plain and secret. `field` names the JSON field in messages ("env", "secretEnv").
Status validateEnv(const EnvMap& env, const EnvMap& secretEnv, const SandboxConfig& config);
Status validateEnvChange(const EnvChange& change, const SandboxConfig& config);

// A quantity within [config.minStorage, config.maxStorage].
Status validateStorage(const std::string& quantity, const SandboxConfig& config);

// A container image reference: [registry[:port]/]path[:tag][@sha256:digest], no spaces or
// control characters, at most 512 characters.
Status validateImage(const std::string& image);

// The whole create input (name, image, env, secretEnv, storage).
// Each name is a configured port the operator marks allowPublic.
Status validatePublicPorts(const std::vector<std::string>& ports, const SandboxConfig& config);
Status validateSpec(const SandboxSpec& spec, const SandboxConfig& config);

}  // namespace sandboxd
