# Sourced by tools/k8s/up.sh with --real-node, after the control plane is up: starts a real
# node beside KWOK's fake one. containerd (Debian's, with runc and the CNI plugins bridge,
# host-local, loopback), then a kubelet built from the pinned Kubernetes modules, each with its
# config, root, state, socket and logs under STATE/node/. The node "real-node-0" carries the
# label sandboxd.dev/real-node=true and the taint sandboxd.dev/real-node=true:NoSchedule, so
# only pods that select and tolerate it run there; every other pod stays on KWOK.
#
# Host-wide things it makes (down-node.sh removes them): a bridge sbxd<N> with 10.89.<N>.1/24
# (the node's IP; pods get addresses from that /24), and the cgroup /sandboxd-node-<N> in
# every v1 hierarchy (the kubelet's cgroupRoot), N derived from STATE so that clusters of
# different state directories do not collide.
#
# Uses up.sh's functions and variables (start, wait_for, node_ready, free_ports, kapi, log,
# die, new_cert, write_kubeconfig, STATE, BIN, PKI, LOGS, SERVER, TIMEOUT).

NODE_DIR="$STATE/node"
REAL_NODE=real-node-0
REAL_NODE_LABEL=sandboxd.dev/real-node
NODE_TAINT_JSON='{"key":"sandboxd.dev/real-node","value":"true","effect":"NoSchedule"}'
SANDBOX_TEST_IMAGE=sandboxd.local/sandbox-test:v1
PAUSE_IMAGE=sandboxd.local/pause:v1

NODE_N=$(( $(printf '%s' "$STATE" | cksum | cut -d' ' -f1) % 200 + 20 ))
BRIDGE="sbxd${NODE_N}"
NODE_IP="10.89.${NODE_N}.1"
POD_SUBNET="10.89.${NODE_N}.0/24"
CGROUP_ROOT="/sandboxd-node-${NODE_N}"
printf 'bridge=%s\ncgroup=%s\ncri-cleanup=%s\n' "$BRIDGE" "$CGROUP_ROOT" "$(readlink -f "$BIN/cri-cleanup")" >"$STATE/node-resources"

rm -rf "$NODE_DIR"
mkdir -p "$NODE_DIR"/{containerd/root,containerd/state,cni/net.d,cni/ipam,kubelet,pod-logs,pki,images}
CTRD_SOCK="$NODE_DIR/containerd/containerd.sock"

# ------------------------------------------------------------ host: bridge and cgroup root
if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
  ip link add "$BRIDGE" type bridge || die "cannot create bridge $BRIDGE"
