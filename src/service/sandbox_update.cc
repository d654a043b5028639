#include "service/sandbox_update.h"

#include "sandboxd/service/lifetimes.h"
#include "sandboxd/validation/validation.h"

namespace sandboxd {

StatusOr<CheckedUpdate> checkSandboxUpdate(const SandboxRecord& record,
                                           const SandboxUpdate& change,
                                           const SandboxConfig& settings, SystemTime now) {
  CheckedUpdate out{record, false};
  if (change.idleStopMinutes) {
    out.record.idleStopMinutes.reset();
    if (*change.idleStopMinutes) {
      RETURN_IF_ERROR(validateIdleStopMinutes(**change.idleStopMinutes, settings));
      out.record.idleStopMinutes = static_cast<uint16_t>(**change.idleStopMinutes);
    }
  }
  if (change.expiresAt) {
    if (*change.expiresAt) {
      RETURN_IF_ERROR(validateExpiresAt(**change.expiresAt, now));
    }
    out.record.expiresAt = change.expiresAt->value_or(SystemTime{});
  }
  if (change.storage) {
    RETURN_IF_ERROR(validateStorage(*change.storage, settings));
    ASSIGN_OR_RETURN(int64_t want, parseStorageQuantity(*change.storage));
    auto have = parseStorageQuantity(record.storage);
    if (have.isOk() && want < *have) {
      return invalidArgument("storage: the home volume is " + record.storage + "; " +
                             *change.storage + " would shrink it, and volumes only grow");
    }
    if (!have.isOk() || want > *have) {
      out.grow = true;
      out.record.storage = *change.storage;
    }
  }
  return out;
}

}  // namespace sandboxd
