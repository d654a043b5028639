#!/usr/bin/env python3
"""Builds the node tier's images, locally and never pulled: a docker-archive tarball (what
`ctr images import` reads) holding

  sandboxd.local/sandbox-test:v1  the sandbox test image: Debian's static busybox and
                                  sandbox-entrypoint.sh (records what the process sees into
                                  the home volume, serves ports 3000 and 7681)
  sandboxd.local/pause:v1         the pod sandbox ("pause") image containerd runs for each pod
                                  (its own default, registry.k8s.io/pause, is unreachable)

Both share one layer. Same inputs, same bytes (fixed mtimes and owners), so the image ids
are stable.

usage: make_images.py BUSYBOX OUT.tar
"""
import hashlib
import io
import json
import os
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
SANDBOX_IMAGE = "sandboxd.local/sandbox-test:v1"
PAUSE_IMAGE = "sandboxd.local/pause:v1"
APPLETS = ["sh", "env", "id", "cat", "mv", "mkdir", "grep", "stat", "date", "hostname", "sleep",
           "httpd", "nc", "ls", "kill", "echo", "sort", "touch", "rm", "wget"]
# A fixed moment, so that the layer's bytes depend on its contents only.
MTIME = 1700000000


def add(tar, name, data=None, mode=0o644, kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.mtime, info.uid, info.gid, info.uname, info.gname = MTIME, 0, 0, "", ""
    info.type, info.mode, info.linkname = kind, mode, link
    if data is not None:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def rootfs_layer(busybox):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        # /home/agent is writable by anyone for a pod without a home volume (a legacy
        # Deployment's); a sandbox's volume is mounted over it.
        for d, mode in (("bin", 0o755), ("etc", 0o755), ("home", 0o755), ("home/agent", 0o1777),
                        ("tmp", 0o1777), ("proc", 0o755), ("sys", 0o755), ("dev", 0o755)):
            add(tar, d, mode=mode, kind=tarfile.DIRTYPE)
        with open(busybox, "rb") as f:
            add(tar, "bin/busybox", f.read(), 0o755)
        for applet in APPLETS:
            add(tar, "bin/" + applet, kind=tarfile.SYMTYPE, link="busybox", mode=0o777)
        add(tar, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nagent:x:1000:1000:agent:/home/agent:/bin/sh\n")
        add(tar, "etc/group", b"root:x:0:\nagent:x:1000:\n")
        with open(os.path.join(HERE, "sandbox-entrypoint.sh"), "rb") as f:
            add(tar, "entrypoint.sh", f.read(), 0o755)
    return buf.getvalue()


def config(diff_id, entrypoint):
    return json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2023-11-14T22:13:20Z",
        "config": {"Entrypoint": entrypoint, "Env": ["PATH=/bin"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }, sort_keys=True).encode()


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make_images.py BUSYBOX OUT.tar")
    busybox, out = sys.argv[1:]
    layer = rootfs_layer(busybox)
    layer_sha = hashlib.sha256(layer).hexdigest()
    images = {SANDBOX_IMAGE: ["/entrypoint.sh"], PAUSE_IMAGE: ["/bin/sleep", "2147483647"]}
    manifest, files = [], {layer_sha + "/layer.tar": layer}
    for ref, entrypoint in images.items():
        cfg = config("sha256:" + layer_sha, entrypoint)
        cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
        files[cfg_name] = cfg
        manifest.append({"Config": cfg_name, "RepoTags": [ref], "Layers": [layer_sha + "/layer.tar"]})
    files["manifest.json"] = json.dumps(manifest).encode()
    tmp = out + ".tmp"
    with tarfile.open(tmp, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        add(tar, layer_sha, mode=0o755, kind=tarfile.DIRTYPE)
        for name, data in files.items():
            add(tar, name, data)
    os.replace(tmp, out)
    print(out)


if __name__ == "__main__":
    main()
