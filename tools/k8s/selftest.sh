#!/usr/bin/env bash
# selftest.sh [STATE_DIR] — brings the local control plane up, exercises what the
# integration tests rely on (auth, TLS, StatefulSet + PVC binding, KWOK pod
# lifecycle, /scale, namespace deletion) with plain curl, and tears it down.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE="${1:-$(mktemp -d /tmp/sandboxd-k8s-selftest.XXXXXX)}"
TIMEOUT="${SANDBOXD_K8S_SELFTEST_TIMEOUT:-90}"

log() { echo "[k8s/selftest] $*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

cleanup() {
  local rc=$?
  "$HERE/down.sh" "$STATE" || true
  if [[ $rc -eq 0 ]]; then log "PASS"; else log "FAILED (state and logs kept in $STATE)"; fi
  exit $rc
}
trap cleanup EXIT

T0=$SECONDS
"$HERE/up.sh" "$STATE" >/dev/null
log "up.sh took $((SECONDS - T0))s"
# shellcheck disable=SC1091
source "$STATE/env"
ADMIN_TOKEN="$(cat "$STATE/admin.token")"
ALICE_TOKEN="$(cat "$STATE/alice.token")"

# api <method> <path> [body] [content-type] -> body on stdout, HTTP status in $STATUS_FILE
STATUS_FILE="$STATE/.selftest-status"
api() {
  local method="$1" path="$2" body="${3:-}" ctype="${4:-application/json}"
  local args=(-sS --max-time 10 --cacert "$SANDBOXD_K8S_CA" -H "Authorization: Bearer $ADMIN_TOKEN"
              -X "$method" -o "$STATE/.selftest-body" -w '%{http_code}')
  [[ -n "$body" ]] && args+=(-H "Content-Type: $ctype" --data-binary "$body")
  curl "${args[@]}" "$SANDBOXD_K8S_SERVER$path" >"$STATUS_FILE"
  cat "$STATE/.selftest-body"
}
status() { cat "$STATUS_FILE"; }
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# until_true <what> <command...>
until_true() {
  local what="$1"; shift
  local deadline=$((SECONDS + TIMEOUT)) t=$SECONDS
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || fail "timed out after ${TIMEOUT}s: $what"
    sleep 0.5
  done
  log "ok: $what ($((SECONDS - t))s)"
}

# ---- version, TLS and authentication
ver="$(api GET /version | jq_ 'd["gitVersion"]')"
[[ "$ver" == "$SANDBOXD_K8S_VERSION" ]] || fail "/version says $ver, want $SANDBOXD_K8S_VERSION"
log "ok: /version = $ver"

code="$(curl -s -o /dev/null -w '%{http_code}' --cacert "$SANDBOXD_K8S_CA" \
  -H "Authorization: Bearer $ALICE_TOKEN" "$SANDBOXD_K8S_SERVER/api/v1/namespaces/default/pods")"
[[ "$code" == 403 ]] || fail "alice listing pods: HTTP $code, want 403"
log "ok: alice is forbidden (403)"

code="$(curl -s -o /dev/null -w '%{http_code}' --cacert "$SANDBOXD_K8S_CA" \
  -H "Authorization: Bearer wrong-token" "$SANDBOXD_K8S_SERVER/api/v1/namespaces")"
[[ "$code" == 401 ]] || fail "bad token: HTTP $code, want 401"
log "ok: unknown token is unauthorized (401)"

if curl -s -o /dev/null --cacert "$SANDBOXD_K8S_WRONG_CA" "$SANDBOXD_K8S_SERVER/version"; then
  fail "TLS with wrong-ca.crt succeeded"
fi
log "ok: wrong CA is refused"

code="$(curl -s -o /dev/null -w '%{http_code}' --cacert "$SANDBOXD_K8S_CA" \
  --cert "$STATE/admin-cert.crt" --key "$STATE/admin-cert.key" "$SANDBOXD_K8S_SERVER/api/v1/nodes")"
[[ "$code" == 200 ]] || fail "client cert listing nodes: HTTP $code, want 200"
grep -q 'client-certificate:' "$STATE/kubeconfig-cert" || fail "kubeconfig-cert has no client-certificate"
log "ok: client certificate auth"

# ---- default StorageClass (served by pv_provisioner.py)
api GET /apis/storage.k8s.io/v1/storageclasses/standard | \
  jq_ 'd["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"]' | grep -qx true \
  || fail "StorageClass standard is not default"

# ---- StatefulSet with a volumeClaimTemplate
NS="selftest-$RANDOM"
api POST /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"'"$NS"'"}}' >/dev/null
[[ "$(status)" == 201 ]] || fail "create namespace: HTTP $(status)"
until_true "serviceaccount $NS/default" bash -c \
  "curl -sf --cacert '$SANDBOXD_K8S_CA' -H 'Authorization: Bearer $ADMIN_TOKEN' '$SANDBOXD_K8S_SERVER/api/v1/namespaces/$NS/serviceaccounts/default'"

