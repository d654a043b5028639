// How long a sandbox lives (README "Idle stop and expiry"): idle auto-stop and expiry, as
// pure rules over a registry row and its profile's settings. The manager applies them when a
// request sets them and when the reconciler sweeps (SandboxManager::sweepLifetimes).
#pragma once

#include <optional>
#include <string>

#include "sandboxd/common/status.h"
#include "sandboxd/config/config.h"
#include "sandboxd/model/sandbox.h"

namespace sandboxd {

// The longest idle period in minutes (about 45 days) a sandbox or profile may have.
inline constexpr int kMaxIdleStopMinutes = 65535;

// The sandbox's idle period in minutes (0 = never): its own, else its profile's (`settings`).
int idleStopMinutesOf(const SandboxRecord& record, const SandboxConfig& settings);

// A per-sandbox idle period a request asks for: 0 … kMaxIdleStopMinutes; with the profile's
// maxIdleStopMinutes set, from 1 to it. InvalidArgument (422) naming the bound otherwise.
Status validateIdleStopMinutes(int minutes, const SandboxConfig& settings);

// An expiry a request asks for: after `now`. InvalidArgument otherwise.
Status validateExpiresAt(SystemTime expiresAt, SystemTime now);

// What the reconciler owes a sandbox at `now`, having seen activity last at `lastActivity`:
// Expire once its expiresAt has passed (it is not already being deleted); IdleStop when it is
// meant to run and its idle period (idleStopMinutes > 0) has passed since that activity.
enum class LifetimeDue { None, IdleStop, Expire };
LifetimeDue lifetimeDue(const SandboxRecord& record, int idleStopMinutes, SystemTime lastActivity,
                        SystemTime now);

// The reconciler stopped it for being idle, and it is still meant to be stopped: reads show
// reason IdleStopped (not the cluster's ScaledToZero) until someone starts it.
bool isIdleStopped(const SandboxRecord& record);

// Whether reads show the row's own reason for a stopped sandbox rather than the cluster's
// ScaledToZero: idle-stopped (above), or being restored (reason Restoring, while the restore
// holds it stopped).
bool keepsStopReason(const SandboxRecord& record);

// The activity idle time counts from: the row's lastActivityAt, its createdAt, or `pending`
// (a report not stored yet), whichever is latest.
SystemTime lastActivityOf(const SandboxRecord& record, std::optional<SystemTime> pending);

}  // namespace sandboxd
