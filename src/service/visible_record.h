// The authorization rule of every sandbox request: the caller's own sandbox (any for admins);
// another user's is NotFound, never Forbidden, so that names do not leak.
#pragma once

#include <string>

#include "sandboxd/model/sandbox.h"
#include "sandboxd/registry/registry.h"

namespace sandboxd {

inline StatusOr<SandboxRecord> visibleRecord(Registry& registry, const Caller& caller,
                                             const std::string& name) {
  auto record = registry.getSandbox(name);
  if (!record.isOk()) {
    if (record.status().kind() == ErrorKind::NotFound) {
      return notFound("sandbox \"" + name + "\" not found");
    }
    return record.status();
  }
  if (!caller.admin && record->user != caller.user) {
    return notFound("sandbox \"" + name + "\" not found");
  }
  return record;
}

}  // namespace sandboxd
