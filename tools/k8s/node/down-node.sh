#!/usr/bin/env bash
# down-node.sh STATE_DIR — stops the real node up.sh --real-node started (tools/k8s/node/
# up-node.sh) and removes what it made on the host; tools/k8s/down.sh runs it first.
# Idempotent. Order: the kubelet (so nothing restarts pods), every pod sandbox through the CRI
# (the runtime tears down their networks, namespaces and mounts), containerd, then what may
# be left of a failed run: its shims, processes in its cgroups, mounts under STATE_DIR/node,
# the cgroups, the bridge.
set -uo pipefail

log() { echo "[k8s/down-node] $*" >&2; }

STATE="$1"
RES="$STATE/node-resources"
[[ -s "$RES" ]] || exit 0
NODE_DIR="$STATE/node"
CTRD_SOCK="$NODE_DIR/containerd/containerd.sock"
BRIDGE="$(sed -n 's/^bridge=//p' "$RES")"
CGROUP_ROOT="$(sed -n 's/^cgroup=//p' "$RES")"
CRI_CLEANUP="$(sed -n 's/^cri-cleanup=//p' "$RES")"
GRACE="${SANDBOXD_K8S_DOWN_GRACE:-5}"

# pid_of <name>: the pid up.sh recorded for <name>, if that process still runs its binary.
pid_of() {
  local name pid exe real
  [[ -s "$STATE/pids" ]] || return 1
  read -r name pid exe < <(awk -v n="$1" '$1 == n' "$STATE/pids" | tail -n 1) || return 1
  [[ -n "${pid:-}" ]] && kill -0 "$pid" 2>/dev/null || return 1
  [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]] || return 1
  real="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  [[ -z "$real" || "$real" == "$exe" || "$real" == "$exe (deleted)" ]] || return 1
  echo "$pid"
}
# stop <name>: SIGTERM, then SIGKILL after the grace period.
stop() {
  local pid deadline
  pid="$(pid_of "$1")" || return 0
  kill -TERM "$pid" 2>/dev/null
  deadline=$((SECONDS + GRACE))
  while pid_of "$1" >/dev/null && (( SECONDS < deadline )); do sleep 0.1; done
  if pid_of "$1" >/dev/null; then
    log "$1 ($pid) did not stop after ${GRACE}s, killing"
    kill -KILL "$pid" 2>/dev/null
    for _ in $(seq 1 50); do pid_of "$1" >/dev/null || break; sleep 0.1; done
  fi
}

stop kubelet
if pid_of containerd >/dev/null && [[ -x "$CRI_CLEANUP" ]]; then
  timeout 90 "$CRI_CLEANUP" "unix://$CTRD_SOCK" || log "cri-cleanup failed; removing what is left by hand"
fi
stop containerd

# Shims of our containerd (they name its socket) and whatever still runs in our cgroups.
for p in /proc/[0-9]*; do
  if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF -- "-address $CTRD_SOCK "; then
    log "killing leftover shim ${p#/proc/}"
    kill -KILL "${p#/proc/}" 2>/dev/null
  fi
done
if [[ -n "$CGROUP_ROOT" && -d "/sys/fs/cgroup/pids$CGROUP_ROOT" ]]; then
  while read -r pid; do
    [[ -n "$pid" ]] || continue
    log "killing leftover container process $pid"
    kill -KILL "$pid" 2>/dev/null
  done < <(find "/sys/fs/cgroup/pids$CGROUP_ROOT" -name cgroup.procs -exec cat {} + 2>/dev/null)
fi

# Network namespaces of pods the CRI did not stop (named in their bundles' OCI specs); their
# veth pairs go with them.
for spec in "$NODE_DIR"/containerd/state/io.containerd.runtime.v2.task/*/*/config.json; do
  [[ -f "$spec" ]] || continue
  ns="$(python3 -c '
import json, sys
spec = json.load(open(sys.argv[1]))
for n in spec.get("linux", {}).get("namespaces", []):
    if n.get("type") == "network" and n.get("path", "").startswith(("/var/run/netns/", "/run/netns/")):
        print(n["path"])' "$spec" 2>/dev/null)"
  if [[ -n "$ns" && -e "$ns" ]]; then
    log "removing leftover network namespace $ns"
    umount "$ns" 2>/dev/null; rm -f "$ns"
  fi
done

# Mounts under the node's directory, deepest first.
if [[ -d "$NODE_DIR" ]]; then
  for _ in 1 2 3; do
    mapfile -t mounts < <(findmnt -rn -o TARGET | awk -v d="$NODE_DIR/" 'index($0, d) == 1' | sort -r)
    ((${#mounts[@]})) || break
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  done
  mapfile -t mounts < <(findmnt -rn -o TARGET | awk -v d="$NODE_DIR/" 'index($0, d) == 1')
  ((${#mounts[@]} == 0)) || log "still mounted: ${mounts[*]}"
fi

# The cgroups (deepest first; a cgroup goes once its processes are gone).
if [[ -n "$CGROUP_ROOT" ]]; then
  for h in /sys/fs/cgroup/*/; do
    d="${h%/}$CGROUP_ROOT"
    [[ -d "$d" ]] || continue
    for _ in $(seq 1 50); do
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
      [[ -d "$d" ]] || break
      sleep 0.1
    done
    [[ -d "$d" ]] && log "cgroup $d is still there"
  done
fi

if [[ -n "$BRIDGE" ]] && ip link show "$BRIDGE" >/dev/null 2>&1; then
  ip link del "$BRIDGE" || log "cannot delete bridge $BRIDGE"
fi
rm -f "$RES"
log "real node stopped"
exit 0
