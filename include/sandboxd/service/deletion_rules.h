// When a purged sandbox's registry row may go. Its objects being gone is not enough at once:
// the StatefulSet controller may still have a claim or pod create in flight from before the
// StatefulSet was deleted, which lands after we looked; dropping the row then would leave a
// volume no registry entry accounts for. So the row stays until the deletion has been settled
// for a while, and whoever looks again (a GET, the reconciler) deletes anything that landed.
#pragma once

#include <chrono>

#include "sandboxd/model/sandbox.h"

namespace sandboxd {

inline constexpr std::chrono::seconds kPurgeSettleTime{5};

inline bool purgedRowMayGo(const SandboxRecord& record, bool gone, SystemTime now) {
  return gone && record.purge && now - record.updatedAt >= kPurgeSettleTime;
}

}  // namespace sandboxd
