#!/usr/bin/env bash
# up.sh STATE_DIR [--real-node] [--no-snapshots] — starts a real, loopback-only Kubernetes
# control plane:
#   etcd + kube-apiserver + kube-controller-manager + kube-scheduler + KWOK + snapshot-controller
# with one fake node (kwok-node-0) and a default StorageClass "standard" (which allows volume
# expansion: PATCH storage grows a claim) served
# by a small external provisioner (pv_provisioner.py: one CSI PV of driver
# hostpath.sandboxd.local per claim, a directory, deleted when the claim is). The VolumeSnapshot
# CRDs (snapshot.storage.k8s.io/v1, from the external-snapshotter client module) are installed
# with a default VolumeSnapshotClass "standard" of that driver, and the upstream
# snapshot-controller runs; the provisioner plays the CSI driver's part (snapshot_driver.py:
# a snapshot copies the volume's directory to STATE_DIR/snapshots/<handle>, a claim with a
# VolumeSnapshot dataSource is filled from it). --no-snapshots (or SANDBOXD_K8S_SNAPSHOTS=0)
# leaves all of that out: a cluster without the snapshot API. KWOK makes pods Running and Ready, except pods whose
# first container's image is registry.invalid/sandboxd/unpullable:v1: they stay
# Pending in ImagePullBackOff (kwok-stages-extra.yaml). Everything it creates lives
# in STATE_DIR.
#
# --real-node (or SANDBOXD_K8S_REAL_NODE=1) also starts a real node beside KWOK's: containerd,
# runc and a kubelet running real containers (tools/k8s/node/up-node.sh), node "real-node-0"
# labelled and tainted sandboxd.dev/real-node=true (NoSchedule), with the locally built images
# sandboxd.local/sandbox-test:v1 and sandboxd.local/pause:v1 imported. Its volumes are then
# `local` PersistentVolumes (directories STATE_DIR/pvs/pvc-<claim uid>) so that the kubelet
# mounts them and applies fsGroup. Needs root, writable cgroup v1 hierarchies and namespaces; fails
# with the reason when the machine cannot run containers.
#
# Outputs (the contract for tests):
#   STATE_DIR/env              shell-sourceable: KUBECONFIG, SANDBOXD_K8S_SERVER, SANDBOXD_K8S_VERSION, ...
#   STATE_DIR/kubeconfig       CA-verified, bearer token of user "admin" (group system:masters)
#   STATE_DIR/kubeconfig-cert  CA-verified, client cert of user "admin-cert" (group system:masters)
#   STATE_DIR/ca.crt           CA of the API server's serving cert (and of client certs)
#   STATE_DIR/admin.token      bearer token, user "admin", group system:masters
#   STATE_DIR/alice.token      bearer token, user "alice", no groups (RBAC: forbidden almost everywhere)
#   STATE_DIR/admin-cert.crt/.key  client cert/key, CN=admin-cert, O=system:masters
#   STATE_DIR/wrong-ca.crt     an unrelated CA (for "wrong CA is refused" tests)
#   STATE_DIR/audit.log        the API server's audit log (JSON lines, level Metadata) of every
#                              request made with a service account's token (user group
#                              system:serviceaccounts), so tests can see what a client issued
#   STATE_DIR/pids             "name pid exe" per started process (used by down.sh)
#   STATE_DIR/pvs/pvc-<uid>    each provisioned volume's directory
#   STATE_DIR/snapshots/snap-<content uid>  each VolumeSnapshot's copy of its volume's directory
#   STATE_DIR/node/            (--real-node) containerd's and the kubelet's config, root and state
#   STATE_DIR/logs/*.log       component logs
#
# Environment knobs:
#   SANDBOXD_CACHE_DIR        binary cache root (default $HOME/.cache/sandboxd)
#   SANDBOXD_K8S_UP_TIMEOUT   seconds to wait for each phase (default 120)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { echo "[k8s/up] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

