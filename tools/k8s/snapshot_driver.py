"""The CSI driver's part in VolumeSnapshots for the test storage (pv_provisioner.py).

No CSI sidecar runs in the test control plane, so this plays the csi-snapshotter's part for
the upstream snapshot-controller, with the same fields and finalizers
(external-snapshotter v8, pkg/sidecar-controller/snapshot_controller.go):

  * a VolumeSnapshotContent of our driver with spec.source.volumeHandle and no status yet
    (the snapshot-controller made it for a new VolumeSnapshot) gets the volume's directory
    copied to SNAPSHOT_DIR/<handle>, then status {snapshotHandle, readyToUse: true,
    creationTime (Unix ns), restoreSize (the source volume's capacity in bytes, as CSI
    drivers report it)};
  * a content being deleted (deletionTimestamp, and the snapshot-controller's
    volumesnapshot-being-deleted annotation) with deletionPolicy Delete loses its directory
    and its status' handle; then, whatever the policy, the
    volumesnapshotcontent-bound-protection finalizer goes so that the deletion completes;
  * a new volume whose claim's dataSource (or dataSourceRef) is a ready VolumeSnapshot is
    filled from that snapshot's directory before its PersistentVolume exists
    (restore_into; the provisioner waits while the snapshot is not ready).
"""
import os
import re
import shutil
import time

GROUP_PATH = "/apis/snapshot.storage.k8s.io/v1"
CONTENT_FINALIZER = "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"
BEING_DELETED = "snapshot.storage.kubernetes.io/volumesnapshot-being-deleted"
BEING_CREATED = "snapshot.storage.kubernetes.io/volumesnapshot-being-created"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
HANDLE_PATTERN = re.compile(r"^snap-[a-z0-9-]+$")

