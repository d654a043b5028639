// `sandboxd admin quota set|get|clear USER`: local admin commands on the registry's database,
// as `token` is (a running `serve` on the same file applies a change at its next request).
#pragma once

#include <optional>
#include <string>

#include "sandboxd/config/config.h"

namespace sandboxd::cli {

struct QuotaFlags {
  std::string user;
  std::optional<int64_t> maxSandboxes;    // set: absent = the configured limit
  std::optional<int64_t> maxRunning;
  std::optional<std::string> maxStorage;  // "" = unlimited
};

// Each prints the user's quota as it then applies and what their sandboxes use:
//   user alice: maxSandboxes 3 (override), maxRunning 0 (unlimited), maxStorage 50Gi
//   usage: 2 sandboxes, 1 running, 10Gi
// Exit 2 for an invalid user or value, 1 for `clear` of a user without an override.
int quotaSet(const Config& config, const QuotaFlags& flags);
int quotaGet(const Config& config, const QuotaFlags& flags);
int quotaClear(const Config& config, const QuotaFlags& flags);

}  // namespace sandboxd::cli