REAL_NODE_WANTED="${SANDBOXD_K8S_REAL_NODE:-0}"
SNAPSHOTS_WANTED="${SANDBOXD_K8S_SNAPSHOTS:-1}"
usage() { echo "usage: $0 STATE_DIR [--real-node] [--no-snapshots]" >&2; exit 2; }
[[ $# -ge 1 && -n "$1" ]] || usage
STATE_ARG="$1"; shift
for flag in "$@"; do
  case "$flag" in
    --real-node) REAL_NODE_WANTED=1 ;;
    --no-snapshots) SNAPSHOTS_WANTED=0 ;;
    *) usage ;;
  esac
done
# The real node's volumes are `local` PVs (the kubelet mounts them), which the snapshot-controller
# cannot snapshot (CSI volumes only): no snapshot API there.
[[ "$REAL_NODE_WANTED" == 1 ]] && SNAPSHOTS_WANTED=0
set -- "$STATE_ARG"
mkdir -p "$1"
STATE="$(cd "$1" && pwd)"
TIMEOUT="${SANDBOXD_K8S_UP_TIMEOUT:-120}"
T_START=$SECONDS

for tool in openssl python3 curl setsid; do
  command -v "$tool" >/dev/null || die "$tool not found"
done

# Refuse to start twice on the same state dir.
if [[ -s "$STATE/pids" ]]; then
  while read -r _name pid _exe; do
    if [[ -n "${pid:-}" ]] && kill -0 "$pid" 2>/dev/null; then
      die "a control plane from $STATE is still running (pid $pid); run down.sh $STATE first"
    fi
  done <"$STATE/pids"
fi

# What a real node of an earlier run may have left (mounts under the state dir must go
# before the state dir is cleared).
"$HERE/node/down-node.sh" "$STATE" >&2 || true

# ---------------------------------------------------------------- binaries
BIN="$("$HERE/build.sh" | tail -n 1)"
[[ -d "$BIN" ]] || die "build.sh did not report a binary directory"
K8S_VERSION="$(cat "$BIN/VERSION")"

# ---------------------------------------------------------------- state dir
# Fresh state each time (etcd data, certs, tokens); logs of a previous run go too.
rm -rf "$STATE/etcd" "$STATE/pki" "$STATE/logs" "$STATE/kwok-home" "$STATE/pvs" "$STATE/node" "$STATE/snapshots"
rm -f "$STATE"/{node-resources,kubeconfig,kubeconfig-cert,env,pids,ca.crt,wrong-ca.crt,admin.token,alice.token,admin-cert.crt,admin-cert.key,audit.log,audit-policy.yaml}
mkdir -p "$STATE/pki" "$STATE/logs" "$STATE/etcd" "$STATE/kwok-home" "$STATE/pvs"
chmod 700 "$STATE/etcd" "$STATE/pki"
: >"$STATE/pids"

PKI="$STATE/pki"
LOGS="$STATE/logs"

# The real node's prerequisites, before anything starts (a clear failure, at once).
if [[ "$REAL_NODE_WANTED" == 1 ]]; then
  source "$HERE/node/check-node.sh"
fi

# ---------------------------------------------------------------- failure handling
STARTED_OK=0
FAIL_LOG=""
on_exit() {
  local rc=$?
  if [[ $STARTED_OK -ne 1 ]]; then
    [[ $rc -eq 0 ]] && rc=1
    log "control plane failed to come up (exit $rc)"
    local f
    for f in ${FAIL_LOG:-} ; do
      if [[ -s "$f" ]]; then
        echo "----- tail of $f -----" >&2
        tail -n 40 "$f" >&2 || true
      fi
    done
    "$HERE/down.sh" "$STATE" >&2 || true
  fi
  exit $rc
}
trap on_exit EXIT

# ---------------------------------------------------------------- ports
# free_ports <n>: n distinct free loopback ports, on one line.
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}
read -r ETCD_PORT ETCD_PEER_PORT API_PORT KCM_PORT SCHED_PORT < <(free_ports 5)
SERVER="https://127.0.0.1:${API_PORT}"

# ---------------------------------------------------------------- PKI (openssl)
ossl() { openssl "$@" 2>>"$LOGS/openssl.log"; }
FAIL_LOG="$LOGS/openssl.log"

