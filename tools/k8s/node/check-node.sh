# Sourced by tools/k8s/up.sh --real-node before anything starts: can this machine run the
# real node's containers? Fails (die, with the reason) when it cannot; never skipped.
node_check() {
  FAIL_LOG="$LOGS/node-check.log"
  local missing=() t
  for t in containerd ctr runc; do command -v "$t" >/dev/null || missing+=("$t"); done
  for t in bridge host-local loopback; do [[ -x /usr/lib/cni/$t ]] || missing+=("/usr/lib/cni/$t"); done
  [[ -x /bin/busybox || -x /usr/bin/busybox ]] || missing+=(busybox)
  ((${#missing[@]} == 0)) || die "the real node needs ${missing[*]} (bash tools/install-deps.sh installs them)"
  [[ "$(id -u)" == 0 ]] || die "the real node needs root (containerd, runc, mounts, cgroups, network namespaces)"
  [[ -d /sys/fs/cgroup/memory && -w /sys/fs/cgroup/memory ]] ||
    die "the real node needs writable cgroup v1 hierarchies (/sys/fs/cgroup/memory, ...): its kubelet and containerd are set up for cgroup v1 with the cgroupfs driver"
  unshare --net --mount --pid --fork true 2>"$LOGS/node-check.log" ||
    die "cannot create namespaces (unshare: $(cat "$LOGS/node-check.log")): this machine cannot run containers"
}
node_check
