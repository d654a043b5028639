// `sandboxd token create|list|revoke`: local admin commands on the registry's database (the
// same file a running `serve` uses; what they change takes effect there at once).
#pragma once

#include <optional>
#include <string>

#include "sandboxd/config/config.h"

namespace sandboxd::cli {

struct TokenFlags {
  std::string user;  // create: the owner; list: only this user's (empty: all)
  bool admin = false;
  std::optional<std::string> ttl;  // create: e.g. 30d, 12h (none: never expires)
  std::string id;    // revoke
};

// Prints the new token alone on stdout, once. Exit 2 for an invalid user or ttl.
int tokenCreate(const Config& config, const TokenFlags& flags);
// Prints one line per token: ID USER ROLE CREATED EXPIRES STATE (never the token or its hash).
int tokenList(const Config& config, const TokenFlags& flags);
// Revokes the token; prints its id. Exit 1 for an unknown id.
int tokenRevoke(const Config& config, const TokenFlags& flags);

}  // namespace sandboxd::cli