# new_ca <name> <CN>
new_ca() {
  ossl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
    -keyout "$PKI/$1.key" -out "$PKI/$1.crt" -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
}
# new_cert <name> <subject> <extensions...>   (signed by pki/ca)
new_cert() {
  local name="$1" subj="$2"; shift 2
  ossl req -new -newkey rsa:2048 -nodes -sha256 -keyout "$PKI/$name.key" -out "$PKI/$name.csr" -subj "$subj"
  printf '%s\n' "$@" >"$PKI/$name.ext"
  ossl x509 -req -sha256 -days 3650 -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
    -CAcreateserial -out "$PKI/$name.crt" -extfile "$PKI/$name.ext"
  rm -f "$PKI/$name.csr"
}

new_ca ca "sandboxd-test-ca"
new_ca wrong-ca "sandboxd-unrelated-ca"
new_cert serving "/CN=kube-apiserver" \
  "basicConstraints=critical,CA:FALSE" \
  "keyUsage=critical,digitalSignature,keyEncipherment" \
  "extendedKeyUsage=serverAuth" \
  "subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
new_cert admin-cert "/O=system:masters/CN=admin-cert" \
  "basicConstraints=critical,CA:FALSE" \
  "keyUsage=critical,digitalSignature,keyEncipherment" \
  "extendedKeyUsage=clientAuth"
ossl genrsa -out "$PKI/sa.key" 2048
ossl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"

ADMIN_TOKEN="$(openssl rand -hex 24)"
ALICE_TOKEN="$(openssl rand -hex 24)"
{
  echo "${ADMIN_TOKEN},admin,uid-admin,\"system:masters\""
  echo "${ALICE_TOKEN},alice,uid-alice"
} >"$PKI/tokens.csv"
chmod 600 "$PKI/tokens.csv"

cp "$PKI/ca.crt" "$STATE/ca.crt"
cp "$PKI/wrong-ca.crt" "$STATE/wrong-ca.crt"
cp "$PKI/admin-cert.crt" "$STATE/admin-cert.crt"
cp "$PKI/admin-cert.key" "$STATE/admin-cert.key"
printf '%s\n' "$ADMIN_TOKEN" >"$STATE/admin.token"
printf '%s\n' "$ALICE_TOKEN" >"$STATE/alice.token"
chmod 600 "$STATE/admin.token" "$STATE/alice.token" "$STATE/admin-cert.key"

# ---------------------------------------------------------------- kubeconfigs
# write_kubeconfig <file> <user-name> <auth lines...>
write_kubeconfig() {
  local file="$1" user="$2"; shift 2
  {
    cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: sandboxd-test
  cluster:
    server: ${SERVER}
    certificate-authority: ${STATE}/ca.crt
users:
- name: ${user}
  user:
EOF
    local l
    for l in "$@"; do echo "    $l"; done
    cat <<EOF
contexts:
- name: sandboxd-test
  context:
    cluster: sandboxd-test
    user: ${user}
    namespace: default
current-context: sandboxd-test
EOF
  } >"$file"
  chmod 600 "$file"
}
write_kubeconfig "$STATE/kubeconfig" admin "token: ${ADMIN_TOKEN}"
write_kubeconfig "$STATE/kubeconfig-cert" admin-cert \
  "client-certificate: ${STATE}/admin-cert.crt" "client-key: ${STATE}/admin-cert.key"
# Components use the client-cert kubeconfig (system:masters).
COMPONENT_KUBECONFIG="$STATE/kubeconfig-cert"

# ---------------------------------------------------------------- process helpers
# start <name> <binary> <args...>: runs detached (own session), logs to logs/<name>.log
start() {
  local name="$1" exe="$2"; shift 2
  [[ -x "$exe" ]] || die "missing binary $exe"
  setsid "$exe" "$@" </dev/null >"$LOGS/$name.log" 2>&1 &
  local pid=$!
  echo "$name $pid $exe" >>"$STATE/pids"
  eval "PID_${name//-/_}=$pid"
}
# alive <name>
alive() { local v="PID_${1//-/_}"; kill -0 "${!v}" 2>/dev/null; }

