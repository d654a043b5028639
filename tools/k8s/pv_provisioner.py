#!/usr/bin/env python3
"""A minimal external volume provisioner for the test control plane.

It speaks the same protocol as the CSI external-provisioner, with CSI volumes of
driver PROVISIONER_NAME (volumeHandle = the PV's name, volumeAttributes.path = its
directory) under a local directory (KWOK never mounts them):

  * a claim that kube-controller-manager has handed to us (annotation
    volume.kubernetes.io/storage-provisioner == our name) and that is still
    Pending gets a PersistentVolume pre-bound to it (spec.claimRef with the
    claim's uid); the PV controller then binds the pair;
  * a PV we provisioned whose claim is gone (phase Released) with reclaim
    policy Delete is deleted.

  * with --snapshots DIR it also plays the CSI driver's part in VolumeSnapshots
    (snapshot_driver.py): a snapshot copies the volume's directory to DIR, a claim whose
    dataSource is a VolumeSnapshot gets a volume filled from it. The upstream
    snapshot-controller snapshots CSI volumes only, hence CSI PersistentVolumes.

A fixed pool of pre-created volumes runs out once a long test run has deleted
enough claims (Retain leaves every used volume Released for good); this
behaves like a real cluster's default storage class instead.

With --local (the cluster has a real node: up.sh --real-node) the volumes are `local`
PersistentVolumes instead, whose directory this provisioner creates: a kubelet mounts them and,
unlike hostPath volumes, applies the pod's fsGroup to them, as it does to a real cluster's
volumes. Their node affinity (kubernetes.io/os=linux) admits every node, KWOK's too; they
cannot be snapshotted (not CSI volumes). In both modes a deleted volume's directory goes with
it, as a real provisioner's data does.

usage: pv_provisioner.py [--local] [--snapshots DIR] SERVER CA_FILE TOKEN_FILE VOLUME_DIR [PROVISIONER_NAME]
"""
import json
import os
import shutil
import ssl
import sys
import time
import urllib.error
import urllib.request

from snapshot_driver import SnapshotDriver, restore_into

PROVISIONER_ANNOTATIONS = (
    "volume.kubernetes.io/storage-provisioner",
    "volume.beta.kubernetes.io/storage-provisioner",
)
POLL_SECONDS = 0.2
GIVE_UP_SECONDS = 60  # the API server has been unreachable this long: it is gone


class Api:
    def __init__(self, server, ca_file, token_file):
        self.server = server.rstrip("/")
        self.ctx = ssl.create_default_context(cafile=ca_file)
        with open(token_file) as f:
            self.token = f.read().strip()

    def call(self, method, path, body=None, content_type="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=10) as resp:
                return resp.status, json.load(resp)
        except urllib.error.HTTPError as e:
            return e.code, None


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def provisioner_of(claim):
    annotations = claim["metadata"].get("annotations") or {}
    for key in PROVISIONER_ANNOTATIONS:
        if key in annotations:
            return annotations[key]
    return None


def volume_for(claim, name, volume_dir, local):
    meta = claim["metadata"]
    spec = claim["spec"]
    volume_name = "pvc-" + meta["uid"]
    path = os.path.join(volume_dir, volume_name)
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": volume_name,
            "annotations": {"pv.kubernetes.io/provisioned-by": name},
            "labels": {"sandboxd.local/provisioned": "true"},
        },
        "spec": {
            "capacity": {"storage": spec["resources"]["requests"]["storage"]},
            "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": spec.get("storageClassName") or "",
            "volumeMode": spec.get("volumeMode") or "Filesystem",
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": meta["namespace"],
                "name": meta["name"],
                "uid": meta["uid"],
            },
            **({"local": {"path": path},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]}}}
               if local else {"csi": {"driver": name, "volumeHandle": volume_name,
                                      "volumeAttributes": {"path": path}}}),
        },
    }