_UNITS = {"": 1, "k": 1000, "M": 1000 ** 2, "G": 1000 ** 3, "T": 1000 ** 4,
          "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4}


def quantity_bytes(quantity):
    """Bytes of a storage quantity such as 5Gi (0 when it is not one we know)."""
    m = re.match(r"^([0-9]+)([A-Za-z]*)$", str(quantity or ""))
    if not m or m.group(2) not in _UNITS:
        return 0
    return int(m.group(1)) * _UNITS[m.group(2)]


class SnapshotDriver:
    def __init__(self, api, driver, volume_dir, snapshot_dir, log):
        self.api = api
        self.driver = driver
        self.volume_dir = volume_dir
        self.snapshot_dir = snapshot_dir
        self.log = log
        os.makedirs(snapshot_dir, mode=0o755, exist_ok=True)

    def snapshot_path(self, handle):
        if not HANDLE_PATTERN.match(handle or ""):
            return None
        return os.path.join(self.snapshot_dir, handle)

    def sync(self):
        """One pass over every VolumeSnapshotContent of our driver."""
        status, contents = self.api.call("GET", GROUP_PATH + "/volumesnapshotcontents")
        if status == 404:
            return  # the cluster has no snapshot CRDs (up.sh --no-snapshots)
        if status != 200:
            return
        for content in contents.get("items", []):
            if content["spec"].get("driver") != self.driver:
                continue
            meta = content["metadata"]
            if meta.get("deletionTimestamp"):
                self._delete(content)
            elif content["spec"]["source"].get("volumeHandle") and not content.get("status"):
                self._create(content)

    def _create(self, content):
        meta = content["metadata"]
        volume = content["spec"]["source"]["volumeHandle"]
        source = os.path.join(self.volume_dir, volume)
        status, pv = self.api.call("GET", "/api/v1/persistentvolumes/" + volume)
        if status != 200 or not os.path.isdir(source):
            self._fail(content, "volume %s not found" % volume)
            return
        handle = "snap-" + meta["uid"]
        target = self.snapshot_path(handle)
        partial = target + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(source, partial, symlinks=True)
        shutil.rmtree(target, ignore_errors=True)
        os.rename(partial, target)
        new_status = {
            "snapshotHandle": handle,
            "readyToUse": True,
            "creationTime": time.time_ns(),
        }
        size = quantity_bytes(pv["spec"].get("capacity", {}).get("storage"))
        if size > 0:
            new_status["restoreSize"] = size
        status, _ = self.api.call("PATCH", GROUP_PATH + "/volumesnapshotcontents/%s/status" % meta["name"],
                                  {"status": new_status}, MERGE_PATCH)
        if status == 200:
            self.log("snapshot %s of %s taken (content %s)" % (handle, volume, meta["name"]))
        else:
            shutil.rmtree(target, ignore_errors=True)  # the next pass tries again
            self.log("setting the status of content %s failed: HTTP %s" % (meta["name"], status))

    def _fail(self, content, message):
        if ((content.get("status") or {}).get("error") or {}).get("message") == message:
            return
        self.api.call("PATCH", GROUP_PATH + "/volumesnapshotcontents/%s/status" % content["metadata"]["name"],
                      {"status": {"readyToUse": False,
                                  "error": {"message": message,
                                            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}}},
                      MERGE_PATCH)
        self.log("content %s: %s" % (content["metadata"]["name"], message))

    def _delete(self, content):
        meta = content["metadata"]
        annotations = meta.get("annotations") or {}
        if BEING_CREATED in annotations:
            return
        pre_provisioned = content["spec"]["source"].get("snapshotHandle") and \
            not (content["spec"].get("volumeSnapshotRef") or {}).get("uid")
        if BEING_DELETED not in annotations and not pre_provisioned:
            return
        handle = (content.get("status") or {}).get("snapshotHandle")
        if content["spec"].get("deletionPolicy") == "Delete" and handle:
            path = self.snapshot_path(handle)
            if path:
                shutil.rmtree(path, ignore_errors=True)
            status, _ = self.api.call("PATCH", GROUP_PATH + "/volumesnapshotcontents/%s/status" % meta["name"],
                                      {"status": {"snapshotHandle": None, "readyToUse": None,
                                                  "creationTime": None, "restoreSize": None}},
                                      MERGE_PATCH)
            if status != 200:
                return
            self.log("snapshot %s deleted (content %s)" % (handle, meta["name"]))
        finalizers = meta.get("finalizers") or []
        if CONTENT_FINALIZER in finalizers:
            index = finalizers.index(CONTENT_FINALIZER)
            # test-then-remove: fails (422) when the list changed meanwhile; the next pass retries.
            self.api.call("PATCH", GROUP_PATH + "/volumesnapshotcontents/" + meta["name"],
                          [{"op": "test", "path": "/metadata/finalizers/%d" % index, "value": CONTENT_FINALIZER},
                           {"op": "remove", "path": "/metadata/finalizers/%d" % index}],
                          JSON_PATCH)

    def snapshot_source(self, claim):
        """(ready, directory) of the VolumeSnapshot the claim is to be filled from, or (True, None)
        when it has none. Not ready: the claim waits."""
        source = claim["spec"].get("dataSourceRef") or claim["spec"].get("dataSource")
        if not source or source.get("kind") != "VolumeSnapshot" or \
                source.get("apiGroup") != "snapshot.storage.k8s.io":
            return True, None
        namespace = source.get("namespace") or claim["metadata"]["namespace"]
        status, snapshot = self.api.call(
            "GET", GROUP_PATH + "/namespaces/%s/volumesnapshots/%s" % (namespace, source["name"]))
        if status != 200:
            return False, None
        content_name = (snapshot.get("status") or {}).get("boundVolumeSnapshotContentName")
        if not content_name or not (snapshot.get("status") or {}).get("readyToUse"):
            return False, None
        status, content = self.api.call("GET", GROUP_PATH + "/volumesnapshotcontents/" + content_name)
        if status != 200 or content["spec"].get("driver") != self.driver:
            return False, None
        path = self.snapshot_path((content.get("status") or {}).get("snapshotHandle"))
        if not path or not os.path.isdir(path):
            return False, None
        return True, path


def restore_into(snapshot_path, volume_path):
    """Fills a new volume's directory from a snapshot's (nothing else is in it yet)."""
    shutil.copytree(snapshot_path, volume_path, symlinks=True, dirs_exist_ok=True)
