#!/usr/bin/env bash
# Installs what building and testing sandboxd needs, from Debian's packages (and Go for the
# integration tier's control plane). Idempotent: does nothing when everything is present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git curl openssl python3
  libcpprest-dev libssl-dev nlohmann-json3-dev libsqlitecpp-dev libsqlite3-dev
  libspdlog-dev libfmt-dev libyaml-cpp-dev libcli11-dev libsimdjson-dev libjemalloc-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
)
# Installs Debian packages (as root, or with sudo).
apt_install() {
  echo "installing: $*" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ! command -v go >/dev/null 2>&1; then
  missing+=(golang-go)
fi
if ((${#missing[@]})); then
  apt_install "${missing[@]}"
fi

# The node tier (ctest label `node`): a real kubelet's container runtime from Debian's packages
# (containerd, runc, the CNI plugins bridge/host-local/loopback) and the static busybox the
# sandbox test image is made of (tools/k8s/node/build-image.sh). Never installed any other way.
node_missing=()
for p in runc containerd containernetworking-plugins busybox-static; do
  dpkg -s "$p" >/dev/null 2>&1 || node_missing+=("$p")
done
if ((${#node_missing[@]})); then
  apt_install "${node_missing[@]}"
fi

# The browser tests (ctest label `ui`): Debian's Chromium, and playwright-core from npm at the
# version tests/ui/package-lock.json pins (it drives /usr/bin/chromium; no browser download).
# (Node.js and npm from Debian only where no node is installed already.)
ui_missing=()
[ -x /usr/bin/chromium ] || ui_missing+=(chromium)
command -v node >/dev/null 2>&1 || ui_missing+=(nodejs)
command -v npm >/dev/null 2>&1 || ui_missing+=(npm)
if ((${#ui_missing[@]})); then
  apt_install "${ui_missing[@]}"
fi
ui_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/ui"
# npm ci only when what was installed last is not the current lockfile's.
stamp="$ui_dir/node_modules/.sandboxd-installed-lock.json"
if ! cmp -s "$ui_dir/package-lock.json" "$stamp" 2>/dev/null; then
  (cd "$ui_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$ui_dir/package-lock.json" "$stamp"
fi