# wait_for <what> <log-file> <component-name> <command...>: retries until the command succeeds
wait_for() {
  local what="$1" logf="$2" comp="$3"; shift 3
  local deadline=$((SECONDS + TIMEOUT))
  FAIL_LOG="$logf"
  while ! "$@" >/dev/null 2>&1; do
    if [[ -n "$comp" ]] && ! alive "$comp"; then
      die "$comp exited while waiting for $what"
    fi
    if (( SECONDS >= deadline )); then
      die "timed out after ${TIMEOUT}s waiting for $what"
    fi
    sleep 0.3
  done
  log "$what ready (t=$((SECONDS - T_START))s)"
}

CURL=(curl -sS --fail --max-time 10 --cacert "$STATE/ca.crt")
# kapi <method> <path> [json-body] [content-type]: admin API call, prints the body
kapi() {
  local method="$1" path="$2" body="${3:-}" ctype="${4:-application/json}"
  if [[ -n "$body" ]]; then
    "${CURL[@]}" -X "$method" -H "Authorization: Bearer ${ADMIN_TOKEN}" \
      -H "Content-Type: ${ctype}" --data-binary "$body" "${SERVER}${path}"
  else
    "${CURL[@]}" -X "$method" -H "Authorization: Bearer ${ADMIN_TOKEN}" "${SERVER}${path}"
  fi
}

# ---------------------------------------------------------------- etcd
ETCD_URL="http://127.0.0.1:${ETCD_PORT}"
start etcd "$BIN/etcd" \
  --name=default \
  --data-dir="$STATE/etcd" \
  --listen-client-urls="$ETCD_URL" \
  --advertise-client-urls="$ETCD_URL" \
  --listen-peer-urls="http://127.0.0.1:${ETCD_PEER_PORT}" \
  --initial-advertise-peer-urls="http://127.0.0.1:${ETCD_PEER_PORT}" \
  --initial-cluster="default=http://127.0.0.1:${ETCD_PEER_PORT}" \
  --initial-cluster-state=new \
  --unsafe-no-fsync=true \
  --log-level=warn
wait_for etcd "$LOGS/etcd.log" etcd curl -sf --max-time 2 "$ETCD_URL/health"

# ---------------------------------------------------------------- kube-apiserver
# Audit: requests of service accounts only (the components and the tests' admin use other
# identities), at Metadata level (who, verb, resource, subresource, namespace, status code; no
# bodies), from when the response is complete (or, for watches, has started).
cat >"$STATE/audit-policy.yaml" <<'EOF_POLICY'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts"]
  - level: None
EOF_POLICY
# --endpoint-reconciler-type=none: the "kubernetes" Service cannot get a 127.0.0.1
# endpoint (loopback is invalid in Endpoints), which would log an error every 10 s.
start kube-apiserver "$BIN/kube-apiserver" \
  --advertise-address=127.0.0.1 \
  --bind-address=127.0.0.1 \
  --secure-port="$API_PORT" \
  --cert-dir="$PKI" \
  --tls-cert-file="$PKI/serving.crt" \
  --tls-private-key-file="$PKI/serving.key" \
  --client-ca-file="$PKI/ca.crt" \
  --token-auth-file="$PKI/tokens.csv" \
  --authorization-mode=Node,RBAC \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" \
  --service-account-signing-key-file="$PKI/sa.key" \
  --service-cluster-ip-range=10.0.0.0/24 \
  --etcd-servers="$ETCD_URL" \
  --endpoint-reconciler-type=none \
  --allow-privileged=true \
  --audit-policy-file="$STATE/audit-policy.yaml" \
  --audit-log-path="$STATE/audit.log" \
  --audit-log-format=json \
  --audit-log-mode=blocking \
  --profiling=false
wait_for kube-apiserver "$LOGS/kube-apiserver.log" kube-apiserver \
  "${CURL[@]}" --max-time 3 "${SERVER}/readyz"