api POST "/api/v1/namespaces/$NS/services" '{
  "apiVersion": "v1", "kind": "Service",
  "metadata": {"name": "agent-selftest"},
  "spec": {"clusterIP": "None", "selector": {"app": "agent-selftest"},
           "ports": [{"name": "http", "port": 8080}]}}' >/dev/null
[[ "$(status)" == 201 ]] || fail "create service: HTTP $(status) $(cat "$STATE/.selftest-body")"

api POST "/apis/apps/v1/namespaces/$NS/statefulsets" '{
  "apiVersion": "apps/v1", "kind": "StatefulSet",
  "metadata": {"name": "agent-selftest"},
  "spec": {
    "replicas": 1,
    "serviceName": "agent-selftest",
    "selector": {"matchLabels": {"app": "agent-selftest"}},
    "template": {
      "metadata": {"labels": {"app": "agent-selftest"}},
      "spec": {"containers": [{"name": "main", "image": "busybox",
                               "command": ["sleep", "infinity"],
                               "volumeMounts": [{"name": "vn-homevn", "mountPath": "/home/vn"}]}]}},
    "volumeClaimTemplates": [{
      "metadata": {"name": "vn-homevn"},
      "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}}]}}' >/dev/null
[[ "$(status)" == 201 ]] || fail "create statefulset: HTTP $(status) $(cat "$STATE/.selftest-body")"
T_STS=$SECONDS

PVC=vn-homevn-agent-selftest-0
POD=agent-selftest-0
pvc_bound() { api GET "/api/v1/namespaces/$NS/persistentvolumeclaims/$PVC" | jq_ 'd["status"]["phase"]' | grep -qx Bound; }
# pod_ready [not-uid]: pod is Running+Ready (and, if given, is not the pod with that uid)
pod_ready() {
  api GET "/api/v1/namespaces/$NS/pods/$POD" | python3 -c '
import json, sys
p = json.load(sys.stdin)
ok = p["metadata"]["uid"] != sys.argv[1] and "deletionTimestamp" not in p["metadata"]
ok = ok and p["status"].get("phase") == "Running" and any(
    c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
sys.exit(0 if ok else 1)' "${1:-none}"
}
pod_uid() { api GET "/api/v1/namespaces/$NS/pods/$POD" | jq_ 'd["metadata"]["uid"]'; }
pod_gone() { api GET "/api/v1/namespaces/$NS/pods/$POD" >/dev/null; [[ "$(status)" == 404 ]]; }
sts_ready() { api GET "/apis/apps/v1/namespaces/$NS/statefulsets/agent-selftest" | jq_ 'd["status"].get("readyReplicas", 0)' | grep -qx 1; }

until_true "PVC $PVC Bound" pvc_bound
sc="$(api GET "/api/v1/namespaces/$NS/persistentvolumeclaims/$PVC" | jq_ 'd["spec"].get("storageClassName")')"
[[ "$sc" == standard ]] || fail "PVC storageClassName is '$sc', want standard (DefaultStorageClass admission)"
PV="$(api GET "/api/v1/namespaces/$NS/persistentvolumeclaims/$PVC" | jq_ 'd["spec"]["volumeName"]')"
[[ "$PV" == pvc-* ]] || fail "PVC bound to '$PV', want a volume provisioned for it (pvc-<uid>)"
until_true "pod $POD Running+Ready" pod_ready
until_true "statefulset readyReplicas=1" sts_ready
log "StatefulSet ready $((SECONDS - T_STS))s after creation"
node="$(api GET "/api/v1/namespaces/$NS/pods/$POD" | jq_ 'd["spec"]["nodeName"]')"
[[ "$node" == "$SANDBOXD_K8S_NODE" ]] || fail "pod on node '$node'"

# ---- scale to 0 via the /scale subresource
api PATCH "/apis/apps/v1/namespaces/$NS/statefulsets/agent-selftest/scale" \
  '{"spec":{"replicas":0}}' application/merge-patch+json >/dev/null
[[ "$(status)" == 200 ]] || fail "scale: HTTP $(status) $(cat "$STATE/.selftest-body")"
until_true "pod $POD deleted after scale to 0" pod_gone
api GET "/api/v1/namespaces/$NS/persistentvolumeclaims/$PVC" >/dev/null
[[ "$(status)" == 200 ]] || fail "PVC gone after scale to 0 (HTTP $(status))"
log "ok: PVC $PVC kept after scale to 0"

# ---- scale back to 1: the same PVC is reused
api PATCH "/apis/apps/v1/namespaces/$NS/statefulsets/agent-selftest/scale" \
  '{"spec":{"replicas":1}}' application/merge-patch+json >/dev/null
until_true "pod $POD Ready again after scale to 1" pod_ready

# ---- plain pod delete goes through (KWOK removes the terminating pod)
old_uid="$(pod_uid)"
api DELETE "/api/v1/namespaces/$NS/pods/$POD" >/dev/null
[[ "$(status)" == 200 ]] || fail "delete pod: HTTP $(status)"
until_true "deleted pod $POD recreated by the StatefulSet and Ready" pod_ready "$old_uid"

# ---- a pod with the unpullable sentinel image stays Pending in ImagePullBackOff
# (kwok-stages-extra.yaml), is never made Ready by the stock pod-ready stage, and deletes
UNPULLABLE=registry.invalid/sandboxd/unpullable:v1
api POST "/api/v1/namespaces/$NS/pods" '{
  "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "unpullable"},
  "spec": {"containers": [{"name": "main", "image": "'"$UNPULLABLE"'"}]}}' >/dev/null
[[ "$(status)" == 201 ]] || fail "create unpullable pod: HTTP $(status) $(cat "$STATE/.selftest-body")"
pull_backoff() {
  api GET "/api/v1/namespaces/$NS/pods/unpullable" | python3 -c '
import json, sys
p = json.load(sys.stdin)
s = p["status"]
cs = (s.get("containerStatuses") or [{}])[0]
waiting = cs.get("state", {}).get("waiting", {})
ok = s.get("phase") == "Pending" and waiting.get("reason") == "ImagePullBackOff"
ok = ok and sys.argv[1] in waiting.get("message", "") and any(
    c["type"] == "Ready" and c["status"] == "False" for c in s.get("conditions", []))
sys.exit(0 if ok else 1)' "$UNPULLABLE"
}
until_true "pod with image $UNPULLABLE in ImagePullBackOff" pull_backoff
rv="$(api GET "/api/v1/namespaces/$NS/pods/unpullable" | jq_ 'd["metadata"]["resourceVersion"]')"
sleep 2  # nothing to poll for: the stage must not be applied again, nor pod-ready take over
pull_backoff || fail "pod unpullable left ImagePullBackOff"
[[ "$(api GET "/api/v1/namespaces/$NS/pods/unpullable" | jq_ 'd["metadata"]["resourceVersion"]')" == "$rv" ]] \
  || fail "pod unpullable keeps being patched (the stage is not idempotent)"
log "ok: pod unpullable stays in ImagePullBackOff, unchanged"
api DELETE "/api/v1/namespaces/$NS/pods/unpullable" >/dev/null
unpullable_gone() { api GET "/api/v1/namespaces/$NS/pods/unpullable" >/dev/null; [[ "$(status)" == 404 ]]; }
until_true "pod unpullable deleted" unpullable_gone

# ---- VolumeSnapshots (snapshot-controller + snapshot_driver.py): a snapshot copies the
# volume's directory, a claim from it is filled from the copy, deleting it removes the copy
SNAP_API=/apis/snapshot.storage.k8s.io/v1
echo "snapshot me" >"$SANDBOXD_K8S_PV_DIR/$PV/selftest.txt"
api POST "$SNAP_API/namespaces/$NS/volumesnapshots" '{
  "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
  "metadata": {"name": "selftest-snap"},
  "spec": {"source": {"persistentVolumeClaimName": "'"$PVC"'"}}}' >/dev/null
[[ "$(status)" == 201 ]] || fail "create volumesnapshot: HTTP $(status) $(cat "$STATE/.selftest-body")"
snap_ready() { api GET "$SNAP_API/namespaces/$NS/volumesnapshots/selftest-snap" | jq_ 'd.get("status", {}).get("readyToUse")' | grep -qx True; }
until_true "VolumeSnapshot selftest-snap readyToUse" snap_ready
CONTENT="$(api GET "$SNAP_API/namespaces/$NS/volumesnapshots/selftest-snap" | jq_ 'd["status"]["boundVolumeSnapshotContentName"]')"
HANDLE="$(api GET "$SNAP_API/volumesnapshotcontents/$CONTENT" | jq_ 'd["status"]["snapshotHandle"]')"
[[ "$(cat "$SANDBOXD_K8S_SNAPSHOT_DIR/$HANDLE/selftest.txt")" == "snapshot me" ]] || fail "snapshot $HANDLE lacks the volume's file"
log "ok: snapshot $HANDLE holds the volume's file"
api POST "/api/v1/namespaces/$NS/persistentvolumeclaims" '{
  "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "restored"},
  "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}},
           "dataSource": {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "selftest-snap"}}}' >/dev/null
