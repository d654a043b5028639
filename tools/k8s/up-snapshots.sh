# Sourced by up.sh (not run on its own): the VolumeSnapshot API of the test cluster. Installs
# the snapshot.storage.k8s.io/v1 CRDs that build.sh copied from the external-snapshotter client
# module, a default VolumeSnapshotClass "standard" of the test storage's driver ($PROVISIONER,
# deletionPolicy Delete), and starts the upstream snapshot-controller. The CSI driver's part
# (making a VolumeSnapshotContent ready, deleting it, filling a volume from a snapshot) is
# pv_provisioner.py's (snapshot_driver.py), started with --snapshots "$STATE/snapshots".
# Sets SNAPSHOT_DIR and SNAPSHOT_CLASS for the env file.

[[ -s "$BIN/snapshot-crds.yaml" && -x "$BIN/snapshot-controller" ]] || die "build.sh did not provide the snapshot CRDs and controller"
# The API server takes YAML bodies: one POST per document of the CRD file.
python3 - "$BIN/snapshot-crds.yaml" "$STATE/logs/snapshot-crds" <<'EOF_SPLIT'
import sys
docs = [d for d in open(sys.argv[1]).read().split("\n---\n") if d.strip().strip("-").strip()]
for i, doc in enumerate(docs):
    with open("%s-%d.yaml" % (sys.argv[2], i), "w") as f:
        f.write(doc.lstrip("-\n") + "\n")
EOF_SPLIT
for crd in "$STATE"/logs/snapshot-crds-*.yaml; do
  kapi POST /apis/apiextensions.k8s.io/v1/customresourcedefinitions "$(cat "$crd")" application/yaml >/dev/null
done
rm -f "$STATE"/logs/snapshot-crds-*.yaml
for kind in volumesnapshots volumesnapshotcontents volumesnapshotclasses; do
  wait_for "CRD $kind.snapshot.storage.k8s.io" "$LOGS/kube-apiserver.log" kube-apiserver \
    kapi GET "/apis/snapshot.storage.k8s.io/v1/$kind?limit=1"
done
SNAPSHOT_CLASS=standard
kapi POST /apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses '{
  "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
  "metadata": {"name": "'"$SNAPSHOT_CLASS"'",
               "annotations": {"snapshot.storage.kubernetes.io/is-default-class": "true"}},
  "driver": "'"$PROVISIONER"'",
  "deletionPolicy": "Delete"}' >/dev/null
SNAPSHOT_DIR="$STATE/snapshots"
# No VolumeGroupSnapshot CRDs here: without the gate off the controller waits 30 s for them
# before it serves anything.
start snapshot-controller "$(readlink -f "$BIN/snapshot-controller")" \
  --kubeconfig="$COMPONENT_KUBECONFIG" \
  --feature-gates=CSIVolumeGroupSnapshot=false \
  --leader-election=false \
  --worker-threads=2 \
  --kube-api-qps=50 --kube-api-burst=100 \
  --retry-interval-max=10s
log "VolumeSnapshot CRDs, VolumeSnapshotClass $SNAPSHOT_CLASS (driver $PROVISIONER) and snapshot-controller started"