# ---------------------------------------------------------------- controller-manager, scheduler
CONTROLLERS="statefulset-controller,deployment-controller,replicaset-controller,garbage-collector-controller"
CONTROLLERS+=",persistentvolumeclaim-protection-controller,persistentvolume-protection-controller"
CONTROLLERS+=",persistentvolume-binder-controller,serviceaccount-controller,namespace-controller"
CONTROLLERS+=",clusterrole-aggregation-controller,root-ca-certificate-publisher-controller"
CONTROLLERS+=",endpointslice-controller,pod-garbage-collector-controller,job-controller"
start kube-controller-manager "$BIN/kube-controller-manager" \
  --kubeconfig="$COMPONENT_KUBECONFIG" \
  --authentication-kubeconfig="$COMPONENT_KUBECONFIG" \
  --authorization-kubeconfig="$COMPONENT_KUBECONFIG" \
  --bind-address=127.0.0.1 \
  --secure-port="$KCM_PORT" \
  --tls-cert-file="$PKI/serving.crt" \
  --tls-private-key-file="$PKI/serving.key" \
  --leader-elect=false \
  --use-service-account-credentials=false \
  --root-ca-file="$PKI/ca.crt" \
  --controllers="$CONTROLLERS" \
  --profiling=false

# With the real node: a pod the scheduler set aside as unschedulable (its home volume's claim
# not bound yet) is retried within 10 s, not 5 min. In one of three node-tier runs a sandbox's
# pod stayed unscheduled ("unbound immediate PersistentVolumeClaims") for the test's 2 minutes
# after its volume was provisioned: nothing requeued it.
SCHED_EXTRA=()
[[ "$REAL_NODE_WANTED" == 1 ]] && SCHED_EXTRA=(--pod-max-in-unschedulable-pods-duration=10s)
start kube-scheduler "$BIN/kube-scheduler" "${SCHED_EXTRA[@]}" \
  --kubeconfig="$COMPONENT_KUBECONFIG" \
  --authentication-kubeconfig="$COMPONENT_KUBECONFIG" \
  --authorization-kubeconfig="$COMPONENT_KUBECONFIG" \
  --bind-address=127.0.0.1 \
  --secure-port="$SCHED_PORT" \
  --tls-cert-file="$PKI/serving.crt" \
  --tls-private-key-file="$PKI/serving.key" \
  --leader-elect=false \
  --profiling=false

# ---------------------------------------------------------------- KWOK
# HOME is redirected so that a ~/.kwok/kwok.yaml of the user is not picked up.
# Stages: the kwok module's stock ones (generated by build.sh), then ours
# (kwok-stages-extra.yaml: e.g. ImagePullBackOff for a sentinel image).
HOME="$STATE/kwok-home" start kwok "$BIN/kwok" \
  --kubeconfig="$COMPONENT_KUBECONFIG" \
  --config="$BIN/kwok-stages.yaml" \
  --config="$HERE/kwok-stages-extra.yaml" \
  --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --node-ip=10.1.0.1 \
  --cidr=10.244.0.0/16 \
  --node-lease-duration-seconds=40

wait_for kube-controller-manager "$LOGS/kube-controller-manager.log" kube-controller-manager \
  "${CURL[@]}" --max-time 3 "https://127.0.0.1:${KCM_PORT}/healthz"
wait_for kube-scheduler "$LOGS/kube-scheduler.log" kube-scheduler \
  "${CURL[@]}" --max-time 3 "https://127.0.0.1:${SCHED_PORT}/healthz"

# ---------------------------------------------------------------- cluster objects
FAIL_LOG="$LOGS/kube-apiserver.log"
# A CSI driver name (no "/"): the PVs are CSI volumes of this driver, which the
# VolumeSnapshotClass names too.
PROVISIONER=hostpath.sandboxd.local
kapi POST /apis/storage.k8s.io/v1/storageclasses '{
  "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
  "metadata": {"name": "standard",
               "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
  "provisioner": "'"$PROVISIONER"'",
  "reclaimPolicy": "Delete",
  "allowVolumeExpansion": true,
  "volumeBindingMode": "Immediate"}' >/dev/null
PYTHON="$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')"
PV_MODE=()
[[ "$REAL_NODE_WANTED" == 1 ]] && PV_MODE=(--local)
[[ "$SNAPSHOTS_WANTED" == 1 ]] && PV_MODE+=(--snapshots "$STATE/snapshots")
start pv-provisioner "$PYTHON" "$HERE/pv_provisioner.py" "${PV_MODE[@]}" \
  "$SERVER" "$STATE/ca.crt" "$STATE/admin.token" "$STATE/pvs" "$PROVISIONER"
log "StorageClass standard (provisioner $PROVISIONER) created"

