#!/usr/bin/env bash
# Builds the local control-plane binaries (kube-apiserver, kube-controller-manager,
# kube-scheduler, etcd, kwok, snapshot-controller) and the real node's kubelet from the Go
# module proxy into
#   ${SANDBOXD_CACHE_DIR:-$HOME/.cache/sandboxd}/k8s/<k8s-version>/
# Only missing binaries are built. The last line on stdout is that directory.
# Progress goes to stderr.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { echo "[k8s/build] $*" >&2; }

command -v go >/dev/null || { log "go not found in PATH"; exit 1; }

# Versions come from the pinned wrapper modules.
# modver <go.mod> <module>: the required version of <module> (no go invocation needed).
modver() { awk -v m="$2" '{ sub(/^require[ \t]+/, "") } $1 == m && $2 ~ /^v/ { print $2; exit }' "$1"; }
K8S_VERSION="$(modver "$HERE/go.mod" k8s.io/kubernetes)"
ETCD_VERSION="$(modver "$HERE/go.mod" go.etcd.io/etcd/server/v3)"
KWOK_VERSION="$(modver "$HERE/kwok/go.mod" sigs.k8s.io/kwok)"
SNAPSHOTTER_VERSION="$(modver "$HERE/snapshot/go.mod" github.com/kubernetes-csi/external-snapshotter/v8)"
SNAPSHOT_CLIENT_VERSION="$(modver "$HERE/snapshot/go.mod" github.com/kubernetes-csi/external-snapshotter/client/v8)"
[[ -n "$K8S_VERSION" && -n "$ETCD_VERSION" && -n "$KWOK_VERSION" && -n "$SNAPSHOTTER_VERSION" && -n "$SNAPSHOT_CLIENT_VERSION" ]] || { log "cannot read pinned versions from go.mod"; exit 1; }

K8S_MINOR="$(echo "$K8S_VERSION" | cut -d. -f2)"
OUT="${SANDBOXD_CACHE_DIR:-$HOME/.cache/sandboxd}/k8s/${K8S_VERSION}"
mkdir -p "$OUT"

# Serialize concurrent builds into the same directory (a second caller waits,
# then finds the binaries present).
if command -v flock >/dev/null; then
  exec 9>"$OUT/.build.lock"
  if ! flock -n 9; then
    log "another build.sh is building into $OUT; waiting ..."
    flock 9
  fi
fi

export GOWORK=off CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
# Two cores: keep the build parallelism at 2 (also bounds peak memory).
BUILD_FLAGS=(-p 2 -trimpath)

# build <module-dir> <binary-name> <package> <ldflags>
build() {
  local dir="$1" name="$2" pkg="$3" ldflags="$4"
  if [[ -x "$OUT/$name" ]]; then
    return 0
  fi
  local tmp="$OUT/.$name.tmp.$$"
  local t0=$SECONDS
  log "building $name ($pkg) ..."
  if ! (cd "$dir" && go build "${BUILD_FLAGS[@]}" -ldflags "$ldflags" -o "$tmp" "$pkg"); then
    rm -f "$tmp"
    log "FAILED to build $name"
    return 1
  fi
  mv -f "$tmp" "$OUT/$name"
  log "built $name in $((SECONDS - t0))s"
}

KUBE_LDFLAGS="-s -w -X k8s.io/component-base/version.gitVersion=${K8S_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${K8S_MINOR} -X k8s.io/component-base/version.gitTreeState=clean"
# Also stamp client-go's copy, which some code paths report (e.g. user agent).
KUBE_LDFLAGS+=" -X k8s.io/client-go/pkg/version.gitVersion=${K8S_VERSION} -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=${K8S_MINOR}"

T0=$SECONDS
build "$HERE" etcd go.etcd.io/etcd/server/v3 "-s -w"
build "$HERE" kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$KUBE_LDFLAGS"
build "$HERE" kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$KUBE_LDFLAGS"
build "$HERE" kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler "$KUBE_LDFLAGS"
# The real node's kubelet (up.sh --real-node). After the others it shares most of their
# compiled packages: about 2 more minutes on 2 cores.
build "$HERE" kubelet k8s.io/kubernetes/cmd/kubelet "$KUBE_LDFLAGS"
# Our own small tool for the real node's down.sh (stops and removes every pod sandbox through
# the CRI); named after its source's hash, so that a changed source is built anew.
CRI_CLEANUP="cri-cleanup-$(sha256sum "$HERE/node/cri-cleanup/main.go" | cut -c1-12)"
build "$HERE" "$CRI_CLEANUP" ./node/cri-cleanup "-s -w"
ln -sfn "$CRI_CLEANUP" "$OUT/cri-cleanup"
build "$HERE/kwok" kwok sigs.k8s.io/kwok/cmd/kwok "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"

# KWOK stage configs (pod/node lifecycle simulation). Copied from the kwok module
# so that up.sh needs nothing but this directory.
if [[ ! -s "$OUT/kwok-stages.yaml" ]]; then
  kwok_dir="$(cd "$HERE/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
  [[ -n "$kwok_dir" && -d "$kwok_dir/kustomize/stage" ]] || { log "kwok module source not found"; exit 1; }
  tmp="$OUT/.kwok-stages.yaml.tmp.$$"
  : >"$tmp"
  for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    { echo "---"; cat "$kwok_dir/kustomize/stage/$f"; } >>"$tmp"
  done
  mv -f "$tmp" "$OUT/kwok-stages.yaml"
fi

# The VolumeSnapshot controller (external-snapshotter, its own wrapper module: it needs newer
# k8s.io libraries than the control plane's) and the snapshot CRDs of its client module, named
# after their versions so that a bump builds and copies anew.
SNAPSHOT_CONTROLLER="snapshot-controller-${SNAPSHOTTER_VERSION}"
build "$HERE/snapshot" "$SNAPSHOT_CONTROLLER" github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller \
  "-s -w -X main.version=${SNAPSHOTTER_VERSION}"
ln -sfn "$SNAPSHOT_CONTROLLER" "$OUT/snapshot-controller"
SNAPSHOT_CRDS="snapshot-crds-${SNAPSHOT_CLIENT_VERSION}.yaml"
if [[ ! -s "$OUT/$SNAPSHOT_CRDS" ]]; then
  client_dir="$(cd "$HERE/snapshot" && go list -m -f '{{.Dir}}' github.com/kubernetes-csi/external-snapshotter/client/v8)"
  [[ -n "$client_dir" && -d "$client_dir/config/crd" ]] || { log "external-snapshotter client module source not found"; exit 1; }
  tmp="$OUT/.$SNAPSHOT_CRDS.tmp.$$"
  : >"$tmp"
  for kind in volumesnapshotclasses volumesnapshotcontents volumesnapshots; do
    { echo "---"; cat "$client_dir/config/crd/snapshot.storage.k8s.io_${kind}.yaml"; } >>"$tmp"
  done
  mv -f "$tmp" "$OUT/$SNAPSHOT_CRDS"
fi
ln -sfn "$SNAPSHOT_CRDS" "$OUT/snapshot-crds.yaml"

[[ "$(cat "$OUT/VERSION" 2>/dev/null)" == "$K8S_VERSION" ]] || printf '%s\n' "$K8S_VERSION" >"$OUT/VERSION"
(( SECONDS - T0 > 2 )) && log "done in $((SECONDS - T0))s"
echo "$OUT"
