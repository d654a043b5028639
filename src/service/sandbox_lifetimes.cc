#include "service/sandbox_lifetimes.h"

#include <spdlog/spdlog.h>

#include "sandboxd/model/reason.h"
#include "sandboxd/service/lifetimes.h"
#include "sandboxd/service/reconcile_errors.h"

namespace sandboxd {
namespace {

const SandboxConfig& settingsOf(const LifetimeParts& parts, const SandboxRecord& record) {
  const SandboxConfig* settings = profileConfig(parts.sandbox, record.profile);
  return settings != nullptr ? *settings : parts.sandbox;  // a profile no longer configured
}

LifetimeDue dueNow(const LifetimeParts& parts, const SandboxRecord& record, SystemTime now) {
  return lifetimeDue(record, idleStopMinutesOf(record, settingsOf(parts, record)),
                     lastActivityOf(record, parts.activity.pending(record.name,
                                                                   record.sandboxId)),
                     now);
}

// Under the sandbox's lock, judged again on the row as it is now (activity or a request may
// have come since the list): true when it acted.
StatusOr<bool> act(const LifetimeParts& parts, const std::string& name,
                   const std::string& sandboxId) {
  std::lock_guard<std::mutex> lock(parts.locks.forName(name));
  auto fresh = parts.registry.getSandbox(name);
  if (!fresh.isOk()) {
    return fresh.status().kind() == ErrorKind::NotFound ? StatusOr<bool>(false) : fresh.status();
  }
  SandboxRecord record = std::move(*fresh);
  const SystemTime now = parts.time.systemTime();
  const LifetimeDue due = record.sandboxId == sandboxId ? dueNow(parts, record, now)
                                                        : LifetimeDue::None;
  if (due == LifetimeDue::None) {
    return false;
  }
  clearReconcileError(record);
  OperationRecord op;
  op.sandbox = record.name;
  op.sandboxId = record.sandboxId;
  op.user = kSweepUser;
  op.requestedAt = now;
  if (due == LifetimeDue::Expire) {
    op.kind = OperationKind::Expire;
    record.desired = DesiredState::Deleted;
    record.phase = Phase::Deleting;
    record.reason = toString(StatusReason::Expired);
    record.message = "expired at " + formatRfc3339(record.expiresAt) +
                     "; deleting the sandbox, its home volume is kept";
  } else {
    const int minutes = idleStopMinutesOf(record, settingsOf(parts, record));
    const SystemTime last = lastActivityOf(record, parts.activity.pending(name, sandboxId));
    op.kind = OperationKind::IdleStop;
    record.desired = DesiredState::Stopped;
    record.phase = Phase::Stopping;
    record.reason = toString(StatusReason::IdleStopped);
    record.message = "stopped after " + std::to_string(minutes) +
                     " minutes without activity (the last at " + formatRfc3339(last) +
                     "); start it to go on";
  }
  record.updatedAt = now;
  // Intent first: once stored, the reconciler carries it out should the call below fail.
  ASSIGN_OR_RETURN(auto written, parts.registry.updateSandboxWithOperation(record, op));
  const SandboxKey key{record.nameSpace, record.name};
  Status done = due == LifetimeDue::Expire ? parts.kube.remove(key, /*purge=*/false)
                                           : parts.kube.stop(key);
  if (done.isOk()) {
    parts.registry.finishOperationSoon(written.operation, OperationState::Done);
  } else {
    spdlog::warn("sandbox {}: {} recorded, cluster call failed (the reconciler retries): {}",
                 name, toString(op.kind), done.toString());
  }
  spdlog::info("sandbox {}: {}", name, record.message);
  return true;
}

}  // namespace

StatusOr<LifetimeSweep> sweepLifetimes(const LifetimeParts& parts) {
  ASSIGN_OR_RETURN(std::vector<SandboxRecordPtr> records, parts.registry.listSandboxes());
  const SystemTime now = parts.time.systemTime();
  LifetimeSweep sweep;
  for (const SandboxRecordPtr& record : records) {
    const LifetimeDue due = dueNow(parts, *record, now);
    if (due == LifetimeDue::None) {
      continue;
    }
    auto acted = act(parts, record->name, record->sandboxId);
    if (!acted.isOk()) {
      ++sweep.failed;
      spdlog::warn("sandbox {}: could not {}: {}", record->name,
                   due == LifetimeDue::Expire ? "expire it" : "stop it for being idle",
                   acted.status().toString());
    } else if (*acted) {
      ++(due == LifetimeDue::Expire ? sweep.expired : sweep.idleStopped);
    }
  }
  return sweep;
}

}  // namespace sandboxd
