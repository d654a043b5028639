#include "sandboxd/service/lifetimes.h"

#include <algorithm>

#include "sandboxd/model/reason.h"

namespace sandboxd {

int idleStopMinutesOf(const SandboxRecord& record, const SandboxConfig& settings) {
  return record.idleStopMinutes ? int{*record.idleStopMinutes} : settings.idleStopMinutes;
}

Status validateIdleStopMinutes(int minutes, const SandboxConfig& settings) {
  if (minutes < 0 || minutes > kMaxIdleStopMinutes) {
    return invalidArgument("idleStopMinutes must be from 0 (never) to " +
                           std::to_string(kMaxIdleStopMinutes));
  }
  const int max = settings.maxIdleStopMinutes;
  if (max > 0 && (minutes == 0 || minutes > max)) {
    return invalidArgument("idleStopMinutes must be from 1 to " + std::to_string(max) +
                           " in this profile (it does not allow never)");
  }
  return Status::ok();
}

Status validateExpiresAt(SystemTime expiresAt, SystemTime now) {
  if (expiresAt <= now) {
    return invalidArgument("expiresAt must be in the future (it is " + formatRfc3339(now) +
                           " now)");
  }
  return Status::ok();
}

LifetimeDue lifetimeDue(const SandboxRecord& record, int idleStopMinutes, SystemTime lastActivity,
                        SystemTime now) {
  if (record.desired == DesiredState::Deleted) {
    return LifetimeDue::None;
  }
  if (record.expires() && record.expiresAt <= now) {
    return LifetimeDue::Expire;
  }
  if (record.desired == DesiredState::Running && idleStopMinutes > 0 &&
      now - lastActivity >= std::chrono::minutes(idleStopMinutes)) {
    return LifetimeDue::IdleStop;
  }
  return LifetimeDue::None;
}

bool isIdleStopped(const SandboxRecord& record) {
  return record.desired == DesiredState::Stopped &&
         record.reason == toString(StatusReason::IdleStopped);
}

bool keepsStopReason(const SandboxRecord& record) {
  return isIdleStopped(record) || (record.desired == DesiredState::Stopped &&
                                   record.reason == toString(StatusReason::Restoring));
}

SystemTime lastActivityOf(const SandboxRecord& record, std::optional<SystemTime> pending) {
  SystemTime latest = std::max(record.lastActivityAt, record.createdAt);
  return pending ? std::max(latest, *pending) : latest;
}

}  // namespace sandboxd