# ---------------------------------------------------------------- VolumeSnapshots
if [[ "$SNAPSHOTS_WANTED" == 1 ]]; then
  source "$HERE/up-snapshots.sh"
fi

NODE=kwok-node-0
kapi POST /api/v1/nodes '{
  "apiVersion": "v1", "kind": "Node",
  "metadata": {"name": "'"$NODE"'",
    "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
    "labels": {"type": "kwok", "kubernetes.io/hostname": "'"$NODE"'", "kubernetes.io/role": "agent",
               "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "node-role.kubernetes.io/agent": ""}},
  "spec": {},
  "status": {"allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "1Ti"},
             "capacity":    {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "1Ti"}}}' >/dev/null

# node_ready <name>: the node reports Ready.
node_ready() {
  kapi GET "/api/v1/nodes/$1" | python3 -c '
import json, sys
n = json.load(sys.stdin)
ok = any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions", []))
sys.exit(0 if ok else 1)'
}
wait_for "node $NODE (kwok)" "$LOGS/kwok.log" kwok node_ready "$NODE"

# The TaintNodesByCondition admission plugin taints new nodes not-ready; the
# node-lifecycle-controller (not run here) would lift it once the node is Ready.
kapi PATCH "/api/v1/nodes/$NODE" '{"spec":{"taints":null}}' application/merge-patch+json >/dev/null

wait_for "serviceaccount default/default" "$LOGS/kube-controller-manager.log" kube-controller-manager \
  kapi GET /api/v1/namespaces/default/serviceaccounts/default

# ---------------------------------------------------------------- the real node (optional)
REAL_NODE=""
SANDBOX_TEST_IMAGE=""
if [[ "$REAL_NODE_WANTED" == 1 ]]; then
  source "$HERE/node/up-node.sh"
fi

# ---------------------------------------------------------------- env
cat >"$STATE/env" <<EOF
KUBECONFIG=${STATE}/kubeconfig
SANDBOXD_K8S_SERVER=${SERVER}
SANDBOXD_K8S_VERSION=${K8S_VERSION}
SANDBOXD_K8S_STATE_DIR=${STATE}
SANDBOXD_K8S_CA=${STATE}/ca.crt
SANDBOXD_K8S_KUBECONFIG_CERT=${STATE}/kubeconfig-cert
SANDBOXD_K8S_ADMIN_TOKEN_FILE=${STATE}/admin.token
SANDBOXD_K8S_ALICE_TOKEN_FILE=${STATE}/alice.token
SANDBOXD_K8S_WRONG_CA=${STATE}/wrong-ca.crt
SANDBOXD_K8S_NODE=${NODE}
SANDBOXD_K8S_AUDIT_LOG=${STATE}/audit.log
SANDBOXD_K8S_PV_DIR=${STATE}/pvs
SANDBOXD_K8S_SNAPSHOT_DIR=${SNAPSHOT_DIR:-}
SANDBOXD_K8S_SNAPSHOT_CLASS=${SNAPSHOT_CLASS:-}
SANDBOXD_K8S_REAL_NODE_NAME=${REAL_NODE}
SANDBOXD_K8S_SANDBOX_TEST_IMAGE=${SANDBOX_TEST_IMAGE}
export SANDBOXD_K8S_SNAPSHOT_DIR SANDBOXD_K8S_SNAPSHOT_CLASS
export SANDBOXD_K8S_PV_DIR SANDBOXD_K8S_REAL_NODE_NAME SANDBOXD_K8S_SANDBOX_TEST_IMAGE
export KUBECONFIG SANDBOXD_K8S_SERVER SANDBOXD_K8S_VERSION SANDBOXD_K8S_STATE_DIR SANDBOXD_K8S_CA SANDBOXD_K8S_KUBECONFIG_CERT SANDBOXD_K8S_ADMIN_TOKEN_FILE SANDBOXD_K8S_ALICE_TOKEN_FILE SANDBOXD_K8S_WRONG_CA SANDBOXD_K8S_NODE SANDBOXD_K8S_AUDIT_LOG
EOF

STARTED_OK=1
log "control plane ${K8S_VERSION}${REAL_NODE:+ with real node $REAL_NODE} up at ${SERVER} in $((SECONDS - T_START))s; source ${STATE}/env"
echo "$STATE/env"