fi
ip addr replace "$NODE_IP/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
for h in /sys/fs/cgroup/*/; do
  h="${h%/}"
  [[ "$h" == /sys/fs/cgroup/unified ]] && continue
  mkdir -p "$h$CGROUP_ROOT"
  # cpuset: a new cgroup starts with no CPUs or memory nodes; give it its parent's.
  if [[ -f "$h/cpuset.cpus" ]]; then
    cat "$h/cpuset.cpus" >"$h$CGROUP_ROOT/cpuset.cpus"
    cat "$h/cpuset.mems" >"$h$CGROUP_ROOT/cpuset.mems"
  fi
done

# ------------------------------------------------------------ containerd
cat >"$NODE_DIR/cni/net.d/10-sandboxd.conflist" <<EOF_CNI
{
  "cniVersion": "0.4.0",
  "name": "sandboxd-node",
  "plugins": [
    {"type": "bridge", "bridge": "${BRIDGE}", "isGateway": true, "ipMasq": false,
     "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "${NODE_DIR}/cni/ipam",
              "ranges": [[{"subnet": "${POD_SUBNET}", "gateway": "${NODE_IP}"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "loopback"}
  ]
}
EOF_CNI
cat >"$NODE_DIR/containerd/config.toml" <<EOF_CTRD
version = 2
root = "${NODE_DIR}/containerd/root"
state = "${NODE_DIR}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "${CTRD_SOCK}"
[ttrpc]
  address = "${CTRD_SOCK}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${NODE_DIR}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # The sandbox (pause) container would get oom_score_adj -998, which needs CAP_SYS_RESOURCE
  # (absent in this VM: runc fails "can't get final child's PID"); never below containerd's own.
  restrict_oom_score_adj = true
  max_container_log_line_size = 16384
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$(command -v runc)"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${NODE_DIR}/cni/net.d"
EOF_CTRD
start containerd "$(command -v containerd)" --config "$NODE_DIR/containerd/config.toml" --log-level warn
CTR=(ctr --address "$CTRD_SOCK")
wait_for containerd "$LOGS/containerd.log" containerd "${CTR[@]}" version

# The test images, built here (never pulled) and imported into the CRI's namespace.
FAIL_LOG="$LOGS/images.log"
python3 "$HERE/node/make_images.py" "$(command -v busybox)" "$NODE_DIR/images/images.tar" \
  >>"$LOGS/images.log" 2>&1 || die "cannot build the test images"
"${CTR[@]}" -n k8s.io images import "$NODE_DIR/images/images.tar" >>"$LOGS/images.log" 2>&1 ||
  die "cannot import the test images into containerd"
log "images ${SANDBOX_TEST_IMAGE} and ${PAUSE_IMAGE} imported"

# ------------------------------------------------------------ kubelet
new_cert kubelet "/O=system:nodes/CN=system:node:${REAL_NODE}" \
  "basicConstraints=critical,CA:FALSE" \
  "keyUsage=critical,digitalSignature,keyEncipherment" \
  "extendedKeyUsage=clientAuth"
cp "$PKI/kubelet.crt" "$PKI/kubelet.key" "$NODE_DIR/pki/"
write_kubeconfig "$NODE_DIR/kubelet.kubeconfig" "system:node:${REAL_NODE}" \
  "client-certificate: ${NODE_DIR}/pki/kubelet.crt" "client-key: ${NODE_DIR}/pki/kubelet.key"

read -r KUBELET_PORT KUBELET_HEALTHZ_PORT < <(free_ports 2)
# cgroup v1 (this machine): cgroupfs driver, failCgroupV1 false (already v1.34's default; v1.35
# turns it on). Eviction thresholds low and image GC off: a test machine's disk is what it is,
# and the imported images must stay.
cat >"$NODE_DIR/kubelet-config.yaml" <<EOF_KUBELET
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
cgroupRoot: ${CGROUP_ROOT}
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://${CTRD_SOCK}
address: 127.0.0.1
port: ${KUBELET_PORT}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${KUBELET_HEALTHZ_PORT}
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: ${PKI}/ca.crt}
authorization:
  mode: AlwaysAllow
podLogsDir: ${NODE_DIR}/pod-logs
registerWithTaints:
  - ${NODE_TAINT_JSON}
maxPods: 30
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
mergeDefaultEvictionSettings: false
shutdownGracePeriod: 0s
shutdownGracePeriodCriticalPods: 0s
resolvConf: /etc/resolv.conf
EOF_KUBELET
start kubelet "$BIN/kubelet" \
  --config="$NODE_DIR/kubelet-config.yaml" \
  --kubeconfig="$NODE_DIR/kubelet.kubeconfig" \
  --root-dir="$NODE_DIR/kubelet" \
  --cert-dir="$NODE_DIR/pki" \
  --hostname-override="$REAL_NODE" \
  --node-ip="$NODE_IP" \
  --node-labels="${REAL_NODE_LABEL}=true" \
  --v=1

wait_for "node $REAL_NODE (kubelet)" "$LOGS/kubelet.log" kubelet node_ready "$REAL_NODE"

# As for KWOK's node: the not-ready taint the admission plugin added stays without a
# node-lifecycle-controller; keep only ours.
kapi PATCH "/api/v1/nodes/$REAL_NODE" '{"spec":{"taints":['"$NODE_TAINT_JSON"']}}' \
  application/merge-patch+json >/dev/null