def volume_path(pv, volume_dir):
    """The directory of a volume we provisioned, if it is one of ours under volume_dir."""
    spec = pv["spec"]
    source = spec.get("local") or (spec.get("csi") or {}).get("volumeAttributes") or {}
    path = source.get("path") or ""
    if os.path.dirname(path) != os.path.abspath(volume_dir):
        return None
    if os.path.basename(path) != pv["metadata"]["name"]:
        return None
    return path


def provision(api, name, volume_dir, local, snapshots):
    status, claims = api.call("GET", "/api/v1/persistentvolumeclaims")
    if status != 200:
        return
    for claim in claims.get("items", []):
        meta = claim["metadata"]
        if meta.get("deletionTimestamp") or claim["spec"].get("volumeName"):
            continue
        if (claim.get("status") or {}).get("phase") != "Pending":
            continue
        if provisioner_of(claim) != name:
            continue
        ready, snapshot_path = snapshots.snapshot_source(claim) if snapshots else (True, None)
        if not ready:
            continue  # its snapshot is not ready (yet): as the external-provisioner, wait
        pv = volume_for(claim, name, volume_dir, local)
        path = volume_path(pv, volume_dir)
        os.makedirs(path, mode=0o755, exist_ok=True)
        if snapshot_path:
            restore_into(snapshot_path, path)
        status, _ = api.call("POST", "/api/v1/persistentvolumes", pv)
        if status == 201:
            log("provisioned %s for %s/%s" % (pv["metadata"]["name"], meta["namespace"], meta["name"]))
        elif status != 409:
            log("creating %s failed: HTTP %s" % (pv["metadata"]["name"], status))


def reclaim(api, name, volume_dir):
    status, volumes = api.call("GET", "/api/v1/persistentvolumes")
    if status != 200:
        return
    for pv in volumes.get("items", []):
        meta = pv["metadata"]
        if (meta.get("annotations") or {}).get("pv.kubernetes.io/provisioned-by") != name:
            continue
        if meta.get("deletionTimestamp") or (pv.get("status") or {}).get("phase") != "Released":
            continue
        if pv["spec"].get("persistentVolumeReclaimPolicy") != "Delete":
            continue
        status, _ = api.call("DELETE", "/api/v1/persistentvolumes/" + meta["name"])
        if status in (200, 202):
            log("deleted released %s" % meta["name"])
            path = volume_path(pv, volume_dir)
            if path:
                shutil.rmtree(path, ignore_errors=True)


def main():
    args = sys.argv[1:]
    local = "--local" in args
    args = [a for a in args if a != "--local"]
    snapshot_dir = None
    if "--snapshots" in args:
        i = args.index("--snapshots")
        snapshot_dir = os.path.abspath(args[i + 1]) if i + 1 < len(args) else None
        args = args[:i] + args[i + 2:]
        if not snapshot_dir:
            print(__doc__, file=sys.stderr)
            return 2
    if len(args) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    server, ca_file, token_file, volume_dir = args[:4]
    volume_dir = os.path.abspath(volume_dir)
    name = args[4] if len(args) == 5 else "hostpath.sandboxd.local"
    api = Api(server, ca_file, token_file)
    snapshots = SnapshotDriver(api, name, volume_dir, snapshot_dir, log) if snapshot_dir else None
    log("provisioner %s watching %s" % (name, server))
    last_ok = time.monotonic()
    while True:
        try:
            provision(api, name, volume_dir, local, snapshots)
            reclaim(api, name, volume_dir)
            if snapshots:
                snapshots.sync()
            last_ok = time.monotonic()
        except (OSError, ValueError, KeyError) as e:  # API restarting, odd object
            if time.monotonic() - last_ok > GIVE_UP_SECONDS:
                log("API server unreachable for %ds, exiting" % GIVE_UP_SECONDS)
                return 1
            log("pass failed: %r" % (e,))
            time.sleep(1)
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