[[ "$(status)" == 201 ]] || fail "create restored claim: HTTP $(status) $(cat "$STATE/.selftest-body")"
restored_bound() { api GET "/api/v1/namespaces/$NS/persistentvolumeclaims/restored" | jq_ 'd["status"]["phase"]' | grep -qx Bound; }
until_true "claim restored (from the snapshot) Bound" restored_bound
RPV="$(api GET "/api/v1/namespaces/$NS/persistentvolumeclaims/restored" | jq_ 'd["spec"]["volumeName"]')"
[[ "$(cat "$SANDBOXD_K8S_PV_DIR/$RPV/selftest.txt")" == "snapshot me" ]] || fail "restored volume $RPV lacks the snapshot's file"
log "ok: restored volume $RPV holds the snapshot's file"
api DELETE "$SNAP_API/namespaces/$NS/volumesnapshots/selftest-snap" >/dev/null
content_gone() { api GET "$SNAP_API/volumesnapshotcontents/$CONTENT" >/dev/null; [[ "$(status)" == 404 ]]; }
until_true "VolumeSnapshotContent $CONTENT deleted" content_gone
[[ ! -e "$SANDBOXD_K8S_SNAPSHOT_DIR/$HANDLE" ]] || fail "snapshot directory $HANDLE left after the delete"
log "ok: deleting the snapshot removed its copy"

# ---- namespace deletion completes (namespace + GC + PVC protection controllers)
api DELETE "/api/v1/namespaces/$NS" >/dev/null
ns_gone() { api GET "/api/v1/namespaces/$NS" >/dev/null; [[ "$(status)" == 404 ]]; }
until_true "namespace $NS deleted" ns_gone
# the provisioned volume goes with its claim (reclaim policy Delete)
pv_gone() { api GET "/api/v1/persistentvolumes/$PV" >/dev/null; [[ "$(status)" == 404 ]]; }
until_true "volume $PV deleted after its claim" pv_gone
