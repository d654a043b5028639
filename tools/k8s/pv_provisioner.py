#!/usr/bin/env python3
"""A minimal external volume provisioner for the test control plane.

It speaks the same protocol as the CSI external-provisioner, with hostPath
volumes under a local directory (KWOK never mounts them):

  * a claim that kube-controller-manager has handed to us (annotation
    volume.kubernetes.io/storage-provisioner == our name) and that is still
    Pending gets a PersistentVolume pre-bound to it (spec.claimRef with the
    claim's uid); the PV controller then binds the pair;
  * a PV we provisioned whose claim is gone (phase Released) with reclaim
    policy Delete is deleted.

A fixed pool of pre-created volumes runs out once a long test run has deleted
enough claims (Retain leaves every used volume Released for good); this
behaves like a real cluster's default storage class instead.

usage: pv_provisioner.py SERVER CA_FILE TOKEN_FILE VOLUME_DIR [PROVISIONER_NAME]
"""
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

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

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
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


def volume_for(claim, name, volume_dir):
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
            "hostPath": {"path": path, "type": ""},
        },
    }


def provision(api, name, volume_dir):
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
        pv = volume_for(claim, name, volume_dir)
        status, _ = api.call("POST", "/api/v1/persistentvolumes", pv)
        if status == 201:
            log("provisioned %s for %s/%s" % (pv["metadata"]["name"], meta["namespace"], meta["name"]))
        elif status != 409:
            log("creating %s failed: HTTP %s" % (pv["metadata"]["name"], status))


def reclaim(api, name):
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


def main():
    if len(sys.argv) not in (5, 6):
        print(__doc__, file=sys.stderr)
        return 2
    server, ca_file, token_file, volume_dir = sys.argv[1:5]
    name = sys.argv[5] if len(sys.argv) == 6 else "sandboxd.local/hostpath"
    api = Api(server, ca_file, token_file)
    log("provisioner %s watching %s" % (name, server))
    last_ok = time.monotonic()
    while True:
        try:
            provision(api, name, volume_dir)
            reclaim(api, name)
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
