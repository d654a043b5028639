#!/usr/bin/env bash
# down.sh STATE_DIR — stops what up.sh STATE_DIR started (SIGTERM, then SIGKILL
# after a grace period). Idempotent: succeeds when nothing is running. A real node
# (up.sh --real-node) goes first: node/down-node.sh also removes its pods, mounts,
# cgroups and bridge.
# The state dir itself (logs, certs) is left in place for inspection.
set -euo pipefail

log() { echo "[k8s/down] $*" >&2; }

[[ $# -eq 1 && -n "$1" ]] || { echo "usage: $0 STATE_DIR" >&2; exit 2; }
STATE="$1"
PIDS="$STATE/pids"
GRACE="${SANDBOXD_K8S_DOWN_GRACE:-5}"

"$(dirname "${BASH_SOURCE[0]}")/node/down-node.sh" "$STATE"

[[ -s "$PIDS" ]] || exit 0

# ours <pid> <exe>: the pid is alive and still runs the binary up.sh started
# (guards against pid reuse).
ours() {
  local pid="$1" exe="$2" real
  kill -0 "$pid" 2>/dev/null || return 1
  # A zombie (exited, not yet reaped by its new parent) counts as stopped.
  [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]] || return 1
  real="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  [[ -z "$real" || "$real" == "$exe" || "$real" == "$exe (deleted)" ]]
}

# Stop in reverse start order: clients first, etcd last.
mapfile -t entries < <(tac "$PIDS")
victims=()
for e in "${entries[@]}"; do
  read -r name pid exe <<<"$e" || true
  [[ -n "${pid:-}" && "$pid" =~ ^[0-9]+$ ]] || continue
  if ours "$pid" "$exe"; then
    kill -TERM "$pid" 2>/dev/null || true
    victims+=("$name:$pid:$exe")
  fi
done

deadline=$((SECONDS + GRACE))
for v in "${victims[@]}"; do
  IFS=: read -r name pid exe <<<"$v"
  while ours "$pid" "$exe" && (( SECONDS < deadline )); do sleep 0.1; done
  if ours "$pid" "$exe"; then
    log "$name ($pid) did not stop after ${GRACE}s, killing"
    kill -KILL "$pid" 2>/dev/null || true
  fi
done
for v in "${victims[@]}"; do
  IFS=: read -r name pid exe <<<"$v"
  for _ in $(seq 1 50); do ours "$pid" "$exe" || break; sleep 0.1; done
done

: >"$PIDS"
(( ${#victims[@]} > 0 )) && log "stopped ${#victims[@]} process(es)"
exit 0
