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
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ! command -v go >/dev/null 2>&1; then
  missing+=(golang-go)
fi
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
